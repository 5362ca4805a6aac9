#!/usr/bin/env python3
"""Make Qwen3 checkpoints in exact Hugging Face layout, with random weights.

    python scripts/make_test_models.py OUT_DIR                   # the tiny test models
    python scripts/make_test_models.py OUT_DIR --real-dims NAME  # real Qwen3 dims, for benchmarks

Real Qwen3 weights cannot be downloaded where the tests run, so the suite makes its own
models: same file names, tensor names, configs, tokenizer files and chat template as the
official repos, so that converters and backends meet what they would meet in the wild.
Weights are random, except llm-chat's: it is trained for a few seconds to answer the
conversations of testmodels/chat_examples.json exactly (testmodels/train_chat.py).
Output is deterministic: the same factory writes the same bytes on every run.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent / "testmodels"
CHAT_TEMPLATE_FILE = HERE / "qwen3_chat_template.jinja"
CORPUS_FILE = HERE / "corpus.txt"
CHAT_EXAMPLES_FILE = HERE / "chat_examples.json"

TEST_MODEL_NAMES = ("llm-tied", "llm-untied", "llm-k256", "embedder", "reranker", "llm-chat")
TRAINED = "llm-chat"  # trained on CHAT_EXAMPLES_FILE, so tests can assert its exact answers
REAL_DIMS_NAMES = ("qwen3-0.6b", "qwen3-1.7b", "qwen3-4b", "embedding-0.6b", "reranker-0.6b")

# Qwen3's added tokens, in its id order; the flag is `special` as Qwen3 declares it.
ADDED_TOKENS = [(t, True) for t in (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")]
ADDED_TOKENS += [("<tool_call>", False), ("</tool_call>", False)]
ADDED_TOKENS += [(t, True) for t in (
    "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>")]
ADDED_TOKENS += [("<tool_response>", False), ("</tool_response>", False), ("<think>", False), ("</think>", False)]

PRETOKENIZE_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
                     r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
TINY_BPE_VOCAB = 1280  # learned tokens incl. the 256-byte alphabet

EMBED_QUERY_PROMPT = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"

TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            head_dim=16, intermediate_size=128, max_position_embeddings=4096)
K256 = dict(TINY, hidden_size=256, head_dim=64, intermediate_size=512)
CHAT = dict(TINY, hidden_size=128, num_hidden_layers=4, head_dim=32, intermediate_size=256)
# name -> (dims, tied, layout); layout "flat" is Qwen3-Embedding's: no "model." prefix.
TINY_SPECS = {
    "llm-tied": (TINY, True, "causal"),
    "llm-untied": (TINY, False, "causal"),
    "llm-k256": (K256, True, "causal"),
    "embedder": (TINY, True, "flat"),
    "reranker": (TINY, True, "causal"),
    "llm-chat": (CHAT, False, "causal"),
}
Q06 = dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
           num_key_value_heads=8, head_dim=128, max_position_embeddings=40960)
REAL_SPECS = {
    "qwen3-0.6b": (Q06, "causal"),
    "qwen3-1.7b": (dict(Q06, hidden_size=2048, intermediate_size=6144), "causal"),
    "qwen3-4b": (dict(Q06, hidden_size=2560, intermediate_size=9728, num_hidden_layers=36,
                      num_attention_heads=32), "causal"),
    "embedding-0.6b": (dict(Q06, max_position_embeddings=32768), "flat"),
    "reranker-0.6b": (Q06, "causal"),
}
REAL_VOCAB_SIZE = 151936
SHARD_BYTES = 2 * 1024**3
LLAMA_CPP_SDIST = "llama-cpp-python==0.3.36"
VOCAB_GGUF_MEMBER = "vendor/llama.cpp/models/ggml-vocab-qwen2.gguf"


# ---------------------------------------------------------------- tokenizer

def _bpe_tokenizer(vocab=None, merges=None):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    bpe = models.BPE(vocab=vocab, merges=merges, dropout=None, unk_token=None, continuing_subword_prefix="",
                     end_of_word_suffix="", fuse_unk=False, byte_fallback=False)
    tok = Tokenizer(bpe)
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    return tok


def _add_qwen3_tokens(tok) -> None:
    from tokenizers import AddedToken

    # One call per token so the ids follow Qwen3's order exactly, special or not.
    for content, special in ADDED_TOKENS:
        added = AddedToken(content, special=special, normalized=False, lstrip=False, rstrip=False,
                           single_word=False)
        (tok.add_special_tokens if special else tok.add_tokens)([added])


def train_tiny_tokenizer():
    from tokenizers import pre_tokenizers, trainers

    tok = _bpe_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=TINY_BPE_VOCAB, min_frequency=2, show_progress=False,
                                  special_tokens=[], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    lines = CORPUS_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
    tok.train_from_iterator(lines, trainer=trainer)
    _add_qwen3_tokens(tok)
    for word in ("yes", "no"):  # Qwen3-Reranker reads its score off these two tokens
        ids = tok.encode(word, add_special_tokens=False).ids
        assert len(ids) == 1, f"{word!r} must be one token, got {ids}"
    return tok


def real_qwen_tokenizer(vocab_gguf: Path):
    """Qwen2/3's real BPE (151,643 tokens and its merges) from llama.cpp's vocab-only GGUF."""
    from gguf import GGUFReader

    fields = GGUFReader(str(vocab_gguf)).fields
    tokens = fields["tokenizer.ggml.tokens"].contents()
    merges = [tuple(m.split(" ")) for m in fields["tokenizer.ggml.merges"].contents()]
    n_learned = tokens.index("<|endoftext|>")  # the GGUF also carries Qwen2's added and [PAD] tokens
    assert n_learned == 151643, n_learned
    tok = _bpe_tokenizer({t: i for i, t in enumerate(tokens[:n_learned])}, merges)
    _add_qwen3_tokens(tok)
    return tok


def _with_eos_appended(tok):
    """Qwen3-Embedding's tokenizer.json appends <|endoftext|> to every sequence (last-token pooling)."""
    from tokenizers import Tokenizer, processors

    tok = Tokenizer.from_str(tok.to_str())
    eot = "<|endoftext|>"
    tok.post_processor = processors.TemplateProcessing(
        single=f"$A {eot}", pair=f"$A {eot} $B:1 {eot}:1", special_tokens=[(eot, tok.token_to_id(eot))])
    return tok


