"""Qwen3-VL-Reranker on MLX through mlx-vlm's Qwen3-VL network (`mlx_vlm.models.qwen3_vl`).

The folder is what `ippon convert --to mlx` (or mlx-vlm's converter) writes. The prompt is
Ippon's own (engines.qwen3_vl): constant parts are tokenized with special tokens, the query,
documents and instruction without (a document's "<|im_end|>" stays text), each image becomes
<|vision_start|>, one <|image_pad|> per merged patch, <|vision_end|>; the pixels are those the
reference sees, laid out as Qwen2-VL's image processor does. mlx-vlm places the M-RoPE
positions and the deepstack features.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import qwen3, qwen3_vl
from ..base import Candidate, CandidateFailure
from ..errors import EngineError, MissingBackendError, ModelFileError, WrongModelError
from .loading import import_mlx


class _MlxVlModel:
    """An MLX Qwen3-VL folder: mlx-vlm's network, the tokenizer twice (with and without special tokens)."""

    def __init__(self, path: str | Path, *, max_tokens: int, batch_size: int) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise ModelFileError(f"{self.path}: no such MLX model folder")
        config = _read_config(self.path)
        if config.get("model_type") != "qwen3_vl":
            raise WrongModelError(f"{self.path}: model_type {config.get('model_type')!r}; a Qwen3-VL model "
                                  "is qwen3_vl (convert the checkpoint with `ippon convert --to mlx`)")
        self.name = self.path.name
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._image_pad = int(config.get("image_token_id", -1))
        vision = config.get("vision_config") or {}
        self._patch, self._merge = int(vision.get("patch_size", 16)), int(vision.get("spatial_merge_size", 2))
        self._temporal = int(vision.get("temporal_patch_size", 2))
        pre = _read_json(self.path / "preprocessor_config.json") if (self.path / "preprocessor_config.json").is_file() \
            else {}
        self._mean, self._std = pre.get("image_mean", [0.5] * 3), pre.get("image_std", [0.5] * 3)
        from tokenizers import Tokenizer

        tok_file = self.path / "tokenizer.json"
        if not tok_file.is_file():
            raise ModelFileError(f"{self.path}: tokenizer.json is missing")
        self._tokenizer = Tokenizer.from_file(str(tok_file))
        self._plain = Tokenizer.from_file(str(tok_file))
        self._plain.encode_special_tokens = True  # a document's "<|im_end|>" is text, not a token
        self._markers = [self._token(t) for t in (qwen3_vl.VISION_START, qwen3_vl.VISION_END)]
        if self._image_pad != self._token("<|image_pad|>"):
            raise WrongModelError(f"{self.path}: config.json's image_token_id is not the tokenizer's <|image_pad|>")
        self._mx = import_mlx()
        try:
            from mlx_vlm.utils import load_model
        except ImportError as exc:
            raise MissingBackendError("the MLX backend needs mlx-vlm for Qwen3-VL: please install it "
                                      "(pip install mlx-vlm)") from exc
        try:
            self._model = load_model(self.path)
        except (ValueError, KeyError, OSError) as exc:
            raise ModelFileError(f"{self.path}: mlx-vlm could not load it ({exc})") from exc

    def _token(self, text: str) -> int:
        token = self._tokenizer.token_to_id(text)
        if token is None:
            raise WrongModelError(f"{self.path}: the vocabulary has no {text} token; not a Qwen3-VL model")
        return token

    def close(self) -> None:
        self._model = None

    def _prompt(self, parts: list[qwen3_vl.PromptPart],
                pixels: list[Any]) -> tuple[list[int], list[np.ndarray], list[tuple[int, int, int]]]:
        ids: list[int] = []
        values, grids = [], []
        for part in parts:
            if isinstance(part, qwen3_vl.ImageSlot):
                patches, grid = qwen3_vl.patchify(pixels[part.index], mean=self._mean, std=self._std,
                                                  patch_size=self._patch, temporal=self._temporal, merge=self._merge)
                values.append(patches)
                grids.append(grid)
                n_pad = grid[0] * grid[1] * grid[2] // self._merge ** 2
                ids += [self._markers[0], *[self._image_pad] * n_pad, self._markers[1]]
            else:
                tokenizer = self._tokenizer if isinstance(part, qwen3_vl.Special) else self._plain
                ids += tokenizer.encode(part.text, add_special_tokens=False).ids
        if len(ids) > self.max_tokens:
            raise EngineError(f"{self.name}: the prompt takes {len(ids)} tokens, more than the {self.max_tokens} "
                              "allowed")
        return ids, values, grids

    def _vision_inputs(self, values: list[np.ndarray], grids: list[tuple[int, int, int]]) -> dict[str, Any]:
        if not values:
            return {"pixel_values": None}
        mx = self._mx
        return {"pixel_values": mx.array(np.concatenate(values)),
                "image_grid_thw": mx.array(np.array(grids, dtype=np.int32))}


