"""ggml's SIMD quantizers agree with the gguf package's numpy reference."""

from __future__ import annotations

import gguf
import numpy as np

from converters import convert, ggml_kernels

T = gguf.GGMLQuantizationType


def test_f16_is_bit_identical_and_q8_0_agrees():
    data = np.random.default_rng(0).normal(0, 0.05, size=(64, 256)).astype(np.float32)
    f16 = ggml_kernels.quantize_with_ggml(data, T.F16, *gguf.GGML_QUANT_SIZES[T.F16])
    assert f16 is not None
    assert np.array_equal(f16.view(np.float16), data.astype(np.float16).reshape(-1))
    q8 = ggml_kernels.quantize_with_ggml(data, T.Q8_0, *gguf.GGML_QUANT_SIZES[T.Q8_0])
    ref = gguf.quants.quantize(data, T.Q8_0).reshape(-1)
    assert q8.shape == ref.shape and np.mean(q8 != ref) < 1e-4
    np.testing.assert_allclose(gguf.quants.dequantize(q8.reshape(64, -1), T.Q8_0),
                               gguf.quants.dequantize(ref.reshape(64, -1), T.Q8_0), atol=1e-3)


def test_half_precision_input_is_widened_exactly_piece_by_piece():
    # More elements than one cache-sized piece, and a last piece that is only partly filled.
    wide = np.random.default_rng(1).normal(0, 0.05, size=(3, ggml_kernels._PIECE + 96)).astype(np.float32)
    bf16_bits = (wide.view(np.uint32) >> 16).astype(np.uint16)  # truncated to bfloat16
    from_bf16 = (bf16_bits.astype(np.uint32) << 16).view(np.float32)
    f16 = wide.astype(np.float16)
    for qtype in (T.F16, T.Q8_0):
        sizes = gguf.GGML_QUANT_SIZES[qtype]
        assert np.array_equal(ggml_kernels.quantize_with_ggml(bf16_bits, qtype, *sizes, bfloat16=True),
                              ggml_kernels.quantize_with_ggml(from_bf16, qtype, *sizes))
        assert np.array_equal(ggml_kernels.quantize_with_ggml(f16, qtype, *sizes),
                              ggml_kernels.quantize_with_ggml(f16.astype(np.float32), qtype, *sizes))


def test_numpy_fallback_writes_the_same_f16_file(test_models, tmp_path, monkeypatch):
    fast = convert(test_models["llm-tied"], to="gguf", quant="f16", out=tmp_path / "fast.gguf")
    monkeypatch.setattr(ggml_kernels, "_ggml_cpu", lambda: None)
    slow = convert(test_models["llm-tied"], to="gguf", quant="f16", out=tmp_path / "slow.gguf")
    assert fast.output.read_bytes() == slow.output.read_bytes()


def test_fast_metadata_arrays_pack_the_same_bytes():
    from converters.gguf_convert import _fast_array_writer

    V = gguf.GGUFValueType
    writer = _fast_array_writer()(None, "qwen3")
    for values in ([f"トークン{i}" for i in range(3000)], list(range(3000))):
        assert writer._pack_val(values, V.ARRAY, True) == gguf.GGUFWriter._pack_val(writer, values, V.ARRAY, True)
