"""Bad models and bad input get clear errors naming the file and what was expected."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from engines import (CancelToken, ChatDone, ChatSettings, ContextOverflowError, EngineError, Message,
                     MissingBackendError, ModelFileError, WrongModelError, choose_backend, load_chat_model,
                     load_embedder, load_reranker)

from .conftest import options_for

LOADERS = {"chat": load_chat_model, "embedder": load_embedder, "reranker": load_reranker}
MODELS = {"chat": "llm-untied", "embedder": "embedder", "reranker": "reranker"}


@pytest.mark.parametrize("fmt", ["gguf", "mlx"])
@pytest.mark.parametrize(("given", "expected"), [("embedder", "chat"), ("chat", "reranker"), ("reranker", "embedder")])
def test_a_model_of_another_kind_is_refused(engine_models, fmt, given, expected):
    path = engine_models(MODELS[given], fmt)
    with pytest.raises(WrongModelError) as err:
        LOADERS[expected](path, **options_for(fmt))
    message = str(err.value)
    assert str(path) in message and "expected" in message
    assert {"chat": "chat model", "embedder": "Qwen3-Embedding", "reranker": "Qwen3-Reranker"}[expected] in message


def test_missing_files_are_named(tmp_path):
    for path, backend in ((tmp_path / "nope.gguf", "auto"), (tmp_path / "nope-mlx", "mlx")):
        with pytest.raises(ModelFileError, match=f"{path}: no such model"):
            load_chat_model(path, backend=backend)


def test_a_file_that_is_not_gguf_is_refused(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(WrongModelError, match=f"{fake}: not a GGUF file"):
        load_embedder(fake)


def test_mlx_folder_problems_are_named(tmp_path, engine_models):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelFileError, match=f"{empty}: config.json is missing"):
        load_chat_model(empty, backend="mlx")
    with pytest.raises(WrongModelError, match="takes a model folder"):
        load_chat_model(engine_models("llm-untied", "gguf"), backend="mlx")
    with pytest.raises(WrongModelError, match="takes a .gguf file"):
        load_chat_model(engine_models("llm-untied", "mlx"), backend="llamacpp")
    other = tmp_path / "llama"
    other.mkdir()
    (other / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(WrongModelError, match="model_type 'llama'"):
        load_embedder(other)


@pytest.mark.parametrize("fmt", ["gguf", "mlx"])
def test_context_overflow_is_an_error_not_a_truncation(engine_models, fmt):
    chat = load_chat_model(engine_models("llm-untied", fmt), n_ctx=64, **options_for(fmt))
    with pytest.raises(ContextOverflowError, match="more than the context window of 64"):
        list(chat.chat([Message("user", "長い質問です。" * 40)]))
    embedder = load_embedder(engine_models("embedder", fmt), max_tokens=32, **options_for(fmt))
    with pytest.raises(ContextOverflowError, match="text #2 is .* tokens long, more than the 32"):
        embedder.embed(["短い", "とても長い文書です。" * 20])
    reranker = load_reranker(engine_models("reranker", fmt), max_tokens=64, **options_for(fmt))
    with pytest.raises(ContextOverflowError, match="query and document #1"):
        reranker.score("質問", ["長い文書" * 50])


@pytest.mark.parametrize("fmt", ["gguf", "mlx"])
def test_cancel_stops_between_tokens(engine_models, fmt):
    chat = load_chat_model(engine_models("llm-untied", fmt), n_ctx=512, **options_for(fmt))
    cancel = CancelToken()
    events = []
    for event in chat.chat([Message("user", "こんにちは")], settings=ChatSettings(max_tokens=200, seed=1),
                           cancel=cancel):
        events.append(event)
        cancel.cancel()
    done = events[-1]
    assert isinstance(done, ChatDone) and done.stats.finish_reason == "cancelled"
    assert done.stats.generated_tokens < 5


@pytest.mark.parametrize("fmt", ["gguf", "mlx"])
def test_max_tokens_ends_with_reason_length(engine_models, fmt):
    chat = load_chat_model(engine_models("llm-untied", fmt), n_ctx=512, **options_for(fmt))
    done = list(chat.chat([Message("user", "こんにちは")], settings=ChatSettings(max_tokens=7, seed=3)))[-1]
    assert done.stats.generated_tokens == 7 and done.stats.finish_reason == "length"
    assert done.stats.prompt_tokens > 5 and done.stats.tokens_per_s > 0


@pytest.mark.parametrize("fmt", ["gguf", "mlx"])
def test_seeded_sampling_repeats(engine_models, fmt):
    chat = load_chat_model(engine_models("llm-untied", fmt), n_ctx=512, **options_for(fmt))
    settings = ChatSettings(max_tokens=12, seed=42, temperature=1.0)
    first, second = (list(chat.chat([Message("user", "こんにちは")], settings=settings))[-1] for _ in range(2))
    assert first.token_ids == second.token_ids


def test_backend_choice():
    assert choose_backend("model.gguf") == "llamacpp"
    assert choose_backend("qwen3", url="http://127.0.0.1:8080") == "remote"
    assert choose_backend("x.gguf", backend="mlx") == "mlx"
    with pytest.raises(EngineError, match="needs the server's URL"):
        choose_backend("qwen3", backend="remote")
    with pytest.raises(EngineError, match="unknown backend 'vllm'"):
        choose_backend("qwen3", backend="vllm")


def test_importing_engines_loads_no_runtime():
    code = ("import sys, engines, engines.registry; "
            "print(sorted(m for m in ('mlx', 'llama_cpp', 'torch', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_missing_library_says_what_to_install(engine_models, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(MissingBackendError, match="please install it"):
        load_embedder(engine_models("embedder", "gguf"))
    monkeypatch.setitem(sys.modules, "mlx.core", None)
    with pytest.raises(MissingBackendError, match="pip install mlx-lm"):
        load_embedder(engine_models("embedder", "mlx"))


def test_a_damaged_gguf_header_is_named(engine_models, tmp_path):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(engine_models("embedder", "gguf").read_bytes()[:200])
    with pytest.raises(WrongModelError, match=f"{cut}: the GGUF header is damaged"):
        load_embedder(cut)


# --- hostile model files (issue 12, item 10 and the tracebacks list) --------------------------


@pytest.mark.timeout(60)
def test_hostile_chat_templates_are_stopped_within_bounds(attack_corpus, monkeypatch):
    import time
    import tracemalloc

    from engines import chat_template, qwen3
    from engines.chat_template import ChatTemplateError

    monkeypatch.setattr(chat_template, "RENDER_SECONDS", 0.5)
    expected = {"repeat": "a repetition of 4,000,000,000 items", "center": "the filter center with a value",
                "ljust": "a call with a value", "format-width": "a format with a huge or variable width",
                "percent-width": "a %-format with a huge or variable width", "nested-range": "ran longer than 0.5 s",
                "huge-range": "a call with a value", "doubling": "a concatenation of over 8,000,000 characters",
                "macro-recursion": "recursed without end", "macro-doubling": "a concatenation of over 8,000,000 characters",
                "include": "TemplateNotFound: secret.txt", "syntax-error": "is not valid: Expected an expression",
                "deep-nesting": "nested too deeply to read",
                "replace-amplifier": "a call that would make over 8,000,000 characters",
                "join-amplifier": "the filter join would make over 8,000,000 characters",
                "indent-amplifier": "the filter indent would make over 8,000,000 characters",
                "printed-nesting": "printing a value of over 8,000,000 characters",
                "concatenated-nesting": "a concatenation of over 8,000,000 characters"}
    assert set(expected) == set(attack_corpus.HOSTILE_TEMPLATES)
    for name, source in attack_corpus.HOSTILE_TEMPLATES.items():
        tracemalloc.start()
        started = time.monotonic()
        try:
            with pytest.raises(ChatTemplateError, match=re.escape(expected[name])):
                qwen3.render_chat_prompt(source, [Message("user", "こんにちは")], thinking=False)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 200 * 2**20, (name, peak)
        assert time.monotonic() - started < 30, name  # a bound on the attack, not a speed measurement


def test_a_chat_template_cannot_write_a_prompt_beyond_the_output_cap(monkeypatch):
    from engines import chat_template, qwen3
    from engines.chat_template import ChatTemplateError

    monkeypatch.setattr(chat_template, "MAX_OUTPUT_CHARS", 10_000)
    source = "{% for m in messages %}{{ m.content }}{% endfor %}{% for i in range(N) %}{{ 'x' * 1000 }}{% endfor %}"
    with pytest.raises(ChatTemplateError, match="its output passed 10,000 characters"):
        qwen3.render_chat_prompt(source.replace("N", "100"), [Message("user", "hi")], thinking=False)
    assert qwen3.render_chat_prompt(source.replace("N", "5"), [Message("user", "hi")], thinking=False) \
        == "hi" + "x" * 5000


def test_a_hostile_template_in_a_model_folder_fails_the_chat_clearly(engine_models, tmp_path, monkeypatch):
    import shutil

    from engines import chat_template

    monkeypatch.setattr(chat_template, "RENDER_SECONDS", 0.5)
    folder = tmp_path / "hostile-mlx"
    shutil.copytree(engine_models("llm-untied", "mlx"), folder)
    (folder / "chat_template.jinja").write_text("{% for i in range(99999) %}{% for j in range(99999) %}"
                                                "{% endfor %}{% endfor %}", encoding="utf-8")
    chat = load_chat_model(folder, n_ctx=256)
    with pytest.raises(EngineError, match="the model's chat template was stopped: it ran longer than 0.5 s"):
        list(chat.chat([Message("user", "こんにちは")], settings=ChatSettings(max_tokens=2)))


@pytest.mark.timeout(30)
def test_deeply_nested_gguf_metadata_is_a_damaged_header_not_a_recursion_error(attack_corpus, tmp_path):
    path = attack_corpus.write_nested_gguf(tmp_path / "nested.gguf")
    for loader in (load_chat_model, load_embedder):
        with pytest.raises(WrongModelError, match=f"{path}: the GGUF header is damaged \\(arrays nested more than"):
            loader(path)
