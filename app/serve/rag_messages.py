"""What a client's messages mean to ippon-rag: the question, the conversation before it, its own instructions.

An OpenAI client sends the whole conversation with every request. The last message is the
question; each earlier user message with the assistant reply after it is one earlier turn,
which Ippon uses as its own threads do (a follow-up rewritten for retrieval, the turns that
fit the window shown to the answer). A user message left without a reply is left out, as a
thread leaves out a turn that never got its answer. System (and developer) messages are the
client's instructions: they are added after Ippon's rule as plain text, bounded, and cannot
replace it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..core.conversation import EarlierTurn
from ..locale import _
from .runtime import RequestLimitError

MAX_INSTRUCTIONS_CHARS = 4000  # a client's system messages, together: style and tone fit; a document does not


@dataclass(frozen=True, slots=True)
class RagConversation:
    question: str
    history: list[EarlierTurn]
    instructions: str


def rag_conversation(messages: Sequence[tuple[str, str]]) -> RagConversation:
    """(role, text) pairs, oldest first, as ippon-rag reads them; RequestLimitError when they hold no question."""
    instructions: list[str] = []
    history: list[EarlierTurn] = []
    asked: str | None = None
    for role, text in messages:
        if role in ("system", "developer"):
            if text.strip():
                instructions.append(text.strip())
        elif role == "user":
            asked = text  # an earlier one still waiting had no reply: it is left out
        elif role == "assistant" and asked is not None:
            if asked.strip() and text.strip():
                history.append(EarlierTurn(asked.strip(), text.strip()))
            asked = None
    if asked is None or not asked.strip():
        raise RequestLimitError(_("ippon-rag answers the last message, which must be the user's question"))
    joined = "\n\n".join(instructions)
    if len(joined) > MAX_INSTRUCTIONS_CHARS:
        raise RequestLimitError(_("the system messages hold {n} characters; ippon-rag takes at most {limit} "
                                  "(they add to its instructions, the sources go in the documents)")
                                .format(n=len(joined), limit=MAX_INSTRUCTIONS_CHARS))
    return RagConversation(asked.strip(), history, joined)
