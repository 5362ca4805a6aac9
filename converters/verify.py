"""Check a converted model against the reference implementation (transformers on PyTorch, fp32).

The same token ids go into both sides, so the comparison measures the weights and the
runtime, not tokenization; tokenization is checked separately (GGUF's own tokenizer against
tokenizer.json on Japanese and English text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import Checkpoint, ModelKind
from .errors import MissingDependencyError, VerificationError
from .events import ProgressCallback, ProgressReporter
from .gguf_vocab import RERANK_TEMPLATE
from .verify_runtimes import GgufRunner, MlxRunner

VERIFY_TEXTS = (
    "日本の首都は東京です。富士山は日本で一番高い山で、標高は3776メートルです。",
    "The quick brown fox jumps over the lazy dog while the server restarts.",
    "設定ファイル（config.toml）を開いて、ポート番号を８０８０に変更してください。",
    "What does retrieval-augmented generation do with the documents it finds?",
    "「検索結果が空です」と表示されたら、インデックスを再構築してください！",
)
RERANK_PAIRS = (
    ("富士山の標高は？", VERIFY_TEXTS[0]),
    ("How do I change the port?", VERIFY_TEXTS[2]),
    ("What is RAG?", VERIFY_TEXTS[3]),
    ("インデックスの再構築", VERIFY_TEXTS[1]),
)
GREEDY_TOKENS = 32

# Precision classes: the thresholds the issue sets per output type. "lowbit" types are
# only required to load and produce finite output; their figures are still reported.
# float16 is a half-precision type like bfloat16, not an exact one: ggml multiplies float16
# weights with activations rounded to float16 too, and bfloat16 weights below 6e-5 lose bits;
# the suite's trained chat model (bfloat16, logits up to 12) moved by 0.015 so, past the exact
# limit, and real Qwen3 logits are larger still.
_PRECISION = {("gguf", "f32"): "exact", ("gguf", "f16"): "half", ("gguf", "bf16"): "half",
              ("gguf", "q8_0"): "8bit", ("mlx", "f32"): "exact", ("mlx", "bf16"): "half", ("mlx", "8bit"): "8bit"}
_THRESHOLDS: dict[str, dict[str, tuple[str, float]]] = {
    "exact": {"max_abs_logit_diff": ("<=", 1e-2), "greedy_match": (">=", 1.0), "top1_agreement": (">=", 0.99),
              "min_cosine": (">=", 0.999), "max_abs_p_yes_diff": ("<=", 0.01)},
    "half": {"top1_agreement": (">=", 0.99), "min_cosine": (">=", 0.999), "max_abs_p_yes_diff": ("<=", 0.01)},
    "8bit": {"top1_agreement": (">=", 0.99), "min_cosine": (">=", 0.99), "max_abs_p_yes_diff": ("<=", 0.05)},
    "lowbit": {},
}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    value: float
    op: str | None = None
    threshold: float | None = None

    @property
    def passed(self) -> bool:
        if not np.isfinite(self.value):
            return False
        if self.op is None or self.threshold is None:
            return True
        return self.value <= self.threshold if self.op == "<=" else self.value >= self.threshold

    def describe(self) -> str:
        limit = f" (limit {self.op} {self.threshold:g})" if self.op else ""
        return f"{self.name} = {self.value:.6g}{limit}{'' if self.passed else '  FAILED'}"


@dataclass(slots=True)
class VerificationReport:
    kind: ModelKind
    fmt: str
    quant: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def as_dict(self) -> dict[str, object]:
        return {"passed": self.passed, "kind": self.kind.value, "format": self.fmt, "quant": self.quant,
                "checks": {c.name: {"value": c.value, "limit": c.threshold, "op": c.op, "passed": c.passed}
                           for c in self.checks}}

    def raise_if_failed(self, output: Path) -> None:
        if not self.passed:
            failed = "; ".join(c.describe() for c in self.checks if not c.passed)
            raise VerificationError(f"{output}: the converted model does not match the reference: {failed}. "
                                    "Nothing was written.")


def verify_conversion(ckpt: Checkpoint, converted: Path, *, fmt: str, quant: str,
                      progress: ProgressCallback | None = None) -> VerificationReport:
    reference = _Reference(ckpt)
    runner = GgufRunner(converted, ckpt.kind) if fmt == "gguf" else MlxRunner(converted, ckpt.kind)
    limits = _THRESHOLDS[_PRECISION.get((fmt, quant), "lowbit")]
    report = VerificationReport(ckpt.kind, fmt, quant)

    def check(name: str, value: float) -> None:
        op, threshold = limits.get(name, (None, None))
        report.checks.append(Check(name, float(value), op, threshold))

    steps = ProgressReporter(stage="verify", tensors_total=3, bytes_total=0, progress=progress, cancel=None)
    if fmt == "gguf":
        check("tokenizer_agreement", _tokenizer_agreement(reference, runner))
    steps.advance("tokenizer", 0)
    if ckpt.kind is ModelKind.LLM:
        diffs, agree, total = [], 0, 0
        for text in VERIFY_TEXTS:
            ids = reference.encode(text)
            ref, got = reference.logits(ids), runner.logits(ids)
            diffs.append(float(np.max(np.abs(ref - got))))
            agree += int(np.sum(ref.argmax(-1) == got.argmax(-1)))
            total += len(ids)
        check("max_abs_logit_diff", max(diffs))
        check("top1_agreement", agree / total)
        steps.advance("logits", 0)
        ids = reference.encode(VERIFY_TEXTS[0])
        ref_tokens = reference.greedy(ids, GREEDY_TOKENS)
        got_tokens = runner.greedy(ids, GREEDY_TOKENS)
        check("greedy_match", float(ref_tokens == got_tokens))
    elif ckpt.kind is ModelKind.EMBEDDER:
        cosines = []
        for text in VERIFY_TEXTS:
            ids = reference.encode(text)
            ref, got = reference.embedding(ids), runner.embedding(ids)
            cosines.append(float(ref @ got / (np.linalg.norm(ref) * np.linalg.norm(got))))
        steps.advance("embeddings", 0)
        check("min_cosine", min(cosines))
    else:
        yes, no = ckpt.tokenizer.single_token_id("yes"), ckpt.tokenizer.single_token_id("no")
        diffs = []
        for query, document in RERANK_PAIRS:
            prompt = RERANK_TEMPLATE.replace("{query}", query).replace("{document}", document)
            ids = reference.encode(prompt)
            diffs.append(abs(reference.p_yes(ids, yes, no) - runner.p_yes(ids, yes, no)))
        steps.advance("scores", 0)
        check("max_abs_p_yes_diff", max(diffs))
    steps.advance("done", 0)
    return report


def _tokenizer_agreement(reference: _Reference, runner: GgufRunner) -> float:
    texts = VERIFY_TEXTS + (RERANK_TEMPLATE.replace("{query}", "質問").replace("{document}", "文書"),)
    same = sum(reference.encode(t) == runner.tokenize(t) for t in texts)
    return same / len(texts)


def import_reference(*, needs: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """torch and transformers (with the classes in `needs`), or a clear error saying what to install: the
    reference is an optional extra, imported only when --verify asks for it."""
    try:
        import torch
        import transformers

        for name in needs:
            getattr(transformers, name)
    except (ImportError, AttributeError) as exc:
        raise MissingDependencyError("--verify compares with the reference implementation: please install "
                                     "torch and transformers (pip install 'ippon[verify]')") from exc
    transformers.utils.logging.disable_progress_bar()
    return torch, transformers


class _Reference:
    """The checkpoint run by transformers in float32 on the CPU."""

    def __init__(self, ckpt: Checkpoint) -> None:
        torch, transformers = import_reference()
        from tokenizers import Tokenizer

        self._torch = torch
        self.kind = ckpt.kind
        self.tokenizer = Tokenizer.from_file(str(ckpt.tokenizer.path))
        cls = transformers.AutoModel if ckpt.kind is ModelKind.EMBEDDER else transformers.AutoModelForCausalLM
        self.model = cls.from_pretrained(str(ckpt.path), dtype=torch.float32).eval()

    def encode(self, text: str) -> list[int]:
        # The embedder's tokenizer appends <|endoftext|> itself (its post-processor).
        return self.tokenizer.encode(text, add_special_tokens=self.kind is ModelKind.EMBEDDER).ids

    def _forward(self, ids: list[int]):  # noqa: ANN202 - a transformers output object
        with self._torch.no_grad():
            return self.model(self._torch.tensor([ids]))

    def logits(self, ids: list[int]) -> np.ndarray:
        return self._forward(ids).logits[0].float().numpy()

    def embedding(self, ids: list[int]) -> np.ndarray:
        return self._forward(ids).last_hidden_state[0, -1].float().numpy()

    def p_yes(self, ids: list[int], yes: int, no: int) -> float:
        last = self._forward(ids).logits[0, -1, [yes, no]].double()
        return float(self._torch.softmax(last, dim=-1)[0])

    def greedy(self, ids: list[int], n: int) -> list[int]:
        """n tokens by plain argmax, as the runtimes pick them. Not `generate`: its `min_new_tokens`
        masks the end-of-turn tokens, so a model that ends its answer (the suite's trained chat
        model does at once) took another path in the reference than in every runtime, and its
        generation_config (repetition penalty and the like) would apply on one side only."""
        torch = self._torch
        out: list[int] = []
        with torch.no_grad():
            step = self.model(torch.tensor([ids]), use_cache=True)
            for _ in range(n):
                token = int(step.logits[0, -1].argmax())
                out.append(token)
                step = self.model(torch.tensor([[token]]), cache=step.cache, use_cache=True)
        return out
