"""Base classes that build the Protocols of `engines.base` on a few token-level primitives.

A local backend only tokenizes, runs the network and samples; prompt formats, thinking, the
thinking budget, stats, cancellation, batching, overflow checks and normalisation live here,
once (as simonw/llm builds `embed_multi` on a backend's `embed_batch`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np

from . import qwen3
from .base import (CancelToken, ChatDone, ChatEvent, ChatSettings, ChatStats, EmbedKind, FinishReason, Message,
                   PromptView)
from .errors import ContextOverflowError


class _Tokenized:
    """A backend's tokenizer, and text through it as text: never as control tokens."""

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        raise NotImplementedError

    def _text_ids(self, text: str) -> list[int]:
        # Tokenizers match some added tokens (<think>) even with special parsing off: a
        # control token's spelling inside text is cut so that only its characters remain.
        return [t for part in qwen3.split_control_text(text) for t in self._tokenize(part, special=False)]


class TokenChatModel(_Tokenized):
    """chat() for a backend that provides `_tokenize`, `_token_bytes` and `_sample`."""

    name: str
    context_length: int
    chat_template: str | None
    think_open: int
    think_close: int
    stop_ids: frozenset[int]

    def _token_bytes(self, token: int) -> bytes:
        raise NotImplementedError

    def _sample(self, ids: list[int], sampling: qwen3.Sampling) -> Iterator[int]:
        """Yield sampled tokens after `ids`. A new call may extend the previous call's ids; reuse that prefix."""
        raise NotImplementedError

    def _seed(self, seed: int) -> None:
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        return len(self._text_ids(text))

    def prompt_ids(self, messages: Sequence[Message], *, thinking: bool) -> list[int]:
        return self._prompt(messages, thinking=thinking)[0]

    def prompt_view(self, messages: Sequence[Message], *, thinking: bool) -> PromptView:
        return self._prompt(messages, thinking=thinking)[2]

    def _prompt(self, messages: Sequence[Message], *, thinking: bool) -> tuple[list[int], bool, PromptView]:
        """The prompt's tokens; whether the template itself opened the thinking part (Qwen3-2507
        thinking models do: the model then never writes <think>, only </think>); and what it is.

        Only what the template writes becomes control tokens; every message's content is text."""
        pieces = qwen3.render_chat_pieces(self.chat_template, messages, thinking=thinking)
        ids: list[int] = []
        special = 0
        for piece in pieces:
            if piece.control:
                piece_ids = self._tokenize(piece.text, special=True)
                special += len(piece_ids) == 1
            else:
                piece_ids = self._text_ids(piece.text)
            ids += piece_ids
        if len(ids) >= self.context_length:
            raise ContextOverflowError(f"{self.name}: the prompt has {len(ids)} tokens, more than the context "
                                       f"window of {self.context_length}; shorten it or load a larger context")
        text = "".join(p.text for p in pieces)
        opened = text.rstrip("\n").endswith(qwen3.THINK_OPEN)
        return ids, opened, PromptView(text=text, tokens=len(ids), special_tokens=special)

    def chat(self, messages: Sequence[Message], *, settings: ChatSettings = ChatSettings(),
             cancel: CancelToken | None = None) -> Iterator[ChatEvent]:
        start = time.perf_counter()
        prompt, opened, view = self._prompt(messages, thinking=settings.thinking)
        sampling = qwen3.resolve_sampling(settings)
        budget = settings.think_budget if settings.thinking else None
        if settings.seed is not None:
            self._seed(settings.seed)
        splitter = qwen3.ThinkingSplitter(think_open=self.think_open, think_close=self.think_close, thinking=opened)
        generated: list[int] = []  # everything after the prompt, forced tokens included
        sampled = thinking_tokens = 0
        first_token_at: float | None = None
        finish: FinishReason = "length"
        stream = self._sample(prompt, sampling)
        try:
            while sampled < settings.max_tokens and len(prompt) + len(generated) < self.context_length:
                if cancel is not None and cancel.cancelled:
                    finish = "cancelled"
                    break
                token = next(stream, None)
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                if token is None or token in self.stop_ids:
                    finish = "stop"
                    break
                sampled += 1
                generated.append(token)
                was_thinking = splitter.thinking_now
                yield from splitter.feed(token, self._token_bytes(token))
                if was_thinking and splitter.thinking_now:
                    thinking_tokens += 1
                    if budget is not None and thinking_tokens >= budget:
                        stream.close()
                        for forced in self._tokenize(qwen3.THINK_BUDGET_STOP, special=True):
                            generated.append(forced)
                            yield from splitter.feed(forced, self._token_bytes(forced))
                        budget = None
                        stream = self._sample(prompt + generated, sampling)
        finally:
            stream.close()
        yield from splitter.finish()
        end = time.perf_counter()
        first = first_token_at or end
        stats = ChatStats(prompt_tokens=len(prompt), generated_tokens=sampled, thinking_tokens=thinking_tokens,
                          time_to_first_token_s=first - start,
                          tokens_per_s=(sampled - 1) / (end - first) if sampled > 1 and end > first else 0.0,
                          prompt_tokens_per_s=len(prompt) / (first - start) if first > start else 0.0,
                          finish_reason=finish)
        yield ChatDone(text="".join(splitter.answer), thinking="".join(splitter.thinking), stats=stats,
                       token_ids=tuple(generated), prompt=view)


