"""How fast this machine runs each model: tokens of prompt read per second, measured once per
model file, device and thread count, and kept in the data directory (`speeds.json`).

A measurement is a small fixed workload on the model just loaded, run once to warm up (the
first calls allocate buffers and would read as half the speed) and once timed — a few
seconds on a CPU for the real 0.6B reranker and 1.7B LLM — so the latency budget works from what this machine does, not
from a table of guesses. A model file that changes (size or modification time), another
device or another thread count is measured again. Remote models are not measured: their
speed is the server's and varies with its load.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from engines import ChatSettings, Message
from engines.devices import device_of

SpeedRole = Literal["chat", "embedder", "reranker", "vision_reranker"]

# A fixed Japanese workload: the same tokens every time, about what a question and a passage are.
_PASSAGE = ("保守点検は半年に一度、専門の技術者が行います。点検では耐熱性能の確認、配線の絶縁抵抗の測定、"
            "冷却ファンの清掃を実施し、結果を点検記録に残します。異常が見つかった場合は、部品を交換してから"
            "再度試験を行い、所定の基準を満たすことを確認します。")
_QUESTION = "保守点検ではどのような項目を確認しますか？"


@dataclass(frozen=True, slots=True)
class Speed:
    tokens_per_s: float  # prompt (prefill) tokens read per second
    device: str
    measured_at: float  # seconds since the epoch
    # A VL reranker's image positions per second, a whole image candidate timed (its vision encoder
    # and the model reading its image positions); None for every other model.
    image_tokens_per_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_identity(model: str | Path) -> str:
    """A file or folder by path, size and modification time (a folder by its largest file)."""
    path = Path(str(model)).expanduser()
    try:
        if path.is_dir():
            files = [p for p in path.iterdir() if p.is_file()]
            biggest = max(files, key=lambda p: p.stat().st_size) if files else path
            stat = biggest.stat()
        else:
            stat = path.stat()
    except OSError:
        return str(model)  # a remote name
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


class SpeedCache:
    """speeds.json: one entry per (role, model identity, device, threads); written atomically."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: measure again, nothing is lost but a second
        return data if isinstance(data, dict) else {}

    @staticmethod
    def key(role: SpeedRole, model: str | Path, *, device: str, threads: int) -> str:
        return f"{role}|{model_identity(model)}|{device}|{threads}"

    def get(self, key: str) -> Speed | None:
        entry = self._load().get(key)
        try:
            image = entry.get("image_tokens_per_s")
            return Speed(float(entry["tokens_per_s"]), str(entry["device"]), float(entry["measured_at"]),
                         None if image is None else float(image))
        except (TypeError, KeyError, ValueError, AttributeError):
            return None

    def put(self, key: str, speed: Speed) -> None:
        data = self._load()
        data[key] = speed.as_dict()
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(self.file.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.file)


def measure(role: SpeedRole, model: Any) -> Speed:
    """Prefill tokens per second of a loaded model, on a small fixed workload."""
    device = device_of(model)
    if role == "vision_reranker":
        return _measure_vision_reranker(model, device)
    if role == "reranker":
        documents = [_PASSAGE * 2, _PASSAGE, _PASSAGE[40:] * 2, _PASSAGE[:90]]
        model.score(_QUESTION, documents)  # warm-up: first-call allocations (batch, cache) are not speed
        tokens = sum(len(model.token_ids(_QUESTION, d)) for d in documents)
        start = time.perf_counter()
        model.score(_QUESTION, documents)
        elapsed = time.perf_counter() - start
    elif role == "embedder":
        texts = [_PASSAGE * 2, _PASSAGE, _PASSAGE[:90]]
        model.embed(texts)
        tokens = sum(model.count_tokens(texts))
        start = time.perf_counter()
        model.embed(texts)
        elapsed = time.perf_counter() - start
    else:
        # A prompt of its own, so no cached prefix of an earlier question makes it look faster.
        list(model.chat([Message("user", _QUESTION)], settings=ChatSettings(max_tokens=1, temperature=0.0)))
        stamp = f"（計測 {time.time_ns()}）"
        messages = [Message("user", f"{stamp}\n{_PASSAGE * 3}\n{_QUESTION}")]
        done = list(model.chat(messages, settings=ChatSettings(max_tokens=1, temperature=0.0)))[-1]
        tokens, elapsed = done.stats.prompt_tokens, done.stats.time_to_first_token_s
    return Speed(tokens_per_s=tokens / max(elapsed, 1e-6), device=device, measured_at=time.time())


def _measure_vision_reranker(model: Any, device: str) -> Speed:
    """A Qwen3-VL reranker: text candidates as a reranker's, then one image candidate of MEASURE_IMAGE_SIDE
    pixels square (another image for the warm-up, so no cached encoding of it makes it look faster)."""
    import tempfile

    from engines import Candidate
    from engines.qwen3_vl import image_tokens

    documents = [Candidate(text=t) for t in (_PASSAGE * 2, _PASSAGE, _PASSAGE[40:] * 2, _PASSAGE[:90])]
    model.score(_QUESTION, documents)
    tokens = sum(len(model.prompt_ids(_QUESTION, d)) for d in documents)
    start = time.perf_counter()
    model.score(_QUESTION, documents)
    text_speed = tokens / max(time.perf_counter() - start, 1e-6)
    with tempfile.TemporaryDirectory(prefix="ippon-speed-") as folder:
        warm, timed = (_noise_image(Path(folder) / f"{k}.png", seed=k) for k in range(2))
        model.score(_QUESTION, [Candidate(image=warm)])
        start = time.perf_counter()
        model.score(_QUESTION, [Candidate(image=timed)])
        elapsed = time.perf_counter() - start
    image_speed = image_tokens(MEASURE_IMAGE_SIDE, MEASURE_IMAGE_SIDE) / max(elapsed, 1e-6)
    return Speed(text_speed, device, time.time(), image_speed)


MEASURE_IMAGE_SIDE = 512  # 256 image positions: a screenshot's worth


def _noise_image(path: Path, *, seed: int) -> Path:
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (MEASURE_IMAGE_SIDE, MEASURE_IMAGE_SIDE, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def cached_speed(cache: SpeedCache, role: SpeedRole, name: str | Path, model: Any, *, threads: int) -> Speed | None:
    """The model's speed from the cache, measured now if it is not there; None for remote models."""
    device = device_of(model)
    if device == "remote":
        return None
    key = cache.key(role, name, device=device, threads=threads)
    speed = cache.get(key)
    if speed is None:
        speed = measure(role, model)
        cache.put(key, speed)
    return speed
