"""Qwen3's conventions, written once and used by every backend.

- Chat: the model's own chat template (jinja2, sandboxed) with `enable_thinking`; the
  recommended sampling per mode; the thinking budget's early-stop sentence (Qwen3 technical
  report, section 4.3).
- Embedding (Qwen3-Embedding): queries carry an instruction, documents are bare; the vector is
  the last hidden state at an appended end-of-text token.
- Reranking (Qwen3-Reranker): the official yes/no prompt; P(yes) = softmax(yes, no) at the
  last position.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .base import AnswerDelta, ChatSettings, Message, ThinkingDelta
from .chat_template import render_chat_template
from .errors import EngineError

IM_START, IM_END, END_OF_TEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
STOP_TOKENS = (IM_END, END_OF_TEXT)

# Forced when the thinking part reaches its budget; the model then answers from what it has.
THINK_BUDGET_STOP = ("\n\nConsidering the limited time by the user, I have to give the solution based on the "
                     "thinking directly now.\n</think>\n\n")


# --- sampling -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Sampling:
    temperature: float
    top_p: float
    top_k: int
    min_p: float = 0.0
    presence_penalty: float = 0.0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


# The Qwen3 model cards' recommendations; greedy decoding is discouraged there (repetition).
THINKING_SAMPLING = Sampling(temperature=0.6, top_p=0.95, top_k=20)
NON_THINKING_SAMPLING = Sampling(temperature=0.7, top_p=0.8, top_k=20)


def resolve_sampling(settings: ChatSettings) -> Sampling:
    base = THINKING_SAMPLING if settings.thinking else NON_THINKING_SAMPLING

    def pick(value, default):  # noqa: ANN001, ANN202 - one of the fields below
        return default if value is None else value

    return Sampling(temperature=pick(settings.temperature, base.temperature), top_p=pick(settings.top_p, base.top_p),
                    top_k=pick(settings.top_k, base.top_k), min_p=pick(settings.min_p, base.min_p),
                    presence_penalty=pick(settings.presence_penalty, base.presence_penalty))


# --- chat template --------------------------------------------------------------------------

def render_chat_prompt(template: str | None, messages: Sequence[Message], *, thinking: bool) -> str:
    """The prompt text, ending with the opened assistant turn (and an empty think block when off)."""
    if not messages or messages[-1].role != "user":
        raise EngineError("a chat must end with a user message")
    if template is None:
        return _plain_chatml(messages, thinking=thinking)
    # The template came with the model file: sandboxed and bounded in size and time (chat_template.py).
    return render_chat_template(template, messages=[{"role": m.role, "content": m.content} for m in messages],
                                add_generation_prompt=True, enable_thinking=thinking, tools=None)


def _plain_chatml(messages: Sequence[Message], *, thinking: bool) -> str:
    """Qwen3's template without tools, for model files that carry none."""
    parts = [f"{IM_START}{m.role}\n{m.content}{IM_END}\n" for m in messages]
    parts.append(f"{IM_START}assistant\n")
    if not thinking:
        parts.append(f"{THINK_OPEN}\n\n{THINK_CLOSE}\n\n")
    return "".join(parts)


