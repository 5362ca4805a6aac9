"""Qwen3 checkpoint -> GGUF for llama.cpp: LLM, embedder (pooling LAST) and reranker (pooling RANK).

Tensors are streamed: the header and tensor table are written first from shapes alone, then
every core reads row slices of the mapped source, converts them and writes each at its place
in the file, a few slices ahead of the progress report. Peak memory is a few slices, not the
model (gguf's GGUFWriter.add_tensor would hold them all).
F32/F16/BF16/Q8_0 are written in-process, with ggml's own kernels where llama-cpp-python is
installed and the `gguf` package's numpy quantizers otherwise; K-quants go
through llama.cpp's own quantizer (`llama_model_quantize`) from an exact intermediate file,
because llama.cpp's per-tensor type mixture for Q4_K_M and friends lives only there.
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checkpoint import Checkpoint, ModelKind, sampling_defaults, widen_to_float32
from .errors import ConversionError, MissingDependencyError, TokenizerError
from .events import ProgressCallback, ProgressReporter
from .ggml_kernels import quantize_with_ggml
from .gguf_vocab import write_tokenizer_metadata
from .output import SliceWriter, reserve_file

IN_PROCESS_TYPES = ("f32", "f16", "bf16", "q8_0")
LLAMA_QUANT_TYPES = ("q4_k_m", "q5_k_m", "q6_k")
GGUF_TYPES = IN_PROCESS_TYPES + LLAMA_QUANT_TYPES


@dataclass(frozen=True, slots=True)
class _PlannedTensor:
    gguf_name: str
    shape: tuple[int, ...]  # PyTorch (row-major) order
    qtype: "gguf.GGMLQuantizationType"  # noqa: F821 - gguf is imported lazily
    source: str
    rows: tuple[int, ...] | None = None  # take only these rows of the source (the reranker head)
    # A small tensor derived from the whole source (a Qwen3-VL patch embedding's temporal half).
    transform: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def nbytes(self) -> int:
        import gguf

        block, type_size = gguf.GGML_QUANT_SIZES[self.qtype]
        n = int(np.prod(self.shape))
        return n // block * type_size

    @property
    def row_bytes(self) -> int:
        return self.nbytes // (self.shape[0] if self.shape else 1)


def gguf_output_bytes(ckpt: Checkpoint, quant: str) -> int:
    """Disk the conversion needs at its peak (for K-quants, the intermediate file too)."""
    _check_type(quant)
    if quant in IN_PROCESS_TYPES:
        return sum(t.nbytes for t in _plan_tensors(ckpt, quant))
    return sum(t.nbytes for t in _plan_tensors(ckpt, _intermediate_type(ckpt))) * 3 // 2


def write_gguf(ckpt: Checkpoint, path: Path, *, quant: str = "f16", progress: ProgressCallback | None = None,
               cancel: threading.Event | None = None, arch: str = "qwen3",
               metadata: Callable[["gguf.GGUFWriter"], None] | None = None) -> None:  # noqa: F821
    """Write `ckpt` as one GGUF file at `path` (the caller makes the output atomic)."""
    _check_type(quant)
    if quant in IN_PROCESS_TYPES:
        _write_gguf(ckpt, path, _plan_tensors(ckpt, quant), quant, progress=progress, cancel=cancel, arch=arch,
                    metadata=metadata)
        return
    intermediate = _intermediate_type(ckpt)
    inter_path = path.with_name(path.name + ".intermediate")
    try:
        _write_gguf(ckpt, inter_path, _plan_tensors(ckpt, intermediate), intermediate,
                    progress=progress, cancel=cancel, arch=arch, metadata=metadata)
        _llama_quantize(inter_path, path, quant, progress=progress, cancel=cancel)
    finally:
        inter_path.unlink(missing_ok=True)


def _check_type(quant: str) -> None:
    if quant not in GGUF_TYPES:
        raise ConversionError(f"unknown GGUF type {quant!r}; choose one of {', '.join(GGUF_TYPES)}")


def _intermediate_type(ckpt: Checkpoint) -> str:
    """K-quants start from an exact file: BF16 when the source is BF16, else F32."""
    return "bf16" if all(t.dtype == "BF16" for t in ckpt.tensors.values()) else "f32"


def _plan_tensors(ckpt: Checkpoint, quant: str) -> list[_PlannedTensor]:
    import gguf

    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN3, ckpt.dims.num_layers)
    choose = _type_chooser(quant)
    plan: list[_PlannedTensor] = []
    for name, entry in ckpt.tensors.items():
        if name == "lm_head.weight" and ckpt.kind is not ModelKind.LLM:
            continue  # an embedder has no head; a reranker's is replaced by cls.output below
        gguf_name = name_map.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ConversionError(f"{entry.file}: no GGUF name for tensor {name}")
        plan.append(_PlannedTensor(gguf_name, entry.shape, choose(gguf_name, entry.shape), name))
    if ckpt.kind is ModelKind.RERANKER:
        # llama.cpp's RANK pooling multiplies the last hidden state by cls.output and takes a
        # softmax over its two rows: with the "yes" and "no" rows of the LM head that is
        # exactly the reference P(yes) = softmax(logit_yes, logit_no)[0].
        tok = ckpt.tokenizer
        rows = (tok.single_token_id("yes"), tok.single_token_id("no"))
        head = "lm_head.weight" if ckpt.has_lm_head else "model.embed_tokens.weight"
        plan.append(_PlannedTensor("cls.output.weight", (2, ckpt.dims.hidden_size),
                                   gguf.GGMLQuantizationType.F32, head, rows))
    return plan


def _type_chooser(quant: str) -> Callable[[str, tuple[int, ...]], "gguf.GGMLQuantizationType"]:  # noqa: F821
    import gguf

    T = gguf.GGMLQuantizationType
    matrix_type = {"f32": T.F32, "f16": T.F16, "bf16": T.BF16, "q8_0": T.Q8_0}[quant]

    def choose(gguf_name: str, shape: tuple[int, ...]) -> gguf.GGMLQuantizationType:
        if len(shape) == 1:
            return T.F32  # norms stay exact, as llama.cpp expects
        block = gguf.GGML_QUANT_SIZES[matrix_type][0]
        if shape[-1] % block:
            return T.F16  # rows that do not fill whole blocks cannot be quantized
        return matrix_type

    return choose


def _file_type(quant: str) -> int:
    import gguf

    F = gguf.LlamaFileType
    return {"f32": F.ALL_F32, "f16": F.MOSTLY_F16, "bf16": F.MOSTLY_BF16, "q8_0": F.MOSTLY_Q8_0,
            "q4_k_m": F.MOSTLY_Q4_K_M, "q5_k_m": F.MOSTLY_Q5_K_M, "q6_k": F.MOSTLY_Q6_K}[quant]


def _write_gguf(ckpt: Checkpoint, path: Path, plan: list[_PlannedTensor], quant: str, *,
                progress: ProgressCallback | None, cancel: threading.Event | None, arch: str = "qwen3",
                metadata: Callable[["gguf.GGUFWriter"], None] | None = None) -> None:  # noqa: F821
    """`metadata`, when given, writes every key instead of the Qwen3 model and tokenizer keys."""
    import gguf

    writer = _fast_array_writer()(path, arch)
    if metadata is not None:
        metadata(writer)
    else:
        _write_model_metadata(writer, ckpt, quant)
        try:
            write_tokenizer_metadata(writer, ckpt)
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenizerError(f"{ckpt.tokenizer.path}: cannot build the GGUF vocabulary: {exc}") from exc
    for t in plan:
        if t.qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            np_dtype = np.float32 if t.qtype == gguf.GGMLQuantizationType.F32 else np.float16
            writer.add_tensor_info(t.gguf_name, t.shape, np.dtype(np_dtype), t.nbytes)
        else:
            byte_shape = gguf.quant_shape_to_byte_shape(t.shape, t.qtype)
            writer.add_tensor_info(t.gguf_name, byte_shape, np.dtype(np.uint8), t.nbytes, raw_dtype=t.qtype)
    reporter = ProgressReporter(stage="convert", tensors_total=len(plan), bytes_total=sum(t.nbytes for t in plan),
                                progress=progress, cancel=cancel)
    reporter.check_cancelled()
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        writer.flush()
        data_start = writer.ggml_pad(writer.fout[0].tell(), writer.data_alignment)
    finally:
        writer.close()
    # The tensor data as GGUFWriter lays it out: each tensor at the offset its table entry
    # gives, padded to the alignment; the padding stays zero.
    offsets, size = [], 0
    for t in plan:
        offsets.append(size)
        size += writer.ggml_pad(t.nbytes, writer.data_alignment)
    reserve_file(path, data_start + size)
    with SliceWriter(path) as out, ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        try:
            for t, offset in zip(plan, offsets, strict=True):
                for job in _submit_slices(ckpt, t, out, data_start + offset, pool):
                    job.result()
                reporter.advance(t.gguf_name, t.nbytes)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _submit_slices(ckpt: Checkpoint, t: _PlannedTensor, out: SliceWriter, offset: int,
                   pool: ThreadPoolExecutor) -> Iterator[Future[None]]:
    """Jobs converting the tensor slice by slice and writing each at its place from `offset`
    in the file, a bounded few ahead: every core reads, quantizes and writes its own slices
    (mapped reads, ggml's kernels and pwrite all release the GIL)."""
    if t.rows is not None:  # the reranker head: two rows picked out of the vocabulary
        out.write(np.concatenate([ckpt.read(t.source, r, r + 1) for r in t.rows]).astype(np.float32), offset)
        return
    if t.transform is not None:
        import gguf

        derived = t.transform(ckpt.read(t.source))
        out.write(derived.astype(np.float16 if t.qtype == gguf.GGMLQuantizationType.F16 else np.float32), offset)
        return
    window = 2 * (os.cpu_count() or 1)
    pending: deque[Future[None]] = deque()
    for start, stop in ckpt.row_chunks(t.source):
        pending.append(pool.submit(_convert_slice, ckpt, t, start, stop, out, offset + start * t.row_bytes))
        if len(pending) >= window:
            yield pending.popleft()
    yield from pending


# Each worker thread quantizes into its own buffer, reused slice after slice: memory that is
# already in the process (and in cache) is much cheaper to fill than fresh pages.
_scratch = threading.local()


def _convert_slice(ckpt: Checkpoint, t: _PlannedTensor, start: int, stop: int, out: SliceWriter,
                   offset: int) -> None:
    """Rows [start, stop) of the tensor, converted and written at `offset`."""
    import gguf

    T = gguf.GGMLQuantizationType
    stored = ckpt.tensors[t.source].dtype
    raw = ckpt.view_raw(t.source, start, stop)
    if t.qtype == T.BF16 and stored == "BF16":
        out.write(raw, offset)  # already BF16: copy the bits, no rounding
        return
    if t.qtype in (T.F16, T.Q8_0):
        size = t.row_bytes * (stop - start)
        buffer = getattr(_scratch, "buffer", None)
        if buffer is None or buffer.size < size:
            buffer = _scratch.buffer = np.empty(size, dtype=np.uint8)
        converted = quantize_with_ggml(raw, t.qtype, *gguf.GGML_QUANT_SIZES[t.qtype], bfloat16=stored == "BF16",
                                       out=buffer[:size])
        if converted is not None:
            out.write(converted, offset)
            return
    out.write(gguf.quants.quantize(widen_to_float32(raw, stored), t.qtype), offset)


@functools.cache
def _fast_array_writer() -> type:
    """GGUFWriter packing the 150k-entry token and merge arrays in one pass instead of one
    generic call per item (1.2 s of a 1.7B conversion); the bytes are the same."""
    import gguf

    V = gguf.GGUFValueType

    class FastArrayGGUFWriter(gguf.GGUFWriter):
        def _pack_val(self, val, vtype, add_vtype, sub_type=None):  # noqa: ANN001, ANN202 - gguf's signature
            if vtype != V.ARRAY or self.endianess != gguf.GGUFEndian.LITTLE or len(val) < 1024:
                return super()._pack_val(val, vtype, add_vtype, sub_type)
            ltype = sub_type or V.get_type(val[0])
            if ltype == V.STRING:
                encoded = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in val]
                body = b"".join(struct.pack("<Q", len(e)) + e for e in encoded)
            elif ltype == V.INT32:
                body = np.asarray(val, dtype="<i4").tobytes()
            else:
                return super()._pack_val(val, vtype, add_vtype, sub_type)
            prefix = struct.pack("<I", vtype) if add_vtype else b""
            return prefix + struct.pack("<IQ", ltype, len(val)) + body

    return FastArrayGGUFWriter


