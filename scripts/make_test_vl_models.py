#!/usr/bin/env python3
"""Make tiny Qwen3-VL checkpoints (reranker and embedder) in exact Hugging Face layout, with random weights.

    python scripts/make_test_vl_models.py OUT_DIR                         # the tiny test models
    python scripts/make_test_vl_models.py OUT_DIR --real-dims reranker-2b  # Qwen3-VL-Reranker-2B's dims, for benchmarks

The layout is the one Qwen/Qwen3-VL-Reranker-2B and Qwen/Qwen3-VL-Embedding-2B ship: a
`Qwen3VLForConditionalGeneration` config as transformers 4.57 saves it (`rope_scaling` with
`mrope_section` inside `text_config`, vision `model_type` "qwen3_vl"), weights under
`model.language_model.*` and `model.visual.*`, tied word embeddings, the processor's
`preprocessor_config.json` and the Qwen3-VL chat template. The tokenizer is the suite's own
(scripts/make_test_models.py: a byte-level BPE trained on a little Japanese and English, with
Qwen3's added tokens, so <|vision_start|>, <|image_pad|> … have their own ids, which the config
names; "yes" and "no" are single tokens). It is kept apart from make_test_models.py so that the
suite's main cache key does not change when these models do.
Output is deterministic: the same factory writes the same bytes on every run.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VL_TEST_MODEL_NAMES = ("vl-reranker", "vl-embedder")

# The subset of Qwen3-VL's chat template the official reranker and embedder use (system and
# user turns with text and image parts, then the opened assistant turn), as the model repos ship it.
VL_CHAT_TEMPLATE = (
    "{%- set image_count = namespace(value=0) %}"
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' }}"
    "{%- if message.content is string %}{{- message.content }}{%- else %}"
    "{%- for content in message.content %}"
    "{%- if content.type == 'image' or 'image' in content or 'image_url' in content %}"
    "{%- set image_count.value = image_count.value + 1 %}"
    "{%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif 'text' in content %}{{- content.text }}{%- endif %}"
    "{%- endfor %}{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

TEXT = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
            intermediate_size=128, max_position_embeddings=4096, mrope_section=[8, 4, 4], rope_theta=5000000)
# num_position_embeddings must be a square (an 8x8 grid of learned positions: image_size 128); llama.cpp
# needs fewer deepstack inputs than text layers (with as many, its qwen3vl graph aborts).
VISION = dict(depth=3, hidden_size=32, num_heads=2, intermediate_size=64, patch_size=16, temporal_patch_size=2,
              spatial_merge_size=2, num_position_embeddings=64, deepstack_visual_indexes=[0, 2])
IMAGE_MEAN = IMAGE_STD = [0.5, 0.5, 0.5]
# Qwen3-VL-2B's dimensions (Qwen3-VL-Reranker-2B and -Embedding-2B share them).
REAL_DIMS = {"reranker-2b": (
    dict(hidden_size=2048, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8, head_dim=128,
         intermediate_size=6144, max_position_embeddings=262144, mrope_section=[24, 20, 20], rope_theta=5000000),
    dict(depth=24, hidden_size=1024, num_heads=16, intermediate_size=4096, patch_size=16, temporal_patch_size=2,
         spatial_merge_size=2, num_position_embeddings=2304, deepstack_visual_indexes=[5, 11, 17]))}


def _base_factory():
    spec = importlib.util.spec_from_file_location("make_test_models", HERE / "make_test_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_vl_configs(folder: Path, *, vocab_size: int, tok, text: dict = TEXT, vision: dict = VISION) -> None:
    base = _base_factory()
    ids = {t: tok.token_to_id(t) for t in ("<|endoftext|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                                           "<|image_pad|>", "<|video_pad|>")}
    t, v = text, vision
    base._write_json(folder / "config.json", {
        "architectures": ["Qwen3VLForConditionalGeneration"],
        "image_token_id": ids["<|image_pad|>"],
        "model_type": "qwen3_vl",
        "text_config": {
            "attention_bias": False,
            "attention_dropout": 0.0,
            "bos_token_id": ids["<|endoftext|>"],
            "dtype": "bfloat16",
            "eos_token_id": ids["<|im_end|>"],
            "head_dim": t["head_dim"],
            "hidden_act": "silu",
            "hidden_size": t["hidden_size"],
            "initializer_range": 0.02,
            "intermediate_size": t["intermediate_size"],
            "max_position_embeddings": t["max_position_embeddings"],
            "model_type": "qwen3_vl_text",
            "num_attention_heads": t["num_attention_heads"],
            "num_hidden_layers": t["num_hidden_layers"],
            "num_key_value_heads": t["num_key_value_heads"],
            "rms_norm_eps": 1e-06,
            "rope_scaling": {"mrope_interleaved": True, "mrope_section": t["mrope_section"], "rope_type": "default"},
            "rope_theta": t["rope_theta"],
            "tie_word_embeddings": True,
            "use_cache": True,
            "vocab_size": vocab_size,
        },
        "tie_word_embeddings": True,
        "transformers_version": "4.57.1",
        "video_token_id": ids["<|video_pad|>"],
        "vision_config": {
            "deepstack_visual_indexes": v["deepstack_visual_indexes"],
            "depth": v["depth"],
            "hidden_act": "gelu_pytorch_tanh",
            "hidden_size": v["hidden_size"],
            "in_channels": 3,
            "initializer_range": 0.02,
            "intermediate_size": v["intermediate_size"],
            "model_type": "qwen3_vl",
            "num_heads": v["num_heads"],
            "num_position_embeddings": v["num_position_embeddings"],
            "out_hidden_size": t["hidden_size"],
            "patch_size": v["patch_size"],
            "spatial_merge_size": v["spatial_merge_size"],
            "temporal_patch_size": v["temporal_patch_size"],
        },
        "vision_end_token_id": ids["<|vision_end|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
    })
    base._write_json(folder / "preprocessor_config.json", {
        "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
        "image_mean": IMAGE_MEAN, "image_processor_type": "Qwen2VLImageProcessorFast", "image_std": IMAGE_STD,
        "merge_size": v["spatial_merge_size"], "patch_size": v["patch_size"], "processor_class": "Qwen3VLProcessor",
        "resample": 3, "rescale_factor": 0.00392156862745098,
        "size": {"longest_edge": 16777216, "shortest_edge": 65536},
        "temporal_patch_size": v["temporal_patch_size"],
    })
    base._write_json(folder / "chat_template.json", {"chat_template": VL_CHAT_TEMPLATE})
    base._write_json(folder / "generation_config.json", {
        "bos_token_id": ids["<|endoftext|>"], "eos_token_id": [ids["<|im_end|>"], ids["<|endoftext|>"]],
        "pad_token_id": ids["<|endoftext|>"], "transformers_version": "4.57.1"})


def vl_tensor_specs(*, vocab_size: int, text: dict = TEXT,
                    vision: dict = VISION) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) in checkpoint order, as Qwen3VLForConditionalGeneration saves them (tied: no lm_head)."""
    base = _base_factory()
    t, v = text, vision
    text = base.tensor_specs(t, tied=True, layout="causal", vocab_size=vocab_size)
    specs = [(n.replace("model.", "model.language_model.", 1), s) for n, s in text]
    h, ffn, p = v["hidden_size"], v["intermediate_size"], v["patch_size"]
    merged = h * v["spatial_merge_size"] ** 2
    specs += [("model.visual.patch_embed.proj.weight", (h, 3, v["temporal_patch_size"], p, p)),
              ("model.visual.patch_embed.proj.bias", (h,)),
              ("model.visual.pos_embed.weight", (v["num_position_embeddings"], h))]
    for i in range(v["depth"]):
        b = f"model.visual.blocks.{i}."
        specs += [(b + "norm1.weight", (h,)), (b + "norm1.bias", (h,)), (b + "attn.qkv.weight", (3 * h, h)),
                  (b + "attn.qkv.bias", (3 * h,)), (b + "attn.proj.weight", (h, h)), (b + "attn.proj.bias", (h,)),
                  (b + "norm2.weight", (h,)), (b + "norm2.bias", (h,)), (b + "mlp.linear_fc1.weight", (ffn, h)),
                  (b + "mlp.linear_fc1.bias", (ffn,)), (b + "mlp.linear_fc2.weight", (h, ffn)),
                  (b + "mlp.linear_fc2.bias", (h,))]
    mergers = [("model.visual.merger.", h)]
    mergers += [(f"model.visual.deepstack_merger_list.{k}.", merged) for k in range(len(v["deepstack_visual_indexes"]))]
    for prefix, norm in mergers:  # the deepstack mergers normalise after the 2x2 shuffle, the main one before
        specs += [(prefix + "norm.weight", (norm,)), (prefix + "norm.bias", (norm,)),
                  (prefix + "linear_fc1.weight", (merged, merged)), (prefix + "linear_fc1.bias", (merged,)),
                  (prefix + "linear_fc2.weight", (t["hidden_size"], merged)),
                  (prefix + "linear_fc2.bias", (t["hidden_size"],))]
    return specs


