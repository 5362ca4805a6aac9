"""What every backend offers: Protocols for chat, embedding and reranking, and their typed events.

A backend is any object with these attributes and methods; nothing here needs to be
subclassed. `engines.token_models` holds base classes that build the Qwen3 conventions on a
few token-level primitives, which the local backends use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

EmbedKind = Literal["query", "document"]
Role = Literal["chat", "embedder", "reranker"]  # what a model file is for
FinishReason = Literal["stop", "length", "cancelled"]


class CancelToken:
    """Set from any thread; a chat stream checks it between tokens and ends with reason "cancelled"."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True, slots=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """How to generate. None means "the Qwen3 recommendation for the chosen thinking mode"."""

    thinking: bool = False
    think_budget: int | None = None  # thinking tokens before the early-stop sentence is forced
    max_tokens: int = 1024
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    """Text of the answer, in order; concatenated they are the whole answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """Text of the thinking part (between <think> and </think>), in order."""

    text: str


@dataclass(frozen=True, slots=True)
class ChatStats:
    prompt_tokens: int
    generated_tokens: int  # sampled tokens, thinking included; forced tokens are not counted
    thinking_tokens: int
    time_to_first_token_s: float
    tokens_per_s: float  # generated tokens over the time after the first one
    prompt_tokens_per_s: float
    finish_reason: FinishReason

    def as_dict(self) -> dict[str, float | int | str]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class PromptView:
    """The exact prompt a model read, for debugging retrieval-augmented answers."""

    text: str
    tokens: int
    special_tokens: int  # control tokens in it: only the chat template's own

    def as_dict(self) -> dict[str, str | int]:
        return {"text": self.text, "tokens": self.tokens, "special_tokens": self.special_tokens}


@dataclass(frozen=True, slots=True)
class ChatDone:
    text: str
    thinking: str
    stats: ChatStats
    token_ids: tuple[int, ...] = ()  # every token after the prompt, forced ones included
    prompt: PromptView | None = None  # None where the prompt is built elsewhere (a remote server)


ChatEvent = AnswerDelta | ThinkingDelta | ChatDone


@runtime_checkable
class ChatModel(Protocol):
    name: str
    context_length: int

    def chat(self, messages: Sequence[Message], *, settings: ChatSettings = ...,
             cancel: CancelToken | None = None) -> Iterator[ChatEvent]:
        """Stream the reply; the last event is always ChatDone."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes inside a prompt (exact for local models, an estimate for remote ones)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int  # the full dimension
    min_dim: int  # the smallest Matryoshka size the model supports
    max_tokens: int  # per text, end-of-text token included
    batch_size: int
    exact_token_counts: bool  # whether count_tokens uses the model's own tokenizer (else an estimate)

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "document", instruction: str | None = None,
              dim: int | None = None) -> np.ndarray:
        """An L2-normalised float32 matrix, one row per text."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes as a document, end-of-text included (for sizing chunks)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Reranker(Protocol):
    name: str
    max_tokens: int
    batch_size: int

    def score(self, query: str, documents: Sequence[str], *, instruction: str | None = None) -> np.ndarray:
        """P(yes) per document, float32 in [0, 1]."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """What a vision reranker judges: text, an image, or both."""

    text: str | None = None
    image: Path | None = None
    meta: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CandidateFailure:
    """A candidate that could not be scored (its image is damaged, too large …); the reason names the file."""

    index: int
    reason: str


@runtime_checkable
class VisionReranker(Protocol):
    name: str
    batch_size: int

    def score(self, query: str, candidates: Sequence[Candidate], *, instruction: str | None = None,
              query_images: Sequence[Path] = (), failures: list[CandidateFailure] | None = None) -> np.ndarray:
        """P(yes) per candidate, float32 in [0, 1]. With `failures`, a candidate that cannot be read
        scores NaN and is listed there (the others are still scored); without it, it raises."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class VisionEmbedder(Protocol):
    """Qwen3-VL-Embedding: one vector per item (text, image, or both), images by their pixels."""

    name: str
    dim: int
    min_dim: int
    batch_size: int

    def embed(self, items: Sequence[Candidate], *, instruction: str | None = None, dim: int | None = None,
              failures: list[CandidateFailure] | None = None) -> np.ndarray:
        """An L2-normalised float32 matrix, one row per item (Matryoshka: the first `dim` components).
        With `failures`, an item that cannot be read gets a row of NaN and is listed there."""
        ...

    def close(self) -> None: ...