def _write_general(writer: "gguf.GGUFWriter", *, gguf_type: str, name: str, quant: str) -> None:  # noqa: F821
    """The general keys every file we write starts with, a model or a vision projector alike."""
    writer.add_type(gguf_type)
    writer.add_name(name)
    writer.add_file_type(_file_type(quant))


def _write_model_metadata(writer: "gguf.GGUFWriter", ckpt: Checkpoint, quant: str) -> None:  # noqa: F821
    import gguf

    d = ckpt.dims
    _write_general(writer, gguf_type=gguf.GGUFType.MODEL, name=ckpt.name, quant=quant)
    if quant not in ("f32", "f16", "bf16"):
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_context_length(d.context_length)
    writer.add_embedding_length(d.hidden_size)
    writer.add_block_count(d.num_layers)
    writer.add_feed_forward_length(d.intermediate_size)
    writer.add_head_count(d.num_heads)
    writer.add_head_count_kv(d.num_kv_heads)
    writer.add_key_length(d.head_dim)
    writer.add_value_length(d.head_dim)
    writer.add_rope_freq_base(d.rope_theta)
    writer.add_layer_norm_rms_eps(d.rms_norm_eps)
    # llama-server and llama-cli take these as their defaults (Qwen's recommended sampling).
    sampling = sampling_defaults(ckpt.path) if ckpt.kind is ModelKind.LLM else {}
    for key, add in (("temperature", writer.add_sampling_temp), ("top_k", writer.add_sampling_top_k),
                     ("top_p", writer.add_sampling_top_p), ("min_p", writer.add_sampling_min_p)):
        if key in sampling:
            add(sampling[key])
    if ckpt.kind is ModelKind.EMBEDDER:
        writer.add_pooling_type(gguf.PoolingType.LAST)
    elif ckpt.kind is ModelKind.RERANKER:
        writer.add_pooling_type(gguf.PoolingType.RANK)
        writer.add_classifier_output_labels(["yes", "no"])


def _llama_quantize(src: Path, dst: Path, quant: str, *, progress: ProgressCallback | None,
                    cancel: threading.Event | None) -> None:
    try:
        import llama_cpp
    except ImportError as exc:
        raise MissingDependencyError("K-quants (q4_k_m, q5_k_m, q6_k) use llama.cpp's quantizer: please install "
                                     "llama-cpp-python (pip install llama-cpp-python)") from exc
    reporter = ProgressReporter(stage="quantize", tensors_total=1, bytes_total=src.stat().st_size,
                                progress=progress, cancel=cancel)
    reporter.check_cancelled()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = _file_type(quant)
    params.nthread = os.cpu_count() or 1
    with _quiet_native_logs():
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0:
        raise ConversionError(f"{dst}: llama.cpp's quantizer failed to write {quant} (code {rc})")
    reporter.advance(quant, src.stat().st_size)


class _quiet_native_logs:
    """llama.cpp prints every tensor it quantizes to stderr; route its log to nowhere."""

    def __enter__(self) -> None:
        import llama_cpp

        self._callback = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))

    def __exit__(self, *exc: object) -> None:
        import llama_cpp
        from llama_cpp import _logger

        llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))