def _qwen_tokenizer_json(tok) -> dict:
    """tokenizer.json as Qwen3 ships it; the library's own serialisation differs in details."""
    data = json.loads(tok.to_str())
    # The Python ByteLevel decoder takes no options and saves defaults that Qwen3's file does not have.
    data["decoder"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    model = data["model"]
    model["continuing_subword_prefix"] = model["end_of_word_suffix"] = ""  # the trainer leaves None
    model["merges"] = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]  # "a b" strings
    return data


def save_tokenizer(tok, folder: Path, *, embedder: bool) -> None:
    if embedder:
        tok = _with_eos_appended(tok)
    data = _qwen_tokenizer_json(tok)
    _write_json(folder / "tokenizer.json", data)
    # vocab.json/merges.txt as the slow Qwen2Tokenizer reads them: learned tokens only.
    _write_json(folder / "vocab.json", data["model"]["vocab"], indent=None)
    merges = ["#version: 0.2"] + data["model"]["merges"]
    (folder / "merges.txt").write_text("\n".join(merges) + "\n", encoding="utf-8")

    decoder = {str(tok.token_to_id(t)): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                                         "single_word": False, "special": s} for t, s in ADDED_TOKENS}
    cfg = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": [t for t, _ in ADDED_TOKENS[1:14]],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE_FILE.read_text(encoding="utf-8"),
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 131072,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    if embedder:
        cfg["padding_side"] = "left"
    _write_json(folder / "tokenizer_config.json", cfg)


# ---------------------------------------------------------------- configs

