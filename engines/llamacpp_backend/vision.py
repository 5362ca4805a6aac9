"""Qwen3-VL-Reranker on GGUF: the text model (architecture qwen3vl) and its projector (mmproj)
through llama.cpp's multimodal library, mtmd, in-process (llama_cpp.mtmd_cpp).

The prompt is Ippon's own (engines.qwen3_vl), never the template inside the file; it goes to
mtmd part by part (`mtmd_tokenize_from_parts`) so that only the prompt's own text is parsed
for special tokens, and images as RGB pixels already resized as the reference does. mtmd
encodes each image, places M-RoPE positions and decodes; the score is read off the last
position's logits.

The reranker keeps what its vision encoder made of each image (qwen3_vl.EncodedImages, by the
image's pixels); the digest rides on mtmd's bitmap id, and a kept encoding is decoded with
`mtmd_helper_decode_image_chunk`.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import qwen3, qwen3_vl
from ..qwen3_vl import IMAGE_CACHE_BYTES, EncodedImages, pixels_digest
from ..base import Candidate, CandidateFailure
from ..errors import EngineError, ModelFileError, WrongModelError
from .gguf_header import read_gguf_header
from .loading import default_threads, import_llama_cpp
from .vision_prefix import Unit, prompt_units, shared_prefix

_PROJECTOR = "qwen3vl_merger"


def find_projector(model: Path, mmproj: str | Path | None) -> Path:
    """The projector given, else `mmproj-<model file name>` beside the model (as `ippon convert` writes it)."""
    path = Path(mmproj).expanduser() if mmproj is not None else model.with_name(f"mmproj-{model.name}")
    if not path.is_file():
        how = "" if mmproj is not None else " (pass --mmproj FILE, or keep mmproj-<model>.gguf beside the model)"
        raise ModelFileError(f"{path}: no such projector file{how}")
    return path


def check_pair(model: Path, projector: Path) -> None:
    """Refuse, naming both files, a text model and projector that do not belong together."""
    meta = read_gguf_header(model)
    if meta.get("general.architecture") != "qwen3vl":
        raise WrongModelError(f"{model}: architecture {meta.get('general.architecture')!r}; a Qwen3-VL reranker "
                              "is a qwen3vl text model (convert the checkpoint with `ippon convert --to gguf`)")
    proj = read_gguf_header(projector)
    if proj.get("general.architecture") != "clip" or proj.get("clip.projector_type") != _PROJECTOR:
        raise WrongModelError(f"{projector}: not a Qwen3-VL projector (architecture "
                              f"{proj.get('general.architecture')!r}, projector {proj.get('clip.projector_type')!r})")
    width = meta.get("qwen3vl.embedding_length")
    if proj.get("clip.vision.projection_dim") != width:
        raise WrongModelError(f"{projector}: this projector makes {proj.get('clip.vision.projection_dim')}-wide "
                              f"image embeddings but {model} takes {width}: they are not from the same model")
    deepstack = sum(bool(x) for x in proj.get("clip.vision.is_deepstack_layers") or ())
    if "clip.vision.is_deepstack_layers" in proj and isinstance(proj["clip.vision.is_deepstack_layers"], list) \
            and deepstack != meta.get("qwen3vl.n_deepstack_layers", 0):
        raise WrongModelError(f"{projector}: {deepstack} deepstack layers, but {model} expects "
                              f"{meta.get('qwen3vl.n_deepstack_layers')}: they are not from the same model")


class _MtmdModel:
    """A qwen3vl text model and its projector, loaded together; one prompt evaluated at a time."""

    def __init__(self, path: str | Path, *, mmproj: str | Path | None, max_tokens: int, batch_size: int,
                 n_threads: int | None, embedding: bool) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise ModelFileError(f"{self.path}: no such model file")
        self.projector = find_projector(self.path, mmproj)
        check_pair(self.path, self.projector)
        self.name = self.path.name
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._lib = import_llama_cpp()
        from llama_cpp import mtmd_cpp

        self._mtmd = mtmd_cpp
        threads = n_threads or default_threads()
        # The text model and the vision encoder on the GPU when this build has one (Metal, CUDA, Vulkan),
        # as the text-only engines do (loading.open_llama).
        gpu = bool(self._lib.llama_supports_gpu_offload())
        try:
            # An embedder reads the last position's hidden state (pooling none: mtmd decodes in several
            # calls, and only the last call's last token is the one pooled).
            self._llama = self._lib.Llama(model_path=str(self.path), n_ctx=max_tokens, n_batch=max_tokens,
                                          n_ubatch=max_tokens, n_threads=threads, n_threads_batch=threads,
                                          n_gpu_layers=-1 if gpu else 0, flash_attn=True, embedding=embedding,
                                          pooling_type=0, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{self.path}: llama.cpp could not load it ({exc}); the file may be damaged or "
                                 "from a newer llama.cpp") from exc
        params = mtmd_cpp.mtmd_context_params_default()
        params.use_gpu = gpu
        params.print_timings = False
        params.warmup = False
        params.n_threads = threads
        params.image_min_tokens = qwen3_vl.MIN_IMAGE_TOKENS
        params.image_max_tokens = qwen3_vl.MAX_IMAGE_TOKENS
        _silence_mtmd(mtmd_cpp)
        model = self._llama._model.model  # noqa: SLF001
        self._ctx = mtmd_cpp.mtmd_init_from_file(str(self.projector).encode(), model, params)
        if not self._ctx:
            self._llama.close()
            raise WrongModelError(f"{self.projector}: llama.cpp could not load this projector for {self.path}")

    def _single_token(self, text: str) -> int:
        ids = self._llama.tokenize(text.encode(), add_bos=False, special=False)
        if len(ids) != 1:
            raise WrongModelError(f"{self.path}: the vocabulary has no single {text!r} token; not a Qwen3-VL model")
        return ids[0]

    def close(self) -> None:
        if getattr(self, "_ctx", None):
            self._mtmd.mtmd_free(self._ctx)
            self._ctx = None
        if getattr(self, "_llama", None) is not None:
            self._llama.close()
            self._llama = None

    def _evaluate(self, parts: list[qwen3_vl.PromptPart], pixels: list[Any]) -> Any:
        """Decode one prompt from an empty cache; the llama.cpp context, its last position an output."""
        lib, mtmd = self._lib, self._mtmd
        with _Chunks(self, parts, pixels) as chunks:
            n_tokens = mtmd.mtmd_helper_get_n_tokens(chunks.handle)
            if n_tokens > self.max_tokens:
                raise EngineError(f"{self.name}: the prompt takes {n_tokens} tokens, more than the "
                                  f"{self.max_tokens} the context holds")
            ctx = self._llama._ctx.ctx  # noqa: SLF001
            lib.llama_memory_clear(lib.llama_get_memory(ctx), True)
            new_past = lib.llama_pos(0)
            rc = mtmd.mtmd_helper_eval_chunks(self._ctx, ctx, chunks.handle, 0, 0, self.max_tokens, True,
                                              ctypes.byref(new_past))
            if rc != 0:
                raise EngineError(f"{self.name}: llama.cpp failed to evaluate the prompt (code {rc})")
            return ctx

    def _prompt_ids(self, parts: list[qwen3_vl.PromptPart], pixels: list[Any]) -> list[int]:
        with _Chunks(self, parts, pixels) as chunks:
            return chunks.token_ids()


class LlamaCppVisionReranker(_MtmdModel):
    """Qwen3-VL-Reranker on a qwen3vl GGUF and its mmproj projector."""

    def __init__(self, path: str | Path, *, mmproj: str | Path | None = None, max_tokens: int = 4096,
                 batch_size: int = 8, n_threads: int | None = None, image_cache_bytes: int = IMAGE_CACHE_BYTES) -> None:
        super().__init__(path, mmproj=mmproj, max_tokens=max_tokens, batch_size=batch_size, n_threads=n_threads,
                         embedding=False)
        self._yes = self._single_token("yes")
        self._no = self._single_token("no")
        # Floats per image position the text model takes (Qwen3-VL: its width times 1 + deepstack layers).
        self._n_embd_inp = self._lib.llama_model_n_embd_inp(self._llama._model.model)  # noqa: SLF001
        self.encoded = EncodedImages(image_cache_bytes)

    def score(self, query: str, candidates: Sequence[Candidate], *, instruction: str | None = None,
              query_images: Sequence[str | Path] = (), failures: list[CandidateFailure] | None = None) -> np.ndarray:
        query_pixels = [qwen3_vl.load_image(p) for p in query_images]  # a bad query image fails the call
        scores = np.full(len(candidates), np.nan, dtype=np.float32)
        ready: list[tuple[int, list[qwen3_vl.PromptPart], list[Any]]] = []
        for i, candidate in enumerate(candidates):
            try:
                pixels = query_pixels + ([qwen3_vl.load_image(candidate.image)] if candidate.image else [])
            except qwen3_vl.ImageInputError as exc:
                if failures is None:
                    raise
                failures.append(CandidateFailure(i, str(exc)))
                continue
            parts, _ = qwen3_vl.vl_rerank_prompt(query, len(query_pixels), candidate, instruction)
            ready.append((i, parts, pixels))
        for start in range(0, len(ready), self.batch_size):
            batch = ready[start:start + self.batch_size]
            try:
                diffs = self._batch_logit_diffs(batch, n_query_images=len(query_pixels))
            except EngineError:
                if len(batch) == 1 and failures is None:
                    raise
                diffs = self._one_by_one(batch, failures)  # find the candidate that failed, score the others
            for (i, _, _), diff in zip(batch, diffs, strict=True):
                scores[i] = qwen3.p_yes(np.array([diff]), np.array([0.0]))[0]
        return scores

    def _one_by_one(self, batch: list[tuple[int, list[qwen3_vl.PromptPart], list[Any]]],
                    failures: list[CandidateFailure] | None) -> list[float]:
        diffs = []
        for i, parts, pixels in batch:
            try:
                diffs.append(self._logit_diff(parts, pixels))
            except EngineError as exc:
                if failures is None:
                    raise
                failures.append(CandidateFailure(i, str(exc)))
                diffs.append(float("nan"))
        return diffs

    def _batch_logit_diffs(self, batch: list[tuple[int, list[qwen3_vl.PromptPart], list[Any]]], *,
                           n_query_images: int) -> list[float]:
        """logit(yes) - logit(no) per prompt; what they all start with decoded once (vision_prefix.py)."""
        lib, mtmd = self._lib, self._mtmd
        with contextlib.ExitStack() as stack:
            prompts = []
            for _, parts, pixels in batch:
                chunks = stack.enter_context(_Chunks(self, parts, pixels))
                n_tokens = mtmd.mtmd_helper_get_n_tokens(chunks.handle)
                if n_tokens > self.max_tokens:
                    raise EngineError(f"{self.name}: the prompt takes {n_tokens} tokens, more than the "
                                      f"{self.max_tokens} the context holds")
                prompts.append(prompt_units(mtmd, chunks.handle))
            whole, partial = shared_prefix(prompts, n_query_images)
            ctx = self._llama._ctx.ctx  # noqa: SLF001
            memory = lib.llama_get_memory(ctx)
            lib.llama_memory_clear(memory, True)
            position = 0
            for unit in prompts[0][:whole]:
                position = self._decode_unit(unit, unit.tokens, position, logits=False)
            if partial:
                position = self._decode_unit(prompts[0][whole], prompts[0][whole].tokens[:partial], position,
                                             logits=False)
            diffs = []
            for units in prompts:
                lib.llama_memory_seq_rm(memory, 0, position, -1)  # the previous prompt's own part
                at, rest = position, units[whole:]
                for k, unit in enumerate(rest):
                    tokens = unit.tokens[partial:] if k == 0 and unit.tokens is not None else unit.tokens
                    if tokens is not None and not tokens:
                        continue
                    at = self._decode_unit(unit, tokens, at, logits=k == len(rest) - 1)
                logits = lib.llama_get_logits_ith(ctx, -1)
                diffs.append(float(logits[self._yes]) - float(logits[self._no]))
            return diffs

    def _decode_unit(self, unit: Unit, tokens: Sequence[int] | None, position: int, *, logits: bool) -> int:
        """Decode text tokens (or an image chunk) at `position`; the position after it."""
        if tokens is None:
            embeddings = self._image_embeddings(unit.chunk)
            new_position = self._lib.llama_pos(0)
            rc = self._mtmd.mtmd_helper_decode_image_chunk(
                self._ctx, self._llama._ctx.ctx, unit.chunk,  # noqa: SLF001
                embeddings.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), position, 0, self.max_tokens,
                ctypes.byref(new_position), self._mtmd.mtmd_helper_post_decode_callback(0), None)
            if rc != 0:
                raise EngineError(f"{self.name}: llama.cpp failed to evaluate an image (code {rc})")
            return int(new_position.value)
        batch = self._llama._batch  # noqa: SLF001 - the library's own batch, as the text engines use it
        batch.reset()
        batch.add_sequence(list(tokens), 0, False)
        for i in range(len(tokens)):
            batch.batch.pos[i] = position + i  # text positions: the same on every M-RoPE axis
        batch.batch.logits[len(tokens) - 1] = logits
        try:
            self._llama._ctx.decode(batch)  # noqa: SLF001
        except RuntimeError as exc:
            raise EngineError(f"{self.name}: llama.cpp failed to evaluate the prompt ({exc})") from exc
        return position + len(tokens)

    def _image_embeddings(self, chunk: Any) -> np.ndarray:
        """What the vision encoder makes of an image chunk: from the cache when these pixels were seen."""
        mtmd = self._mtmd
        key = mtmd.mtmd_input_chunk_get_id(chunk)  # the pixels' digest, set on the bitmap by _Chunks
        cached = self.encoded.get(key)
        if cached is not None:
            return cached
        rc = mtmd.mtmd_encode_chunk(self._ctx, chunk)
        if rc != 0:
            raise EngineError(f"{self.name}: llama.cpp failed to encode an image (code {rc})")
        size = mtmd.mtmd_input_chunk_get_n_tokens(chunk) * self._n_embd_inp
        embeddings = np.ctypeslib.as_array(mtmd.mtmd_get_output_embd(self._ctx), shape=(size,)).copy()
        self.encoded.put(key, embeddings, embeddings.nbytes)
        return embeddings

    def prompt_ids(self, query: str, candidate: Candidate, *, instruction: str | None = None,
                   query_images: Sequence[str | Path] = ()) -> list[int]:
        """The prompt's token ids, -1 for each image embedding position (for checks against the reference)."""
        pixels = [qwen3_vl.load_image(p) for p in [*query_images, *([candidate.image] if candidate.image else [])]]
        parts, _ = qwen3_vl.vl_rerank_prompt(query, len(query_images), candidate, instruction)
        return self._prompt_ids(parts, pixels)

    def _logit_diff(self, parts: list[qwen3_vl.PromptPart], pixels: list[Any]) -> float:
        logits = self._lib.llama_get_logits_ith(self._evaluate(parts, pixels), -1)
        return float(logits[self._yes]) - float(logits[self._no])


