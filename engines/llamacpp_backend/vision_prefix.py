"""What a batch of VL rerank prompts shares: the system turn, the instruction and the query, its images
included, are decoded once per batch and kept in the KV cache; each candidate then decodes only the rest.

Prompts are compared after tokenization, unit by unit (mtmd's chunks: runs of text tokens, and
images), so the shared part ends exactly where the token ids first differ, whatever the
tokenizer merged across the seam. An image is shared when it is one of the query's (the same
pixels in every prompt). M-RoPE positions come from mtmd: an image advances them by its grid,
not by its token count, so each candidate starts at the prefix's position, not its length.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Unit:
    chunk: Any  # the mtmd chunk (owned by its prompt's chunk list)
    tokens: tuple[int, ...] | None  # a text chunk's token ids; None for an image
    image: int | None = None  # for an image: its slot index in the prompt (query images first)


def prompt_units(mtmd: Any, handle: Any) -> list[Unit]:
    units, image = [], 0
    for i in range(mtmd.mtmd_input_chunks_size(handle)):
        chunk = mtmd.mtmd_input_chunks_get(handle, i)
        if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
            n = ctypes.c_size_t()
            tokens = mtmd.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
            units.append(Unit(chunk, tuple(int(tokens[j]) for j in range(n.value))))
        else:
            units.append(Unit(chunk, None, image))
            image += 1
    return units


def shared_prefix(prompts: Sequence[list[Unit]], n_query_images: int) -> tuple[int, int]:
    """(whole units, then tokens of the next text unit) that every prompt starts with; (0, 0) when some
    prompt would have nothing of its own left (its last logits must come from its own decode)."""
    first = prompts[0]
    whole = 0
    while whole < len(first) and all(len(p) > whole and _same(p[whole], first[whole], n_query_images)
                                     for p in prompts):
        whole += 1
    partial = 0
    if whole < len(first) and first[whole].tokens is not None:
        partial = min(_common(first[whole].tokens, p[whole].tokens) if len(p) > whole and p[whole].tokens is not None
                      else 0 for p in prompts)
    if any(_rest_tokens(p, whole, partial) == 0 for p in prompts):
        return 0, 0  # a prompt that is all prefix (a repeated candidate): nothing is shared in this batch
    return whole, partial


def _same(a: Unit, b: Unit, n_query_images: int) -> bool:
    if a.tokens is not None or b.tokens is not None:
        return a.tokens == b.tokens
    return a.image == b.image and a.image is not None and a.image < n_query_images


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _rest_tokens(prompt: list[Unit], whole: int, partial: int) -> int:
    """Tokens (or image positions) the prompt has after the prefix."""
    rest = 0
    for k, unit in enumerate(prompt[whole:]):
        if unit.tokens is None:
            rest += 1
        else:
            rest += len(unit.tokens) - (partial if k == 0 else 0)
    return rest