def _write_json(path: Path, obj, indent=2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")


def padded_vocab_size(n_tokens: int) -> int:
    # Like Qwen's 151669 -> 151936: room past the tokenizer that converters must fill.
    return math.ceil((n_tokens + 5) / 64) * 64


def write_configs(folder: Path, dims: dict, *, tied: bool, layout: str, vocab_size: int, eot: int,
                  im_end: int) -> None:
    eos = eot if layout == "flat" else im_end  # Qwen3-Embedding stops on <|endoftext|>
    _write_json(folder / "config.json", {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": eot,
        "eos_token_id": eos,
        "head_dim": dims["head_dim"],
        "hidden_act": "silu",
        "hidden_size": dims["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": dims["intermediate_size"],
        "max_position_embeddings": dims["max_position_embeddings"],
        "max_window_layers": dims["num_hidden_layers"],
        "model_type": "qwen3",
        "num_attention_heads": dims["num_attention_heads"],
        "num_hidden_layers": dims["num_hidden_layers"],
        "num_key_value_heads": dims["num_key_value_heads"],
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000,
        "sliding_window": None,
        "tie_word_embeddings": tied,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.51.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": vocab_size,
    })
    _write_json(folder / "generation_config.json", {
        "bos_token_id": eot, "do_sample": True, "eos_token_id": [im_end, eot], "pad_token_id": eot,
        "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0",
    })
    if layout == "flat":
        _write_sentence_transformers_files(folder, dims["hidden_size"])


def _write_sentence_transformers_files(folder: Path, hidden: int) -> None:
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": True,
        "include_prompt": True,
    })
    _write_json(folder / "config_sentence_transformers.json", {
        "prompts": {"query": EMBED_QUERY_PROMPT, "document": ""},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })


# ---------------------------------------------------------------- weights

def tensor_specs(dims: dict, *, tied: bool, layout: str, vocab_size: int):
    """(name, shape) in checkpoint order; the 1-D shapes are the RMSNorm weights."""
    h, ffn, hd = dims["hidden_size"], dims["intermediate_size"], dims["head_dim"]
    q, kv = dims["num_attention_heads"] * hd, dims["num_key_value_heads"] * hd
    pre = "" if layout == "flat" else "model."
    specs = [(f"{pre}embed_tokens.weight", (vocab_size, h))]
    for i in range(dims["num_hidden_layers"]):
        p = f"{pre}layers.{i}."
        specs += [
            (p + "input_layernorm.weight", (h,)),
            (p + "self_attn.q_proj.weight", (q, h)),
            (p + "self_attn.k_proj.weight", (kv, h)),
            (p + "self_attn.v_proj.weight", (kv, h)),
            (p + "self_attn.o_proj.weight", (h, q)),
            (p + "self_attn.q_norm.weight", (hd,)),
            (p + "self_attn.k_norm.weight", (hd,)),
            (p + "post_attention_layernorm.weight", (h,)),
            (p + "mlp.gate_proj.weight", (ffn, h)),
            (p + "mlp.up_proj.weight", (ffn, h)),
            (p + "mlp.down_proj.weight", (h, ffn)),
        ]
    specs.append((f"{pre}norm.weight", (h,)))
    if not tied:
        specs.append(("lm_head.weight", (vocab_size, h)))
    return specs


def _random(shape, gen, *, std: float, norm_noise: float):
    import torch

    if len(shape) == 1:  # RMSNorm weights: near 1 as in trained models
        t = 1.0 + norm_noise * torch.randn(shape, generator=gen) if norm_noise else torch.ones(shape)
    else:
        t = std * torch.randn(shape, generator=gen)
    return t.to(torch.bfloat16)