class ThinkingSplitter:
    """Turns generated tokens into thinking and answer text.

    Works on token ids for <think> and </think> (they are single special tokens), decodes
    bytes incrementally so a character split across tokens is never broken, and drops the
    newlines the template puts around the thinking part.
    """

    def __init__(self, *, think_open: int, think_close: int, thinking: bool = False) -> None:
        self._open, self._close = think_open, think_close
        self.thinking_now = thinking  # True when the prompt already opened <think>
        self.thinking, self.answer = [], []
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held = ""  # trailing newlines of the thinking part, dropped if </think> follows
        self._skip_newlines = True

    def feed(self, token: int, piece: bytes) -> Iterator[AnswerDelta | ThinkingDelta]:
        if token == self._open:
            yield from self._switch(thinking=True)
            return
        if token == self._close:
            yield from self._switch(thinking=False)
            return
        yield from self._emit(self._decoder.decode(piece))

    def finish(self) -> Iterator[AnswerDelta | ThinkingDelta]:
        yield from self._emit(self._decoder.decode(b"", final=True))
        if self._held and self.thinking_now:
            yield from self._out(self._held)
        self._held = ""

    def _switch(self, *, thinking: bool) -> Iterator[AnswerDelta | ThinkingDelta]:
        yield from self._emit(self._decoder.decode(b"", final=True))
        self._held = ""
        self.thinking_now = thinking
        self._skip_newlines = True

    def _emit(self, text: str) -> Iterator[AnswerDelta | ThinkingDelta]:
        if self._skip_newlines:
            text = text.lstrip("\n")
            if not text:
                return
            self._skip_newlines = False
        if self.thinking_now:
            text = self._held + text
            stripped = text.rstrip("\n")
            self._held = text[len(stripped):]
            text = stripped
        if text:
            yield from self._out(text)

    def _out(self, text: str) -> Iterator[AnswerDelta | ThinkingDelta]:
        if self.thinking_now:
            self.thinking.append(text)
            yield ThinkingDelta(text)
        else:
            self.answer.append(text)
            yield AnswerDelta(text)


# --- prompts: control and text ---------------------------------------------------------------

# What a tokenizer could read as a control token: ChatML markers and the tags Qwen3 gives
# tokens of their own. Only the template may write them as tokens; inside text (a document, a
# file name, a question, an earlier answer) they are split so each is read as its characters.
_CONTROL_TEXT = re.compile(r"<\|[^|<>\s]{1,64}\|>|</?(?:think|tool_call|tool_response)>")
_SLOT = re.compile("\ue000(\\d+)\ue001")


@dataclass(frozen=True, slots=True)
class PromptPiece:
    """A run of the prompt: a control token the template wrote (`control`), or text."""

    text: str
    control: bool = False


def render_chat_pieces(template: str | None, messages: Sequence[Message], *, thinking: bool) -> list[PromptPiece]:
    """The chat prompt as control tokens and text runs.

    The template is rendered with a private placeholder for each message's content, so
    whatever it writes around them is told apart from what the messages hold; the contents
    go back in as text. Joined, the pieces are the prompt `render_chat_prompt` gives.
    """
    slots = [Message(m.role, f"\ue000{i}\ue001") for i, m in enumerate(messages)]
    rendered = render_chat_prompt(template, slots, thinking=thinking)
    pieces: list[PromptPiece] = []
    placed: set[int] = set()
    position = 0
    for match in _SLOT.finditer(rendered):
        index = int(match.group(1))
        if index in placed or index >= len(messages):
            raise EngineError("the model's chat template writes a message more than once; it cannot be used")
        placed.add(index)
        pieces.extend(_template_pieces(rendered[position:match.start()]))
        pieces.append(PromptPiece(messages[index].content))
        position = match.end()
    pieces.extend(_template_pieces(rendered[position:]))
    return _joined(pieces)


def _template_pieces(text: str) -> list[PromptPiece]:
    pieces, position = [], 0
    for match in _CONTROL_TEXT.finditer(text):
        pieces += [PromptPiece(text[position:match.start()]), PromptPiece(match.group(), control=True)]
        position = match.end()
    return [*pieces, PromptPiece(text[position:])]


def _joined(pieces: list[PromptPiece]) -> list[PromptPiece]:
    """Neighbouring text runs as one (a tokenizer merges across them as it would in one string)."""
    out: list[PromptPiece] = []
    for piece in pieces:
        if not piece.text:
            continue
        if out and not piece.control and not out[-1].control:
            out[-1] = PromptPiece(out[-1].text + piece.text)
        else:
            out.append(piece)
    return out


