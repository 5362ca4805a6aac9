"""Qwen3-VL's conventions, written once for every vision backend.

- Reranking (Qwen3-VL-Reranker; QwenLM/Qwen3-VL-Embedding, src/models/qwen3_vl_reranker.py):
  the official prompt, built here and never taken from a model file's template; the score is
  sigmoid(logit("yes") - logit("no")) at the last position.
- Images: read defensively (a bounded header before any decoding), converted to RGB and
  resized as the reference does (factor 32, 4x32² ≤ pixels ≤ 1800x32², bicubic), so every
  runtime sees the same pixels and the projector never resizes again.

A prompt is a list of parts: `Special` text holds only the prompt's own constant text and
special tokens; `Plain` text (query, document, instruction) is tokenized with special tokens
off, so nothing a document says can become a control token; `ImageSlot` stands for one image.
Parts split exactly where the reference tokenizer splits (at special tokens), so the token
ids equal the reference's.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import Candidate, CandidateFailure
from .errors import EngineError

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
VISION_START, VISION_END = "<|vision_start|>", "<|vision_end|>"
VL_RERANK_SYSTEM = ('Judge whether the Document meets the requirements based on the Query and the Instruct '
                    'provided. Note that the answer can only be "yes" or "no".')
DEFAULT_VL_RERANK_INSTRUCTION = "Given a search query, retrieve relevant candidates that answer the query."

IMAGE_FACTOR = 32  # patch 16 x spatial merge 2
MIN_IMAGE_TOKENS, MAX_IMAGE_TOKENS = 4, 1800
MIN_PIXELS, MAX_PIXELS = MIN_IMAGE_TOKENS * IMAGE_FACTOR ** 2, MAX_IMAGE_TOKENS * IMAGE_FACTOR ** 2
# What an image file may claim before anything is decoded: 100 megapixels, 20,000 a side.
MAX_SOURCE_PIXELS, MAX_SOURCE_SIDE = 100_000_000, 20_000
MAX_ASPECT_RATIO = 200  # the reference refuses more
IMAGE_CACHE_BYTES = 256 * 2 ** 20  # kept encodings: about 30 screenshots for the 2B model (8 MiB each at 512x512)


class ImageInputError(EngineError, ValueError):
    """An image cannot be used: missing, not an image, damaged, or too large. The message names the file."""


@dataclass(frozen=True, slots=True)
class Special:
    text: str


@dataclass(frozen=True, slots=True)
class Plain:
    text: str


@dataclass(frozen=True, slots=True)
class ImageSlot:
    """One image: <|vision_start|>, its embeddings (one per merged 2x2 patch), <|vision_end|>.
    mtmd writes the two markers itself; a backend that does not adds them."""

    index: int  # into the prompt's image list, in order of appearance


PromptPart = Special | Plain | ImageSlot


def smart_resize(height: int, width: int) -> tuple[int, int]:
    """(height, width) the reference resizes to: multiples of 32, aspect kept, pixels within bounds."""
    if max(height, width) / max(1, min(height, width)) > MAX_ASPECT_RATIO:
        raise ValueError(f"aspect ratio above {MAX_ASPECT_RATIO}")
    f = IMAGE_FACTOR
    h_bar, w_bar = round(height / f) * f, round(width / f) * f
    if h_bar * w_bar > MAX_PIXELS:
        beta = math.sqrt(height * width / MAX_PIXELS)
        h_bar = max(f, math.floor(height / beta / f) * f)
        w_bar = max(f, math.floor(width / beta / f) * f)
    elif h_bar * w_bar < MIN_PIXELS:
        beta = math.sqrt(MIN_PIXELS / (height * width))
        h_bar, w_bar = math.ceil(height * beta / f) * f, math.ceil(width * beta / f) * f
    return h_bar, w_bar


def image_tokens(height: int, width: int) -> int:
    """Image positions the model reads for a picture of this size (after the reference's resize)."""
    h, w = smart_resize(height, width)
    return h * w // IMAGE_FACTOR ** 2


def image_tokens_of(path: str | Path) -> int | None:
    """`image_tokens` for the image file at `path`, from its header alone; None when it cannot be read."""
    from PIL import Image

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with Image.open(path) as img:
            width, height = img.size
        return image_tokens(height, width)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def load_image(path: str | Path):  # noqa: ANN201 - a PIL.Image.Image
    """The image at `path` as the reranker sees it (RGB, resized), or ImageInputError naming the file."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        # Only a regular file: a FIFO or device put where an image was would block the reader forever.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ImageInputError(f"{path}: not a regular file")
        with Image.open(path) as img:
            width, height = img.size  # from the header: nothing decoded yet
            if width * height > MAX_SOURCE_PIXELS or max(width, height) > MAX_SOURCE_SIDE:
                raise ImageInputError(f"{path}: the image is too large: it claims {width}x{height} pixels; at "
                                      f"most {MAX_SOURCE_SIDE} a side and {MAX_SOURCE_PIXELS // 1_000_000} "
                                      "megapixels are read")
            try:
                h, w = smart_resize(height, width)
            except ValueError:
                raise ImageInputError(f"{path}: the image is {width}x{height}, too narrow to read (aspect ratio "
                                      f"above {MAX_ASPECT_RATIO})") from None
            img.load()
            rgb = _to_rgb(img)
            return rgb.resize((w, h), resample=Image.Resampling.BICUBIC)
    except ImageInputError:
        raise
    except FileNotFoundError:
        raise ImageInputError(f"{path}: no such image file") from None
    except PermissionError:
        raise ImageInputError(f"{path}: cannot be read (permission denied)") from None
    except Image.DecompressionBombError as exc:  # Pillow's own limit, checked as it opens the header
        raise ImageInputError(f"{path}: the image is too large: {exc}") from None
    except UnidentifiedImageError:
        raise ImageInputError(f"{path}: not an image Ippon can read") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # Pillow's ways of saying "damaged"
        raise ImageInputError(f"{path}: the image is damaged or cut short ({exc})") from None


def _to_rgb(img):  # noqa: ANN001, ANN202 - PIL images
    from PIL import Image

    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        # As the reference (qwen_vl_utils): transparent areas become white, not black.
        rgba = img.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.split()[3])
        return white
    return img.convert("RGB")


def _side(prefix: str, text: str | None, images: Sequence[int]) -> list[PromptPart]:
    """One side (query or document): its images, then its text; an empty side is "NULL"."""
    if not text and not images:
        return [Plain(prefix + "NULL")]
    parts: list[PromptPart] = [Plain(prefix)]
    parts += [ImageSlot(index) for index in images]
    if text:
        parts.append(Plain(text))
    return parts


def vl_rerank_prompt(query: str | None, query_images: int, candidate: Candidate,
                     instruction: str | None = None) -> tuple[list[PromptPart], int]:
    """The official VL reranker prompt as parts, and how many images it holds (query's first)."""
    doc_images = 1 if candidate.image is not None else 0
    parts: list[PromptPart] = [Special(f"{IM_START}system\n{VL_RERANK_SYSTEM}{IM_END}\n{IM_START}")]
    parts.append(Plain(f"user\n<Instruct>: {instruction or DEFAULT_VL_RERANK_INSTRUCTION}"))
    parts += _side("<Query>:", query, range(query_images))
    parts += _side("\n<Document>:", candidate.text, range(query_images, query_images + doc_images))
    parts += [Special(f"{IM_END}\n{IM_START}"), Plain("assistant\n")]
    return _merge_plain(parts), query_images + doc_images


DEFAULT_VL_EMBED_INSTRUCTION = "Represent the user's input."


def vl_embed_instruction(instruction: str | None) -> str:
    """The embedder's system turn: the instruction (or the default), ending in punctuation as the reference makes it."""
    import unicodedata

    text = (instruction or "").strip() or DEFAULT_VL_EMBED_INSTRUCTION
    return text if unicodedata.category(text[-1]).startswith("P") else text + "."


def vl_embed_prompt(item: Candidate, image_index: int = 0, instruction: str | None = None) -> list[PromptPart]:
    """Qwen3-VL-Embedding's prompt (QwenLM/Qwen3-VL-Embedding, src/models/qwen3_vl_embedding.py): the
    instruction as the system turn (a final full stop added when it ends without punctuation), the
    item's image then its text as the user turn, then the opened assistant turn, whose last token
    is pooled."""
    parts: list[PromptPart] = [Special(IM_START), Plain(f"system\n{vl_embed_instruction(instruction)}"),
                               Special(f"{IM_END}\n{IM_START}"), Plain("user\n")]
    if item.image is None and not item.text:
        parts.append(Plain("NULL"))
    if item.image is not None:
        parts.append(ImageSlot(image_index))
    if item.text:
        parts.append(Plain(item.text))
    parts += [Special(f"{IM_END}\n{IM_START}"), Plain("assistant\n")]
    return _merge_plain(parts)


def _merge_plain(parts: list[PromptPart]) -> list[PromptPart]:
    """Adjacent plain texts are one text to the reference tokenizer: join them (BPE merges cross the seam)."""
    merged: list[PromptPart] = []
    for part in parts:
        if merged and isinstance(part, Plain) and isinstance(merged[-1], Plain):
            merged[-1] = Plain(merged[-1].text + part.text)
        else:
            merged.append(part)
    return merged


def pixels_digest(image: np.ndarray) -> str:
    """An image's identity for the encoding cache: its shape and every byte of its (resized) pixels."""
    import numpy as np

    digest = hashlib.blake2b(repr(image.shape).encode(), digest_size=16)
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


class EncodedImages:
    """What a VL reranker's vision encoder made of each image, by its pixels digest; the least recently
    used dropped past `limit_bytes`. On a CPU the encoder is about half the time of an image candidate,
    and the same screenshots and pages come back question after question (a follow-up retrieves much
    of what the question before it did). What the text model reads after the query cannot be kept:
    it depends on the query before it."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.bytes = 0
        self.hits = self.misses = 0
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    def get(self, key: Hashable | None) -> Any:
        found = self._items.get(key) if key else None
        if found is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return found[0]

    def put(self, key: Hashable | None, encoding: Any, nbytes: int) -> None:
        if not key or key in self._items or nbytes > self.limit_bytes:
            return
        self._items[key] = (encoding, nbytes)
        self.bytes += nbytes
        while self.bytes > self.limit_bytes:
            _, (_, dropped) = self._items.popitem(last=False)
            self.bytes -= dropped

    def __len__(self) -> int:
        return len(self._items)


def patchify(image, *, mean: Sequence[float], std: Sequence[float], patch_size: int = 16, temporal: int = 2,
             merge: int = 2):  # noqa: ANN001, ANN201 - a PIL image in, (np.ndarray, (t, h, w)) out
    """The vision tower's input for one resized image, as Qwen2-VL's image processor lays it out:
    pixels scaled to [0, 1] and normalised, the frame repeated to fill the temporal patch, and
    patches ordered so that each 2x2 merge window is contiguous."""
    import numpy as np

    pixels = np.asarray(image, dtype=np.float32) / 255.0  # (H, W, C)
    pixels = (pixels - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    frames = np.repeat(pixels.transpose(2, 0, 1)[None], temporal, axis=0)  # (T, C, H, W)
    channels, height, width = frames.shape[1:]
    gh, gw = height // patch_size, width // patch_size
    patches = frames.reshape(1, temporal, channels, gh // merge, merge, patch_size, gw // merge, merge, patch_size)
    patches = patches.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return patches.reshape(gh * gw, channels * temporal * patch_size * patch_size), (1, gh, gw)


def embed_each(items: Sequence[Candidate], vector, *, full: int, dim: int | None, model: str,  # noqa: ANN001
               failures: list[CandidateFailure] | None):  # noqa: ANN201 - np.ndarray
    """What every VL embedder's `embed` does around its one method, `vector(item)` (the last hidden state):
    one row per item, NaN for an item that cannot be read (listed in `failures`, else raised), then L2
    and Matryoshka."""
    import numpy as np

    from .qwen3 import MIN_EMBED_DIM, check_embed_dim, normalize_rows

    dim = check_embed_dim(dim, full=full, minimum=min(MIN_EMBED_DIM, full), model=model)
    rows = np.full((len(items), full), np.nan, dtype=np.float32)
    for i, item in enumerate(items):
        try:
            rows[i] = vector(item)
        except EngineError as exc:
            if failures is None:
                raise
            failures.append(CandidateFailure(i, str(exc)))
    return normalize_rows(rows, dim)
