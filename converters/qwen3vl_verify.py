"""Check a converted Qwen3-VL model against transformers (fp32, CPU): the text model and the vision tower apart.

- Text: every position's logits on Japanese and English text (the same token ids both sides;
  text-only positions are plain, so M-RoPE reduces to ordinary RoPE there) and the GGUF's own
  tokenizer against tokenizer.json.
- Vision: each image token's embedding, and every deepstack feature, for synthetic images of
  two shapes, given the same pixels (already at the reference's size, so no runtime resizes):
  through llama.cpp's mtmd and the mmproj file for GGUF, mlx-vlm's vision tower for MLX.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import ModelKind
from .errors import MissingDependencyError
from .events import ProgressCallback, ProgressReporter
from .qwen3vl import Qwen3VLCheckpoint
from .verify import _PRECISION, _THRESHOLDS, RERANK_PAIRS, VERIFY_TEXTS, Check, VerificationReport, import_reference

# The official Qwen3-VL-Reranker prompt for a text-only pair (what engines/qwen3_vl.py builds; kept
# here because the converters stand alone).
VL_RERANK_TEXT_PROMPT = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    'provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n<Instruct>: Given a '
    "search query, retrieve relevant candidates that answer the query.<Query>:{query}\n<Document>:{document}"
    "<|im_end|>\n<|im_start|>assistant\n")
IMAGE_SIZES = ((128, 96), (64, 160))  # width x height, multiples of 32: the reference keeps them as they are
_VISION_LIMITS = {"exact": 0.999, "half": 0.999, "8bit": 0.99, "lowbit": None}


def synthetic_image(width: int, height: int, seed: int):  # noqa: ANN201 - a PIL image
    """Smooth gradients with a little noise: structure for the vision tower, and deterministic."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([x / width, y / height, (x + y) / (width + height)], axis=-1) * 200
    rgb += rng.normal(0, 20, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def verify_qwen3vl(ckpt: Qwen3VLCheckpoint, converted: Path, *, fmt: str, quant: str, projector: Path | None = None,
                   progress: ProgressCallback | None = None) -> VerificationReport:
    reference = _Reference(ckpt)
    precision = _PRECISION.get((fmt, quant), "lowbit")
    limits = _THRESHOLDS[precision]
    report = VerificationReport(ckpt.kind, fmt, quant)

    def check(name: str, value: float, limit: tuple[str, float] | None = None) -> None:
        op, threshold = limit or limits.get(name, (None, None))
        report.checks.append(Check(name, float(value), op, threshold))

    steps = ProgressReporter(stage="verify", tensors_total=3, bytes_total=0, progress=progress, cancel=None)
    runner = _GgufVL(converted, projector) if fmt == "gguf" else _MlxVL(converted, ckpt.image_mean, ckpt.image_std)
    try:
        if fmt == "gguf":
            same = sum(reference.encode(t) == runner.tokenize(t) for t in VERIFY_TEXTS)
            check("tokenizer_agreement", same / len(VERIFY_TEXTS))
        steps.advance("tokenizer", 0)
        # No top-1 or greedy checks: these models never generate; what they read off the text model is
        # the yes/no logits (the reranker) and the hidden state behind every logit (the embedder).
        diffs = []
        for text in VERIFY_TEXTS:
            ids = reference.encode(text)
            diffs.append(float(np.max(np.abs(reference.logits(ids) - runner.logits(ids)))))
        check("max_abs_logit_diff", max(diffs))
        if ckpt.kind is ModelKind.RERANKER:
            yes, no = ckpt.text.tokenizer.single_token_id("yes"), ckpt.text.tokenizer.single_token_id("no")
            p_diffs = []
            for query, document in RERANK_PAIRS:
                ids = reference.encode(VL_RERANK_TEXT_PROMPT.format(query=query, document=document))
                ref, got = reference.logits(ids)[-1], runner.logits(ids)[-1]
                p_diffs.append(abs(_sigmoid(ref[yes] - ref[no]) - _sigmoid(got[yes] - got[no])))
            check("max_abs_p_yes_diff", max(p_diffs))
        steps.advance("logits", 0)
        cosines = []
        for k, (w, h) in enumerate(IMAGE_SIZES):
            image = synthetic_image(w, h, seed=k)
            ref, got = reference.image_features(image), runner.image_features(image)
            if ref.shape != got.shape:
                cosines.append(float("nan"))
                continue
            cosines.append(float(np.min(np.sum(ref * got, axis=-1)
                                        / (np.linalg.norm(ref, axis=-1) * np.linalg.norm(got, axis=-1)))))
        vision_limit = _VISION_LIMITS["half" if fmt == "gguf" and precision != "exact" else precision]
        check("min_image_token_cosine", min(cosines), (">=", vision_limit) if vision_limit else None)
        steps.advance("vision", 0)
    finally:
        runner.close()
    return report


def _sigmoid(x: float) -> float:
    return float(np.exp(-np.logaddexp(0.0, -float(x))))


class _Reference:
    def __init__(self, ckpt: Qwen3VLCheckpoint) -> None:
        torch, transformers = import_reference(needs=("Qwen3VLForConditionalGeneration", "Qwen2VLImageProcessorPil"))
        from tokenizers import Tokenizer

        self._torch = torch
        self.tokenizer = Tokenizer.from_file(str(ckpt.text.tokenizer.path))
        self.model = transformers.Qwen3VLForConditionalGeneration.from_pretrained(
            str(ckpt.path), dtype=torch.float32).eval()
        v = ckpt.vision_dims
        self.processor = transformers.Qwen2VLImageProcessorPil(
            patch_size=v.patch_size, temporal_patch_size=v.temporal_patch_size, merge_size=v.spatial_merge_size,
            image_mean=list(ckpt.image_mean), image_std=list(ckpt.image_std))

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def logits(self, ids: list[int]) -> np.ndarray:
        with self._torch.no_grad():
            return self.model(input_ids=self._torch.tensor([ids])).logits[0].float().numpy()

    def image_features(self, image: Any) -> np.ndarray:
        """(tokens, hidden x (1 + deepstack)): the merged embeddings, then each deepstack feature, per token."""
        inputs = self.processor([image], do_resize=False, return_tensors="pt")
        with self._torch.no_grad():
            out = self.model.model.visual(inputs["pixel_values"], grid_thw=inputs["image_grid_thw"])
        main = out.pooler_output if hasattr(out, "pooler_output") else out[0]
        deepstack = out.deepstack_features if hasattr(out, "deepstack_features") else out[1]
        return self._torch.cat([main, *deepstack], dim=-1).float().numpy()


class _GgufVL:
    """The text GGUF through llama.cpp, its projector through mtmd (one image encoded at a time)."""

    def __init__(self, path: Path, projector: Path | None) -> None:
        from .verify_runtimes import GgufRunner

        self._text = GgufRunner(path, ModelKind.LLM)
        from llama_cpp import mtmd_cpp

        self._mtmd = mtmd_cpp
        _silence_mtmd(mtmd_cpp)
        params = mtmd_cpp.mtmd_context_params_default()
        params.use_gpu, params.print_timings, params.warmup, params.n_threads = False, False, False, 1
        params.image_min_tokens, params.image_max_tokens = 4, 1800
        self._ctx = mtmd_cpp.mtmd_init_from_file(str(projector).encode(), self._text.llm.model, params)
        if not self._ctx:
            raise MissingDependencyError(f"{projector}: llama.cpp's mtmd could not load the projector to verify it")

    def tokenize(self, text: str) -> list[int]:
        return self._text.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def logits(self, ids: list[int]) -> np.ndarray:
        return self._text.logits(ids)

    def image_features(self, image: Any) -> np.ndarray:
        mtmd = self._mtmd
        pixels = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
        bitmap = mtmd.mtmd_bitmap_init(pixels.shape[1], pixels.shape[0],
                                       pixels.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))
        chunks = mtmd.mtmd_input_chunks_init()
        try:
            marker = mtmd.mtmd_default_marker()
            text = mtmd.mtmd_input_text(marker, len(marker), False, True)
            bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
            if mtmd.mtmd_tokenize(self._ctx, chunks, ctypes.byref(text), bitmaps, 1) != 0:
                return np.full((0, 0), np.nan, dtype=np.float32)
            for i in range(mtmd.mtmd_input_chunks_size(chunks)):
                chunk = mtmd.mtmd_input_chunks_get(chunks, i)
                if mtmd.mtmd_input_chunk_get_type(chunk) != mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                    continue
                n_tokens = mtmd.mtmd_input_chunk_get_n_tokens(chunk)
                if mtmd.mtmd_encode_chunk(self._ctx, chunk) != 0:
                    return np.full((0, 0), np.nan, dtype=np.float32)
                width = self._text.llm.n_embd()
                n_embd = width * (1 + self._deepstack_layers())
                out = mtmd.mtmd_get_output_embd(self._ctx)
                return np.ctypeslib.as_array(out, shape=(n_tokens * n_embd,)).reshape(n_tokens, n_embd).copy()
            return np.full((0, 0), np.nan, dtype=np.float32)
        finally:
            mtmd.mtmd_input_chunks_free(chunks)
            mtmd.mtmd_bitmap_free(bitmap)

    def _deepstack_layers(self) -> int:
        value = self._text.llm.metadata.get("qwen3vl.n_deepstack_layers", "0")
        return int(value)

    def close(self) -> None:
        if self._ctx:
            self._mtmd.mtmd_free(self._ctx)
            self._ctx = None
        self._text.llm.close()