def random_vl_weights(specs, *, seed: int) -> dict:
    import torch

    base = _base_factory()
    text = [(n, s) for n, s in specs if n.startswith("model.language_model.")]
    tensors = base.random_tiny_weights(text, seed=seed, layer_std=0.06)
    gen = torch.Generator().manual_seed(seed + 1000)
    for name, shape in specs:
        if name in tensors:
            continue
        if name.endswith(".bias"):
            t = 0.02 * torch.randn(shape, generator=gen)
        elif len(shape) == 1:  # LayerNorm weights near 1
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        else:
            # Vision weights large enough that pixels move the score visibly, small enough that
            # f16 and 8-bit rounding stay far inside the parity tolerances.
            t = (0.1 if "pos_embed" in name or "patch_embed" in name else 0.08) * torch.randn(shape, generator=gen)
        tensors[name] = t.to(torch.bfloat16)
    return tensors


def build_vl_test_models(out_dir: Path) -> dict[str, Path]:
    base = _base_factory()
    out_dir = Path(out_dir)
    tok = base.train_tiny_tokenizer()
    vocab_size = base.padded_vocab_size(tok.get_vocab_size())
    specs = vl_tensor_specs(vocab_size=vocab_size)
    built = {}
    for seed, name in enumerate(VL_TEST_MODEL_NAMES, 201):
        folder = base._fresh(out_dir / name)
        write_vl_configs(folder, vocab_size=vocab_size, tok=tok)
        base.save_tokenizer(tok, folder, embedder=False)
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        base._write_json(folder / "tokenizer_config.json", {**config, "chat_template": VL_CHAT_TEMPLATE})
        base.write_tiny_weights(folder, specs, random_vl_weights(specs, seed=seed), shards=1)
        built[name] = folder
    return built