class LlamaCppVisionEmbedder(_MtmdModel):
    """Qwen3-VL-Embedding on a qwen3vl GGUF and its projector: the last token's final hidden state, L2-normalised."""

    def __init__(self, path: str | Path, *, mmproj: str | Path | None = None, max_tokens: int = 4096,
                 batch_size: int = 8, n_threads: int | None = None) -> None:
        super().__init__(path, mmproj=mmproj, max_tokens=max_tokens, batch_size=batch_size, n_threads=n_threads,
                         embedding=True)
        self.dim = self._llama.n_embd()
        self.min_dim = min(qwen3.MIN_EMBED_DIM, self.dim)

    def embed(self, items: Sequence[Candidate], *, instruction: str | None = None, dim: int | None = None,
              failures: list[CandidateFailure] | None = None) -> np.ndarray:
        def vector(item: Candidate) -> np.ndarray:
            pixels = [qwen3_vl.load_image(item.image)] if item.image is not None else []
            ctx = self._evaluate(qwen3_vl.vl_embed_prompt(item, 0, instruction), pixels)
            return np.ctypeslib.as_array(self._lib.llama_get_embeddings_ith(ctx, -1), shape=(self.dim,))

        return qwen3_vl.embed_each(items, vector, full=self.dim, dim=dim, model=self.name, failures=failures)

    def prompt_ids(self, item: Candidate, *, instruction: str | None = None) -> list[int]:
        pixels = [qwen3_vl.load_image(item.image)] if item.image is not None else []
        return self._prompt_ids(qwen3_vl.vl_embed_prompt(item, 0, instruction), pixels)