_SILENT_LOG = None


def _silence_mtmd(mtmd: Any) -> None:
    """mtmd logs every key, prompt part and image to stderr: not for the user converting a model."""
    global _SILENT_LOG  # noqa: PLW0603 - one callback for the process, kept alive for C
    import llama_cpp

    if _SILENT_LOG is None:
        _SILENT_LOG = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
    mtmd.mtmd_log_set(_SILENT_LOG, ctypes.c_void_p(0))
    mtmd.mtmd_helper_log_set(_SILENT_LOG, ctypes.c_void_p(0))


class _MlxVL:
    def __init__(self, path: Path, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        self._mean, self._std = list(mean), list(std)
        try:
            import mlx.core as mx
            from mlx_vlm.utils import load_model
        except ImportError as exc:
            raise MissingDependencyError("verifying MLX Qwen3-VL needs mlx-vlm: please install it") from exc
        self._mx = mx
        self.model = load_model(Path(path).resolve())
        self._config = self.model.config.vision_config

    def logits(self, ids: list[int]) -> np.ndarray:
        out = self.model(self._mx.array([ids]))
        return np.array(getattr(out, "logits", out)[0].astype(self._mx.float32))

    def image_features(self, image: Any) -> np.ndarray:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        mx, c = self._mx, self._config
        processor = Qwen2VLImageProcessorPil(patch_size=c.patch_size, temporal_patch_size=c.temporal_patch_size,
                                             merge_size=c.spatial_merge_size, image_mean=self._mean,
                                             image_std=self._std)
        inputs = processor([image], do_resize=False, return_tensors="np")
        tower = self.model.vision_tower
        dtype = tower.patch_embed.proj.weight.dtype
        main, deepstack = tower(mx.array(inputs["pixel_values"]).astype(dtype), mx.array(inputs["image_grid_thw"]))
        return np.array(mx.concatenate([main, *deepstack], axis=-1).astype(mx.float32))

    def close(self) -> None:
        self.model = None