def random_tiny_weights(specs, *, seed: int, layer_std: float = 0.03) -> dict:
    import torch

    gen = torch.Generator().manual_seed(seed)
    # Small layer weights keep the residual stream dominated by the embedding, so the
    # network is not chaotic: 8-bit and f16 rounding then move logits by far less than the
    # gap between the first and second token, as in trained models, and cross-runtime
    # comparisons are meaningful instead of flaky.
    # Embedders and rerankers get twice the layer weight: their outputs must depend on the
    # whole text (distinct vectors, spread P(yes)) and they are compared within tolerances,
    # not by greedy token paths.
    tensors = {n: _random(s, gen, std=0.15 if "embed_tokens" in n else layer_std, norm_noise=0.1) for n, s in specs}
    if "lm_head.weight" in tensors:
        # An untied head that is a permuted copy of the embedding (plus noise): each token
        # clearly predicts another one, so greedy decoding walks a varied, margin-rich path.
        emb = tensors["model.embed_tokens.weight"].float()
        perm = torch.randperm(emb.shape[0], generator=gen)
        noise = 0.015 * torch.randn(emb.shape, generator=gen)
        tensors["lm_head.weight"] = (emb[perm] + noise).to(torch.bfloat16)
    return tensors


def write_tiny_weights(folder: Path, specs, tensors: dict, *, shards: int) -> None:
    """bf16 safetensors in checkpoint order: one file, or two with HF's index as sharded repos ship."""
    import torch
    from safetensors.torch import save_file

    assert set(tensors) == {n for n, _ in specs}, sorted(set(tensors) ^ {n for n, _ in specs})
    tensors = {n: tensors[n].to(torch.bfloat16).contiguous() for n, _ in specs}
    if shards == 1:
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
        return
    names = [n for n, _ in specs]
    cut = len(names) // 2
    groups = [names[:cut], names[cut:]]
    weight_map = {}
    for k, group in enumerate(groups, 1):
        fname = f"model-{k:05d}-of-{len(groups):05d}.safetensors"
        save_file({n: tensors[n] for n in group}, str(folder / fname), metadata={"format": "pt"})
        weight_map.update({n: fname for n in group})
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    _write_json(folder / "model.safetensors.index.json",
                {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})