def build_vl_real_dims(name: str, out_dir: Path, *, vocab_gguf: Path | None = None) -> Path:
    """A random-weight checkpoint with a real Qwen3-VL model's dimensions and the real Qwen tokenizer,
    written tensor by tensor (memory stays bounded)."""
    base = _base_factory()
    text, vision = REAL_DIMS[name]
    folder = base._fresh(Path(out_dir) / f"qwen3-vl-{name}")
    tok = base.real_qwen_tokenizer(Path(vocab_gguf) if vocab_gguf else base.locate_vocab_gguf())
    write_vl_configs(folder, vocab_size=base.REAL_VOCAB_SIZE, tok=tok, text=text, vision=vision)
    base.save_tokenizer(tok, folder, embedder=False)
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    base._write_json(folder / "tokenizer_config.json", {**config, "chat_template": VL_CHAT_TEMPLATE})
    specs = vl_tensor_specs(vocab_size=base.REAL_VOCAB_SIZE, text=text, vision=vision)
    base.write_streamed_weights(folder, specs, seed=300)
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--real-dims", choices=sorted(REAL_DIMS), help="one random-weight checkpoint with real dims")
    ap.add_argument("--vocab-gguf", type=Path, help="llama.cpp's ggml-vocab-qwen2.gguf (default: fetch and cache)")
    args = ap.parse_args(argv)
    if args.real_dims:
        print(build_vl_real_dims(args.real_dims, args.out_dir, vocab_gguf=args.vocab_gguf))
        return 0
    t0 = time.monotonic()
    for name, folder in build_vl_test_models(args.out_dir).items():
        print(f"{name}: {folder}")
    print(f"built {len(VL_TEST_MODEL_NAMES)} Qwen3-VL test models in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