def _batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Indices grouped by similar length, so padding (where a backend pads) stays small."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    for i in range(0, len(order), batch_size):
        yield order[i:i + batch_size]


class TokenEmbedder(_Tokenized):
    """embed() for a backend that provides `_tokenize` and `_embed_batch` (last-token hidden states)."""

    name: str
    dim: int
    min_dim: int = qwen3.MIN_EMBED_DIM
    exact_token_counts = True
    max_tokens: int
    batch_size: int
    eos_id: int

    def _embed_batch(self, batch: list[list[int]]) -> np.ndarray:
        """One row per sequence: the hidden state at its last token, not normalised."""
        raise NotImplementedError

    def token_ids(self, text: str, *, kind: EmbedKind = "document", instruction: str | None = None) -> list[int]:
        if kind == "query":
            text = qwen3.format_embed_query(text, instruction)
        # Text is never parsed for special tokens; the end-of-text token is appended here, once.
        return [*self._text_ids(text), self.eos_id]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(self._text_ids(t)) + 1 for t in texts]

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "document", instruction: str | None = None,
              dim: int | None = None) -> np.ndarray:
        dim = qwen3.check_embed_dim(dim, full=self.dim, minimum=self.min_dim, model=self.name)
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        sequences = [self.token_ids(t, kind=kind, instruction=instruction) for t in texts]
        _check_lengths(self.name, sequences, self.max_tokens, what="text")
        out = np.zeros((len(sequences), self.dim), dtype=np.float32)
        for idx in _batches([len(s) for s in sequences], self.batch_size):
            out[idx] = self._embed_batch([sequences[i] for i in idx])
        return qwen3.normalize_rows(out, dim)


class TokenReranker(_Tokenized):
    """score() for a backend that provides `_tokenize` and `_score_batch` (P(yes) per sequence)."""

    name: str
    max_tokens: int
    batch_size: int

    def _score_batch(self, batch: list[list[int]], *, shared: int) -> np.ndarray:
        """P(yes) per sequence; the first `shared` tokens are the same in every sequence (the
        prompt and the query), and a backend may decode them once for the batch. Whether it
        does must not depend on the batch: one document alone takes the same path."""
        raise NotImplementedError

    def token_ids(self, query: str, document: str, *, instruction: str | None = None) -> list[int]:
        return [*self._tokenize(qwen3.RERANK_PREFIX, special=True),
                *self._text_ids(qwen3.rerank_body(query, document, instruction)),
                *self._tokenize(qwen3.RERANK_SUFFIX, special=True)]

    def score(self, query: str, documents: Sequence[str], *, instruction: str | None = None) -> np.ndarray:
        if isinstance(documents, str):
            raise TypeError("score() takes a sequence of documents, not one string")
        sequences = [self.token_ids(query, d, instruction=instruction) for d in documents]
        _check_lengths(self.name, sequences, self.max_tokens, what="query and document")
        head = [*self._tokenize(qwen3.RERANK_PREFIX, special=True),
                *self._text_ids(qwen3.rerank_body_head(query, instruction))]
        # A tokenizer that merged across the head's end would leave nothing safely shared.
        shared = len(head) if all(s[:len(head)] == head and len(s) > len(head) for s in sequences) else 0
        out = np.zeros(len(sequences), dtype=np.float32)
        for idx in _batches([len(s) for s in sequences], self.batch_size):
            out[idx] = self._score_batch([sequences[i] for i in idx], shared=shared)
        return out


def _check_lengths(model: str, sequences: Sequence[Sequence[int]], limit: int, *, what: str) -> None:
    for i, seq in enumerate(sequences):
        if len(seq) > limit:
            raise ContextOverflowError(f"{model}: {what} #{i + 1} is {len(seq)} tokens long, more than the "
                                       f"{limit} the model was loaded with; split it into smaller chunks")
