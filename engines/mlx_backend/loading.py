"""Opening an MLX model folder: checks, the tokenizer, and the network with its weights.

mlx-lm's own `load` cannot read the official Qwen3-Embedding layout (keys without the
`model.` prefix, no lm_head), so the network is built from config.json and loaded here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import qwen3
from ..base import Role
from ..errors import MissingBackendError, ModelFileError, WrongModelError

_ROLE_NAMES = {"chat": "a Qwen3 chat model", "embedder": "a Qwen3-Embedding model",
               "reranker": "a Qwen3-Reranker model"}


def import_mlx() -> Any:
    try:
        import mlx.core as mx
        import mlx_lm  # noqa: F401 - checked here so the message covers both
    except ImportError as exc:
        raise MissingBackendError("the MLX backend needs mlx-lm: please install it (pip install mlx-lm; "
                                  "on Linux pip install 'mlx-lm[cpu]')") from exc
    return mx


class MlxFolder:
    """A checked MLX model folder: config, kind, tokenizer and chat template."""

    def __init__(self, path: Path, role: Role) -> None:
        path = Path(path).expanduser()
        if not path.exists():
            raise ModelFileError(f"{path}: no such model folder")
        if not path.is_dir():
            raise WrongModelError(f"{path}: the MLX backend takes a model folder (config.json, *.safetensors, "
                                  "tokenizer.json); use the llamacpp backend for a GGUF file")
        self.path = path.resolve()
        self.config = self._json("config.json", required=True)
        model_type = self.config.get("model_type")
        if model_type != "qwen3":
            raise WrongModelError(f"{self.path}: model_type {model_type!r}; expected {_ROLE_NAMES[role]} (qwen3)")
        if role != self.kind:
            raise WrongModelError(f"{self.path}: this is {_ROLE_NAMES[self.kind]}, but {_ROLE_NAMES[role]} "
                                  "was expected")
        if not list(self.path.glob("*.safetensors")):
            raise ModelFileError(f"{self.path}: no *.safetensors weights in the folder")
        tok_file = self.path / "tokenizer.json"
        if not tok_file.is_file():
            raise ModelFileError(f"{self.path}: tokenizer.json is missing")
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tok_file))
        # A second copy that reads special-token text ("<|im_end|>" inside a document) as plain text.
        self._plain_tokenizer = Tokenizer.from_file(str(tok_file))
        self._plain_tokenizer.encode_special_tokens = True
        self._special = {i for i, t in self.tokenizer.get_added_tokens_decoder().items() if t.special}

    def _json(self, name: str, *, required: bool = False) -> dict[str, Any]:
        file = self.path / name
        if not file.is_file():
            if required:
                raise ModelFileError(f"{self.path}: {name} is missing; not a model folder")
            return {}
        try:
            return json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"{file}: cannot be read as JSON ({exc})") from exc

    @property
    def kind(self) -> Role:
        declared = self.config.get("ippon_kind")  # written by Ippon's converter
        if declared in ("embedder", "reranker"):
            return declared
        if declared == "llm":
            return "chat"
        if (self.path / "modules.json").is_file() or (self.path / "1_Pooling").is_dir():
            return "embedder"
        return "reranker" if "rerank" in self.path.name.lower() else "chat"

    @property
    def chat_template(self) -> str | None:
        file = self.path / "chat_template.jinja"
        if file.is_file():
            return file.read_text(encoding="utf-8")
        return self._json("tokenizer_config.json").get("chat_template")

    def tokenize(self, text: str, *, special: bool) -> list[int]:
        # Never the post-processor's tokens (the embedder's tokenizer.json appends <|endoftext|>):
        # the engines add what each prompt needs.
        tokenizer = self.tokenizer if special else self._plain_tokenizer
        return tokenizer.encode(text, add_special_tokens=False).ids

    def token_bytes(self, token: int) -> bytes:
        piece = self.tokenizer.id_to_token(token)
        if piece is None:
            return b""
        return qwen3.byte_level_token_bytes(piece, special=token in self._special)

    def single_token(self, text: str) -> int:
        token = self.tokenizer.token_to_id(text)
        if token is None:
            raise WrongModelError(f"{self.path}: the vocabulary has no {text} token; not a Qwen3 model")
        return token


def load_network(folder: MlxFolder, *, causal_lm: bool) -> Any:
    """The mlx-lm Qwen3 network (Model with its head, or Qwen3Model alone) with the folder's weights."""
    mx = import_mlx()
    import mlx.nn as nn
    from mlx_lm.models import qwen3 as mlx_qwen3

    args = mlx_qwen3.ModelArgs.from_dict(folder.config)
    weights: dict[str, Any] = {}
    for file in sorted(folder.path.glob("*.safetensors")):
        weights.update(mx.load(str(file)))
    if causal_lm:
        model = mlx_qwen3.Model(args)
        weights = model.sanitize(weights)
    else:
        model = mlx_qwen3.Qwen3Model(args)
        weights = {k.removeprefix("model."): v for k, v in weights.items() if not k.startswith("lm_head.")}
    quant = folder.config.get("quantization")
    if quant:
        nn.quantize(model, group_size=quant["group_size"], bits=quant["bits"],
                    class_predicate=lambda path, _module: f"{path}.scales" in weights)
    try:
        model.load_weights(list(weights.items()), strict=True)
    except ValueError as exc:
        raise ModelFileError(f"{folder.path}: the weights do not fit the config ({exc})") from exc
    model.eval()
    mx.eval(model.parameters())
    return model