def split_control_text(text: str) -> list[str]:
    """`text` in parts to tokenize one by one as plain text, none of which is a control token's
    spelling: "<|im_end|>" inside a document becomes "<" and "|im_end|>"."""
    parts, position = [], 0
    for match in _CONTROL_TEXT.finditer(text):
        parts += [text[position:match.start()], match.group()[:1], match.group()[1:]]
        position = match.end()
    parts.append(text[position:])
    return [p for p in parts if p]


# --- byte-level BPE -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _byte_level_alphabet() -> dict[str, int]:
    """GPT-2's printable stand-ins for bytes (Qwen's tokenizer is byte-level BPE), inverted."""
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping, extra = {}, 0
    for byte in range(256):
        if byte in visible:
            mapping[chr(byte)] = byte
        else:
            mapping[chr(256 + extra)] = byte
            extra += 1
    return mapping


def byte_level_token_bytes(token: str, *, special: bool) -> bytes:
    """The bytes a byte-level BPE token stands for; special (added) tokens are their own text."""
    if special:
        return token.encode("utf-8")
    alphabet = _byte_level_alphabet()
    return bytes(alphabet[ch] for ch in token)


# --- embedding ------------------------------------------------------------------------------

DEFAULT_EMBED_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
MIN_EMBED_DIM = 32  # Qwen3-Embedding's smallest Matryoshka size


_SINGLE_TOKEN_CHARS = re.compile(r"[\d\u2e80-\U0010ffff]")


def estimate_tokens(texts: Sequence[str]) -> list[int]:
    """Qwen3 token counts without a tokenizer, leaning high: every digit and CJK character is a token of
    its own, other text about one per three characters; the end-of-text token is not included."""
    counts = []
    for text in texts:
        single = len(_SINGLE_TOKEN_CHARS.findall(text))  # a C loop: this runs over every chunked sentence
        counts.append(single + (len(text) - single + 2) // 3)
    return counts


def format_embed_query(text: str, instruction: str | None) -> str:
    return f"Instruct: {instruction or DEFAULT_EMBED_INSTRUCTION}\nQuery:{text}"


def check_embed_dim(dim: int | None, *, full: int, minimum: int, model: str) -> int:
    if dim is None:
        return full
    if not minimum <= dim <= full:
        raise EngineError(f"{model}: dimension {dim} is not supported; choose between {minimum} and {full}")
    return dim


def normalize_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Matryoshka: keep the first `dim` components, then scale each row to unit length."""
    out = np.ascontiguousarray(vectors[:, :dim], dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, np.finfo(np.float32).tiny)


# --- reranking ------------------------------------------------------------------------------

RERANK_SYSTEM = ('Judge whether the Document meets the requirements based on the Query and the Instruct '
                 'provided. Note that the answer can only be "yes" or "no".')
DEFAULT_RERANK_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
RERANK_PREFIX = f"{IM_START}system\n{RERANK_SYSTEM}{IM_END}\n{IM_START}user\n"
RERANK_SUFFIX = f"{IM_END}\n{IM_START}assistant\n{THINK_OPEN}\n\n{THINK_CLOSE}\n\n"


def rerank_body(query: str, document: str, instruction: str | None) -> str:
    """The user part of the reranker prompt; tokenized as plain text, so a document cannot inject tokens."""
    return f"{rerank_body_head(query, instruction)} {document}"


def rerank_body_head(query: str, instruction: str | None) -> str:
    """What every document's body starts with. Qwen's pre-tokenizer always splits after the
    colon (the space goes with the document's first word), so its tokens start every body's."""
    return f"<Instruct>: {instruction or DEFAULT_RERANK_INSTRUCTION}\n<Query>: {query}\n<Document>:"


def p_yes(yes_logits: np.ndarray, no_logits: np.ndarray) -> np.ndarray:
    """softmax over (yes, no), element 0; computed stably in float64."""
    diff = np.asarray(no_logits, dtype=np.float64) - np.asarray(yes_logits, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, diff)).astype(np.float32)  # 1 / (1 + e^diff), without overflow