class _Chunks:
    """mtmd's tokenized prompt for one set of parts and images, freed on exit."""

    def __init__(self, model: _MtmdModel, parts: list[qwen3_vl.PromptPart], pixels: list[Any]) -> None:
        self._mtmd = mtmd = model._mtmd  # noqa: SLF001
        self._keep: list[Any] = []
        self._bitmaps: list[Any] = []
        pointers = []
        for part in parts:
            if isinstance(part, qwen3_vl.ImageSlot):
                image = np.ascontiguousarray(np.asarray(pixels[part.index], dtype=np.uint8))
                data = image.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
                bitmap = mtmd.mtmd_bitmap_init(image.shape[1], image.shape[0], data)
                mtmd.mtmd_bitmap_set_id(bitmap, pixels_digest(image).encode())
                self._keep.append(image)
                self._bitmaps.append(bitmap)
                entry = mtmd.mtmd_input_part(None, bitmap)
            else:
                raw = part.text.encode("utf-8")
                text = mtmd.mtmd_input_text(raw, len(raw), False, isinstance(part, qwen3_vl.Special))
                self._keep += [raw, text]
                entry = mtmd.mtmd_input_part(ctypes.pointer(text), None)
            self._keep.append(entry)
            pointers.append(ctypes.pointer(entry))
        array = (ctypes.POINTER(mtmd.mtmd_input_part) * len(pointers))(*pointers)
        self.handle = mtmd.mtmd_input_chunks_init()
        rc = mtmd.mtmd_tokenize_from_parts(model._ctx, self.handle, array, len(pointers), False)  # noqa: SLF001
        if rc != 0:
            self.close()
            raise EngineError(f"{model.name}: llama.cpp could not prepare the prompt's images (code {rc})")

    def token_ids(self) -> list[int]:
        mtmd, ids = self._mtmd, []
        for i in range(mtmd.mtmd_input_chunks_size(self.handle)):
            chunk = mtmd.mtmd_input_chunks_get(self.handle, i)
            if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
                n = ctypes.c_size_t()
                tokens = mtmd.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
                ids += [int(tokens[j]) for j in range(n.value)]
            else:
                ids += [-1] * mtmd.mtmd_input_chunk_get_n_tokens(chunk)
        return ids

    def close(self) -> None:
        if self.handle:
            self._mtmd.mtmd_input_chunks_free(self.handle)
            self.handle = None
        for bitmap in self._bitmaps:
            self._mtmd.mtmd_bitmap_free(bitmap)
        self._bitmaps = []

    def __enter__(self) -> _Chunks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SILENT_LOG = None


def _silence_mtmd(mtmd: Any) -> None:
    """mtmd logs every projector key, prompt part and image to stderr; none of it is for the user."""
    global _SILENT_LOG  # noqa: PLW0603 - one callback for the process, kept alive for C
    import llama_cpp

    if _SILENT_LOG is None:
        _SILENT_LOG = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
    mtmd.mtmd_log_set(_SILENT_LOG, ctypes.c_void_p(0))
    mtmd.mtmd_helper_log_set(_SILENT_LOG, ctypes.c_void_p(0))