class MlxVisionReranker(_MlxVlModel):
    def __init__(self, path: str | Path, *, max_tokens: int = 8192, batch_size: int = 8,
                 image_cache_bytes: int = qwen3_vl.IMAGE_CACHE_BYTES) -> None:
        super().__init__(path, max_tokens=max_tokens, batch_size=batch_size)
        self._yes, self._no = self._token("yes"), self._token("no")
        self.encoded = qwen3_vl.EncodedImages(image_cache_bytes)
        self._model.vision_tower = _KeptVisionTower(self._model.vision_tower, self.encoded, self._mx)

    def score(self, query: str, candidates: Sequence[Candidate], *, instruction: str | None = None,
              query_images: Sequence[str | Path] = (), failures: list[CandidateFailure] | None = None) -> np.ndarray:
        query_pixels = [qwen3_vl.load_image(p) for p in query_images]
        scores = np.full(len(candidates), np.nan, dtype=np.float32)
        for i, candidate in enumerate(candidates):
            try:
                pixels = query_pixels + ([qwen3_vl.load_image(candidate.image)] if candidate.image else [])
                diff = self._logit_diff(*self._inputs(query, len(query_pixels), candidate, instruction, pixels))
            except EngineError as exc:
                if failures is None:
                    raise
                failures.append(CandidateFailure(i, str(exc)))
                continue
            scores[i] = qwen3.p_yes(np.array([diff]), np.array([0.0]))[0]
        return scores

    def prompt_ids(self, query: str, candidate: Candidate, *, instruction: str | None = None,
                   query_images: Sequence[str | Path] = ()) -> list[int]:
        pixels = [qwen3_vl.load_image(p) for p in [*query_images, *([candidate.image] if candidate.image else [])]]
        return self._inputs(query, len(query_images), candidate, instruction, pixels)[0]

    def _inputs(self, query: str, n_query_images: int, candidate: Candidate, instruction: str | None,
                pixels: list[Any]) -> tuple[list[int], list[np.ndarray], list[tuple[int, int, int]]]:
        parts, _ = qwen3_vl.vl_rerank_prompt(query, n_query_images, candidate, instruction)
        return self._prompt(parts, pixels)

    def _logit_diff(self, ids: list[int], values: list[np.ndarray], grids: list[tuple[int, int, int]]) -> float:
        mx = self._mx
        out = self._model(mx.array([ids]), **self._vision_inputs(values, grids))
        logits = getattr(out, "logits", out)[0, -1].astype(mx.float32)
        pair = np.array(logits[mx.array([self._yes, self._no])])
        return float(pair[0]) - float(pair[1])


class MlxVisionEmbedder(_MlxVlModel):
    """Qwen3-VL-Embedding on MLX: the last token's final hidden state, L2-normalised."""

    def __init__(self, path: str | Path, *, max_tokens: int = 8192, batch_size: int = 8) -> None:
        super().__init__(path, max_tokens=max_tokens, batch_size=batch_size)
        self.dim = int(self._model.config.text_config.hidden_size)
        self.min_dim = min(qwen3.MIN_EMBED_DIM, self.dim)

    def embed(self, items: Sequence[Candidate], *, instruction: str | None = None, dim: int | None = None,
              failures: list[CandidateFailure] | None = None) -> np.ndarray:
        def vector(item: Candidate) -> np.ndarray:
            pixels = [qwen3_vl.load_image(item.image)] if item.image is not None else []
            return self._last_hidden(*self._prompt(qwen3_vl.vl_embed_prompt(item, 0, instruction), pixels))

        return qwen3_vl.embed_each(items, vector, full=self.dim, dim=dim, model=self.name, failures=failures)

    def prompt_ids(self, item: Candidate, *, instruction: str | None = None) -> list[int]:
        pixels = [qwen3_vl.load_image(item.image)] if item.image is not None else []
        return self._prompt(qwen3_vl.vl_embed_prompt(item, 0, instruction), pixels)[0]

    def _last_hidden(self, ids: list[int], values: list[np.ndarray], grids: list[tuple[int, int, int]]) -> np.ndarray:
        mx = self._mx
        input_ids = mx.array([ids])
        vision = self._vision_inputs(values, grids)
        pixel_values = vision.pop("pixel_values")
        features = self._model.get_input_embeddings(input_ids, pixel_values, **vision)
        hidden = self._model.language_model.model(
            input_ids, inputs_embeds=features.inputs_embeds, position_ids=features.position_ids,
            visual_pos_masks=features.visual_pos_masks, deepstack_visual_embeds=features.deepstack_visual_embeds)
        return np.array(hidden[0, -1].astype(mx.float32))


class _KeptVisionTower:
    """mlx-vlm's vision tower, keeping what it made of each image (qwen3_vl.EncodedImages, by the image's
    patches). The tower encodes each image of a prompt on its own (attention stays within an image), so
    its output for several images is theirs one after another, the deepstack layers likewise: an image
    seen before is taken from the cache and only the new ones are encoded."""

    def __init__(self, tower: Any, kept: qwen3_vl.EncodedImages, mx: Any) -> None:
        self._tower, self._kept, self._mx = tower, kept, mx

    def __getattr__(self, name: str) -> Any:  # patch_embed and the rest, as mlx-vlm reads them
        return getattr(self._tower, name)

    def __call__(self, pixel_values: Any, grid_thw: Any, **kwargs: Any) -> tuple[Any, list[Any]]:
        mx = self._mx
        features, deepstack, start = [], [], 0
        for grid in np.array(grid_thw).tolist():
            rows = pixel_values[start:start + grid[0] * grid[1] * grid[2]]
            start += rows.shape[0]
            key = qwen3_vl.pixels_digest(np.array(rows.astype(mx.float32)))
            encoding = self._kept.get(key)
            if encoding is None:
                image, layers = self._tower(rows, mx.array([grid], dtype=mx.int32), **kwargs)
                mx.eval(image, *layers)
                encoding = (image, list(layers))
                self._kept.put(key, encoding, image.nbytes + sum(layer.nbytes for layer in layers))
            features.append(encoding[0])
            deepstack.append(encoding[1])
        return mx.concatenate(features), [mx.concatenate(layer) for layer in zip(*deepstack, strict=True)]


def _read_config(path: Path) -> dict[str, Any]:
    if not (path / "config.json").is_file():
        raise ModelFileError(f"{path}: config.json is missing; not a model folder")
    return _read_json(path / "config.json")


def _read_json(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{file}: cannot be read as JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelFileError(f"{file}: expected a JSON object")
    return data
