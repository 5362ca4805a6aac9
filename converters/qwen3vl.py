"""Qwen3-VL checkpoints (Qwen3-VL-Reranker, Qwen3-VL-Embedding): reading, and writing GGUF.

A Qwen3-VL checkpoint is a Qwen3 text model (`model.language_model.*`, M-RoPE, deepstack
inputs) plus a vision tower (`model.visual.*`). llama.cpp splits it in two files, and so do we,
in the layout llama.cpp's own converter writes: `X.gguf`, architecture `qwen3vl`, and the
projector `mmproj-X.gguf`, architecture `clip` with projector `qwen3vl_merger` (its two-frame
patch embedding split in two 2-D kernels, the deepstack mergers under the vision layer they
read). Both are streamed through the Qwen3 writer (bounded memory, progress, cancellation).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import (
    Checkpoint,
    ModelKind,
    Qwen3Dims,
    TensorEntry,
    _check_shapes,
    _read_json,
    _read_safetensors_index,
    _read_tokenizer,
)
from .errors import CheckpointError, TokenizerError, UnsupportedModelError
from .events import ProgressCallback

VL_ARCHITECTURES = ("Qwen3VLForConditionalGeneration",)
TEXT_PREFIX, VISION_PREFIX = "model.language_model.", "model.visual."


def is_qwen3vl_checkpoint(path: str | Path) -> bool:
    config_path = Path(path).expanduser() / "config.json"
    try:
        config = _read_json(config_path, CheckpointError, what="config.json")
    except CheckpointError:
        return False
    return config.get("model_type") == "qwen3_vl"


@dataclass(frozen=True, slots=True)
class VisionDims:
    depth: int
    hidden_size: int
    intermediate_size: int
    num_heads: int
    patch_size: int
    temporal_patch_size: int
    spatial_merge_size: int
    num_position_embeddings: int
    deepstack_indexes: tuple[int, ...]
    out_hidden_size: int

    @classmethod
    def from_config(cls, vc: dict[str, Any], config_path: Path) -> VisionDims:
        try:
            dims = cls(int(vc["depth"]), int(vc["hidden_size"]), int(vc["intermediate_size"]), int(vc["num_heads"]),
                       int(vc.get("patch_size", 16)), int(vc.get("temporal_patch_size", 2)),
                       int(vc.get("spatial_merge_size", 2)), int(vc.get("num_position_embeddings", 2304)),
                       tuple(int(i) for i in vc.get("deepstack_visual_indexes", ())), int(vc["out_hidden_size"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{config_path}: missing or invalid vision_config field {exc}") from exc
        side = math.isqrt(dims.num_position_embeddings)
        if side * side != dims.num_position_embeddings:
            raise CheckpointError(f"{config_path}: vision num_position_embeddings {dims.num_position_embeddings} "
                                  "is not a square grid")
        if dims.temporal_patch_size != 2:
            raise UnsupportedModelError(f"{config_path}: temporal_patch_size {dims.temporal_patch_size}; "
                                        "llama.cpp's Qwen3-VL projector needs 2")
        if any(not 0 <= i < dims.depth for i in dims.deepstack_indexes):
            raise CheckpointError(f"{config_path}: deepstack_visual_indexes {list(dims.deepstack_indexes)} "
                                  f"outside the {dims.depth} vision layers")
        return dims

    @property
    def image_size(self) -> int:
        return math.isqrt(self.num_position_embeddings) * self.patch_size

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        h, ffn, p = self.hidden_size, self.intermediate_size, self.patch_size
        merged = h * self.spatial_merge_size ** 2
        v = VISION_PREFIX
        shapes: dict[str, tuple[int, ...]] = {
            v + "patch_embed.proj.weight": (h, 3, self.temporal_patch_size, p, p),
            v + "patch_embed.proj.bias": (h,),
            v + "pos_embed.weight": (self.num_position_embeddings, h),
        }
        for i in range(self.depth):
            b = f"{v}blocks.{i}."
            shapes.update({b + "norm1.weight": (h,), b + "norm1.bias": (h,), b + "attn.qkv.weight": (3 * h, h),
                           b + "attn.qkv.bias": (3 * h,), b + "attn.proj.weight": (h, h), b + "attn.proj.bias": (h,),
                           b + "norm2.weight": (h,), b + "norm2.bias": (h,), b + "mlp.linear_fc1.weight": (ffn, h),
                           b + "mlp.linear_fc1.bias": (ffn,), b + "mlp.linear_fc2.weight": (h, ffn),
                           b + "mlp.linear_fc2.bias": (h,)})
        mergers = [(v + "merger.", h)]
        mergers += [(f"{v}deepstack_merger_list.{k}.", merged) for k in range(len(self.deepstack_indexes))]
        for prefix, norm in mergers:
            shapes.update({prefix + "norm.weight": (norm,), prefix + "norm.bias": (norm,),
                           prefix + "linear_fc1.weight": (merged, merged), prefix + "linear_fc1.bias": (merged,),
                           prefix + "linear_fc2.weight": (self.out_hidden_size, merged),
                           prefix + "linear_fc2.bias": (self.out_hidden_size,)})
        return shapes


@dataclass(slots=True)
class Qwen3VLCheckpoint:
    """The text half as a Qwen3 `Checkpoint` (canonical `model.*` names) and the vision half beside it."""

    path: Path
    config: dict[str, Any]
    kind: ModelKind
    text: Checkpoint
    vision: Checkpoint  # the same files; its `tensors` are the vision tower's
    vision_dims: VisionDims
    mrope_section: tuple[int, ...]
    image_mean: tuple[float, float, float]
    image_std: tuple[float, float, float]

    @property
    def name(self) -> str:
        return self.path.name


def open_qwen3vl_checkpoint(path: str | Path, *, kind: ModelKind | str | None = None) -> Qwen3VLCheckpoint:
    """Open and validate a Qwen3-VL checkpoint folder; everything is checked before any output is written."""
    root = Path(path).expanduser().resolve()
    config_path = root / "config.json"
    config = _read_json(config_path, CheckpointError, what="config.json")
    archs = config.get("architectures") or []
    if config.get("model_type") != "qwen3_vl" or (archs and not any(a in VL_ARCHITECTURES for a in archs)):
        raise UnsupportedModelError(f"{config_path}: not a Qwen3-VL checkpoint (expected model_type 'qwen3_vl', "
                                    f"{', '.join(VL_ARCHITECTURES)})")
    text_config = config.get("text_config")
    vision_config = config.get("vision_config")
    if not isinstance(text_config, dict) or not isinstance(vision_config, dict):
        raise CheckpointError(f"{config_path}: text_config and vision_config are required for Qwen3-VL")
    # transformers 4.57 saves rope_scaling and rope_theta; 5.x saves both inside rope_parameters.
    rope = text_config.get("rope_scaling") or text_config.get("rope_parameters") or {}
    flat = {**text_config, "tie_word_embeddings": config.get("tie_word_embeddings",
                                                              text_config.get("tie_word_embeddings", False))}
    if "rope_theta" not in flat and "rope_theta" in rope:
        flat["rope_theta"] = rope["rope_theta"]
    dims = Qwen3Dims.from_config(flat, config_path)
    section = tuple(int(s) for s in rope.get("mrope_section") or ())
    if len(section) != 3 or sum(section) * 2 != dims.head_dim:
        raise CheckpointError(f"{config_path}: mrope_section {list(section)} must be three numbers summing to "
                              f"head_dim/2 ({dims.head_dim // 2})")
    vdims = VisionDims.from_config(vision_config, config_path)
    if vdims.out_hidden_size != dims.hidden_size:
        raise CheckpointError(f"{config_path}: the vision tower's out_hidden_size {vdims.out_hidden_size} differs "
                              f"from the text model's hidden_size {dims.hidden_size}")
    if len(vdims.deepstack_indexes) > dims.num_layers:
        raise CheckpointError(f"{config_path}: more deepstack inputs than text layers")
    tokenizer = _read_tokenizer(root)
    for token in ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>"):
        if tokenizer.token_id(token) is None:
            raise TokenizerError(f"{tokenizer.path}: the Qwen3-VL token {token} is missing")
    if tokenizer.token_id("<|image_pad|>") != config.get("image_token_id", tokenizer.token_id("<|image_pad|>")):
        raise CheckpointError(f"{config_path}: image_token_id does not match the tokenizer's <|image_pad|>")

    raw = _read_safetensors_index(root)
    text_tensors, vision_tensors = {}, {}
    for name, e in raw.items():
        if name.startswith(TEXT_PREFIX):
            canonical = "model." + name[len(TEXT_PREFIX):]
            text_tensors[canonical] = TensorEntry(canonical, e.file, e.dtype, e.shape, e.offset, e.nbytes)
        elif name.startswith(VISION_PREFIX):
            vision_tensors[name] = TensorEntry(name, e.file, e.dtype, e.shape, e.offset, e.nbytes)
        elif name == "lm_head.weight":
            text_tensors[name] = TensorEntry(name, e.file, e.dtype, e.shape, e.offset, e.nbytes)
        else:
            raise UnsupportedModelError(f"{e.file}: tensor {name} is not part of a Qwen3-VL model")
    has_lm_head = "lm_head.weight" in text_tensors
    if not has_lm_head and not dims.tie_word_embeddings:
        raise CheckpointError(f"{root}: lm_head.weight is missing and config.json says tie_word_embeddings is false")
    text_expected = dims.expected_shapes(with_lm_head=has_lm_head)
    _check_shapes(root, text_tensors, text_expected)
    vision_expected = vdims.expected_shapes()
    _check_shapes(root, vision_tensors, vision_expected)
    if tokenizer.size > dims.vocab_size:
        raise CheckpointError(f"{root}: the tokenizer has {tokenizer.size} tokens but vocab_size is {dims.vocab_size}")

    resolved = ModelKind(kind) if kind is not None else (
        ModelKind.EMBEDDER if "embed" in root.name.lower() else ModelKind.RERANKER)
    # The text GGUF keeps the full LM head for every kind: the VL reranker reads logit(yes) and
    # logit(no) off it, the embedder the last hidden state, both through mtmd.
    text = Checkpoint(root, config, ModelKind.LLM, dims, tokenizer,
                      {n: text_tensors[n] for n in text_expected}, has_lm_head)
    vision = Checkpoint(root, config, ModelKind.LLM, dims, tokenizer,
                        {n: vision_tensors[n] for n in vision_expected}, False)
    pre = root / "preprocessor_config.json"
    pre_config = _read_json(pre, CheckpointError, what="preprocessor_config.json") if pre.exists() else {}
    mean = tuple(float(x) for x in pre_config.get("image_mean", (0.5, 0.5, 0.5)))
    std = tuple(float(x) for x in pre_config.get("image_std", (0.5, 0.5, 0.5)))
    return Qwen3VLCheckpoint(root, config, resolved, text, vision, vdims, section, mean, std)


def mmproj_path_for(out: Path) -> Path:
    """`X.gguf` -> `mmproj-X.gguf` beside it: the name llama.cpp and LM Studio users expect."""
    return out.with_name(f"mmproj-{out.name}")


def vision_output_bytes(ckpt: Qwen3VLCheckpoint, quant: str) -> int:
    return sum(t.nbytes for t in _plan_vision(ckpt, quant))


def write_qwen3vl_gguf(ckpt: Qwen3VLCheckpoint, text_path: Path, mmproj_path: Path, *, quant: str,
                       progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> None:
    """The text model at `text_path` (any GGUF type) and the projector at `mmproj_path` (f16, or f32 for f32)."""
    from .gguf_convert import _write_gguf, _write_model_metadata, write_gguf
    from .gguf_vocab import write_tokenizer_metadata

    def text_metadata(writer: Any) -> None:
        _write_model_metadata(writer, ckpt.text, quant)
        try:
            write_tokenizer_metadata(writer, ckpt.text)
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenizerError(f"{ckpt.text.tokenizer.path}: cannot build the GGUF vocabulary: {exc}") from exc
        writer.add_rope_dimension_sections([*ckpt.mrope_section, 0])
        writer.add_num_deepstack_layers(len(ckpt.vision_dims.deepstack_indexes))

    write_gguf(ckpt.text, text_path, quant=quant, progress=progress, cancel=cancel, arch="qwen3vl",
               metadata=text_metadata)
    vquant = "f32" if quant == "f32" else "f16"
    _write_gguf(ckpt.vision, mmproj_path, _plan_vision(ckpt, vquant), vquant, progress=progress, cancel=cancel,
                arch="clip", metadata=lambda w: _write_mmproj_metadata(w, ckpt, vquant))


def _write_mmproj_metadata(writer: Any, ckpt: Qwen3VLCheckpoint, quant: str) -> None:
    import gguf

    from .gguf_convert import _write_general

    v, d = ckpt.vision_dims, ckpt.text.dims
    _write_general(writer, gguf_type=gguf.GGUFType.MMPROJ, name=ckpt.name, quant=quant)
    writer.add_clip_has_vision_encoder(True)
    writer.add_vision_projection_dim(d.hidden_size)
    writer.add_vision_image_size(v.image_size)
    writer.add_vision_patch_size(v.patch_size)
    writer.add_vision_embedding_length(v.hidden_size)
    writer.add_vision_feed_forward_length(v.intermediate_size)
    writer.add_vision_block_count(v.depth)
    writer.add_vision_head_count(v.num_heads)
    writer.add_vision_image_mean(list(ckpt.image_mean))
    writer.add_vision_image_std(list(ckpt.image_std))
    writer.add_clip_projector_type(gguf.VisionProjectorType.QWEN3VL)
    writer.add_vision_use_gelu(True)
    writer.add_vision_spatial_merge_size(v.spatial_merge_size)
    # llama.cpp's converter takes the vision LayerNorm epsilon from the text config, as here.
    writer.add_vision_attention_layernorm_eps(d.rms_norm_eps)
    if v.deepstack_indexes:
        writer.add_vision_is_deepstack_layers([i in v.deepstack_indexes for i in range(v.depth)])


def _plan_vision(ckpt: Qwen3VLCheckpoint, quant: str) -> list:
    import gguf

    from .gguf_convert import _PlannedTensor

    T = gguf.GGMLQuantizationType
    matrix = T.F32 if quant == "f32" else T.F16
    v = ckpt.vision_dims
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.MMPROJ, v.depth)
    patch = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.V_ENC_EMBD_PATCH]
    plan = []
    for name, entry in ckpt.vision.tensors.items():
        short = name[len(VISION_PREFIX):]
        qtype = matrix if len(entry.shape) > 1 else T.F32
        if short == "patch_embed.proj.weight":
            h, c, _, p, _ = entry.shape
            for frame, suffix in ((0, ".weight"), (1, ".weight.1")):
                plan.append(_PlannedTensor(patch + suffix, (h, c, p, p), matrix, name,
                                           transform=lambda x, f=frame: np.ascontiguousarray(x[:, :, f])))
            continue
        if short == "patch_embed.proj.bias":
            target = patch + ".bias"
        elif short.startswith("deepstack_merger_list."):
            k, part, suffix = short.split(".")[1:]
            tensor = {"norm": gguf.MODEL_TENSOR.V_DS_NORM, "linear_fc1": gguf.MODEL_TENSOR.V_DS_FC1,
                      "linear_fc2": gguf.MODEL_TENSOR.V_DS_FC2}[part]
            target = gguf.TENSOR_NAMES[tensor].format(bid=v.deepstack_indexes[int(k)]) + "." + suffix
        elif short.startswith("merger."):
            part, suffix = short.split(".")[1:]
            if part == "norm":
                target = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.V_POST_NORM] + "." + suffix
            else:  # linear_fc1/linear_fc2 sit where Qwen2-VL's mlp.0/mlp.2 did
                index = {"linear_fc1": 0, "linear_fc2": 2}[part]
                target = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.V_MMPROJ].format(bid=index) + "." + suffix
        else:
            target = names.get_name("visual." + short, try_suffixes=(".weight", ".bias"))
            if target is None:
                raise UnsupportedModelError(f"{entry.file}: no GGUF name for vision tensor {name}")
            if short == "pos_embed.weight":
                qtype = T.F32  # interpolated to each image's grid: kept exact
        plan.append(_PlannedTensor(target, entry.shape, qtype, name))
    return plan