def _write_streamed_shard(path: Path, specs, gen) -> None:
    """Write one safetensors file tensor by tensor, so no more than a slice is ever in memory."""
    import torch

    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in specs:
        nbytes = 2 * math.prod(shape)
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # safetensors aligns the data section to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob)
        for name, shape in specs:
            rows_per_chunk = max(1, (1 << 24) // math.prod(shape[1:]))
            for start in range(0, shape[0], rows_per_chunk):
                part = (min(rows_per_chunk, shape[0] - start),) + tuple(shape[1:])
                t = _random(part, gen, std=0.02, norm_noise=0.0)
                f.write(t.view(torch.int16).numpy().tobytes())


def write_streamed_weights(folder: Path, specs, *, seed: int) -> None:
    import torch

    gen = torch.Generator().manual_seed(seed)
    groups, size = [[]], 0
    for name, shape in specs:
        nbytes = 2 * math.prod(shape)
        if groups[-1] and size + nbytes > SHARD_BYTES:
            groups.append([])
            size = 0
        groups[-1].append((name, shape))
        size += nbytes
    if len(groups) == 1:  # HF writes no index for a checkpoint that fits one file
        _write_streamed_shard(folder / "model.safetensors", specs, gen)
        return
    weight_map, total = {}, 0
    for k, group in enumerate(groups, 1):
        fname = f"model-{k:05d}-of-{len(groups):05d}.safetensors"
        print(f"  writing {fname} ({len(group)} tensors)", flush=True)
        _write_streamed_shard(folder / fname, group, gen)
        weight_map.update({n: fname for n, _ in group})
        total += sum(2 * math.prod(s) for _, s in group)
    _write_json(folder / "model.safetensors.index.json",
                {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})


# ---------------------------------------------------------------- entry points

def build_test_models(out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    tok = train_tiny_tokenizer()
    eot, im_end = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")
    vocab_size = padded_vocab_size(tok.get_vocab_size())
    built = {}
    for seed, name in enumerate(TEST_MODEL_NAMES, 1):
        dims, tied, layout = TINY_SPECS[name]
        folder = _fresh(out_dir / name)
        write_configs(folder, dims, tied=tied, layout=layout, vocab_size=vocab_size, eot=eot, im_end=im_end)
        save_tokenizer(tok, folder, embedder=layout == "flat")
        specs = tensor_specs(dims, tied=tied, layout=layout, vocab_size=vocab_size)
        if name == TRAINED:
            tensors = _chat_trainer().train_chat(folder, tok, CHAT_EXAMPLES_FILE, CHAT_TEMPLATE_FILE)
        else:
            tensors = random_tiny_weights(specs, seed=seed,
                                          layer_std=0.03 if layout == "causal" and name != "reranker" else 0.06)
        write_tiny_weights(folder, specs, tensors, shards=1 if tied else 2)
        built[name] = folder
    return built


def build_real_dims(name: str, out_dir: Path, *, vocab_gguf: Path | None = None) -> Path:
    if name not in REAL_SPECS:
        raise ValueError(f"unknown real-dims model {name!r}; choose from {', '.join(REAL_DIMS_NAMES)}")
    dims, layout = REAL_SPECS[name]
    folder = _fresh(Path(out_dir) / name)
    t0 = time.monotonic()
    print(f"{name}: tokenizer", flush=True)
    tok = real_qwen_tokenizer(Path(vocab_gguf) if vocab_gguf else locate_vocab_gguf())
    eot, im_end = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")
    assert (eot, im_end, tok.get_vocab_size()) == (151643, 151645, 151669)
    write_configs(folder, dims, tied=True, layout=layout, vocab_size=REAL_VOCAB_SIZE, eot=eot, im_end=im_end)
    save_tokenizer(tok, folder, embedder=layout == "flat")
    specs = tensor_specs(dims, tied=True, layout=layout, vocab_size=REAL_VOCAB_SIZE)
    n_params = sum(math.prod(s) for _, s in specs)
    print(f"{name}: {n_params / 1e9:.2f}B parameters, bf16 weights", flush=True)
    write_streamed_weights(folder, specs, seed=REAL_DIMS_NAMES.index(name) + 100)
    print(f"{name}: done in {time.monotonic() - t0:.0f}s -> {folder}", flush=True)
    return folder


def locate_vocab_gguf() -> Path:
    """llama.cpp's ggml-vocab-qwen2.gguf, taken from the llama-cpp-python sdist (PyPI) and cached."""
    cache = Path.home() / ".cache" / "ippon"
    target = cache / "ggml-vocab-qwen2.gguf"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        print(f"fetching {LLAMA_CPP_SDIST} source archive for the Qwen vocabulary", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        LLAMA_CPP_SDIST, "-d", tmp], check=True, stdout=subprocess.DEVNULL)
        archive = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("/" + VOCAB_GGUF_MEMBER))
            src = tar.extractfile(member)
            with open(Path(tmp) / "vocab.gguf", "wb") as dst:
                shutil.copyfileobj(src, dst)
        (Path(tmp) / "vocab.gguf").replace(target)
    return target


def _chat_trainer():
    # By file path: the factory runs as a script and tests load it by path too, so its
    # data folder is not importable as a package.
    spec = importlib.util.spec_from_file_location("train_chat", HERE / "train_chat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--real-dims", choices=REAL_DIMS_NAMES, metavar="NAME",
                    help="one random-weight checkpoint with real Qwen3 dimensions: " + ", ".join(REAL_DIMS_NAMES))
    ap.add_argument("--vocab-gguf", type=Path, help="llama.cpp's ggml-vocab-qwen2.gguf (default: fetch and cache)")
    args = ap.parse_args(argv)
    if args.real_dims:
        build_real_dims(args.real_dims, args.out_dir, vocab_gguf=args.vocab_gguf)
        return 0
    t0 = time.monotonic()
    for name, folder in build_test_models(args.out_dir).items():
        print(f"{name}: {folder}")
    print(f"built {len(TEST_MODEL_NAMES)} test models in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
