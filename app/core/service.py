"""The facade both front ends use: every CLI command and GUI action is one call here."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Literal

import converters
import engines
from converters import ConversionProgress, ConversionResult
from engines import ChatSettings

from ..config import Config, load_config, update_config_file
from ..errors import IpponError
from ..locale import _
from . import models
from .answer import AskDone, AskEvent, answer_question
from .budget import BudgetInputs, BudgetPlan, focus_sources, plan_budget
from .conversation import HISTORY_SHARE, EarlierTurn, answered, ask_in_thread, pack_history, search_in_thread
from .evaluation import ConfigReport, eval_vectors, evaluate, load_eval_config, load_questions
from .ingest import ChunkingSettings, IngestProgress, IngestSummary, ProgressCallback
from .library import Library
from .image_vectors import ImageIndexReport, ImageSearch, ImageVectors
from .pixels import PageRenderer
from .retrieval import Retrieval, RetrievalSettings, Retriever
from .store import Hit, SourceRecord
from .speed import SpeedCache, cached_speed
from .threads import ThreadStore


QUESTION_PROMPT = ("次の文章だけから答えられる質問を1つ、日本語で書いてください。質問文だけを出力してください。\n\n"
                   "文章:\n{text}")


class IpponService:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._library: Library | None = None
        self._embedder: Any = None
        self._reranker: Any = None
        self._vision_reranker: Any = None
        self._image_embedder: Any = None
        self._llm: Any = None
        self._threads: ThreadStore | None = None

    def close(self) -> None:
        """Free the loaded models (each holds native memory and, for llama.cpp, threads)."""
        for name in ("_llm", "_reranker", "_vision_reranker", "_image_embedder", "_embedder"):
            model = getattr(self, name)
            if model is not None:
                model.close()
                setattr(self, name, None)
        if self._threads is not None:
            self._threads.close()
            self._threads = None

    # --- library --------------------------------------------------------------------------

    @property
    def library(self) -> Library:
        """The library, chunked with the configured embedder's tokenizer when there is one."""
        if self._library is None:
            chunking = ChunkingSettings(max_tokens=self.config.chunk_tokens, overlap=self.config.chunk_overlap)
            factory = None
            if self.config.embedder:
                embedder = self._library_embedder()
                # Every Qwen3-Embedding size shares one tokenizer, so chunks survive a change of size;
                # a remote embedder only estimates, and a switch between the two re-chunks.
                chunking = replace(chunking, count_tokens=embedder.count_tokens,
                                   tokenizer="qwen3" if embedder.exact_token_counts else "estimate")
                factory = self._embedder_factory
            self._library = Library(self.config, chunking=chunking, embedder_factory=factory)
        return self._library

    def _library_embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = self.load_engine("embedder", self.config.embedder)
        return self._embedder

    def _embedder_factory(self) -> tuple[str, int, Callable[[list[str]], Any]]:
        embedder = self._library_embedder()
        dim = self.config.embed_dim or embedder.dim
        name = Path(str(self.config.embedder)).name
        return name, dim, lambda texts: embedder.embed(texts, kind="document", dim=dim)

    def add(self, paths: list[Path], *, watch: bool = False, vectors: bool = True,
            progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> IngestSummary:
        summary = self.library.add(paths, watch=watch, vectors=vectors, progress=progress, cancel=cancel)
        if vectors and self.config.image_embedder and not (cancel is not None and cancel.is_set()):
            self.index_images(progress=progress, cancel=cancel)
        return summary

    def index_images(self, *, progress: ProgressCallback | None = None,
                     cancel: threading.Event | None = None) -> ImageIndexReport:
        """Vectors from the pixels of the library's new and changed images (`image_embedder`, Qwen3-VL-Embedding)."""
        if not self.config.image_embedder:
            raise IpponError(_("no image embedder: set `image_embedder` in config.toml to a Qwen3-VL-Embedding model"))
        if self._image_embedder is None:
            self._image_embedder = self.load_engine("vision_embedder", self.config.image_embedder)

        def step(done: int, total: int) -> None:
            if progress is not None:
                progress(IngestProgress("images", done, total))

        return self._image_vectors().update(self.library.store, self._image_embedder, progress=step, cancel=cancel)

    def _image_vectors(self) -> ImageVectors:
        return ImageVectors(self.config.data_dir / "image-vectors", Path(str(self.config.image_embedder)).name)

    def remove(self, paths: list[Path]) -> int:
        return self.library.remove(paths)

    def sources(self, *, errors_only: bool = False) -> list[SourceRecord]:
        return self.library.sources(errors_only=errors_only)

    def reindex(self, *, vectors_only: bool = False, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> IngestSummary:
        return self.library.reindex(vectors_only=vectors_only, progress=progress, cancel=cancel)

    def index_outdated(self) -> bool:
        """The keyword index comes from older code: `upgrade_index` rebuilds it (searches work meanwhile)."""
        return self.library.store.index_outdated()

    def upgrade_index(self, *, progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None) -> bool:
        return self.library.upgrade_index(progress=progress, cancel=cancel)

    def search_keywords(self, query: str, *, limit: int = 10) -> list[Hit]:
        return self.library.store.search_lexical(query, limit=limit)

    # --- search and ask -------------------------------------------------------------------

    def retriever(self, *, rerank: bool = True) -> Retriever:
        embedder = self._library_embedder() if self.config.embedder else None
        images = None
        if self.config.image_embedder:
            stored = self._image_vectors()
            if stored.rows:  # the embedder is loaded only once there are image vectors to search
                if self._image_embedder is None:
                    self._image_embedder = self.load_engine("vision_embedder", self.config.image_embedder)
                images = ImageSearch(stored, self._image_embedder)
        reranker = None
        if rerank and self.config.vision_reranker:
            if self._vision_reranker is None:
                self._vision_reranker = self.load_engine("vision_reranker", self.config.vision_reranker)
            return Retriever(self.library.store, embedder=embedder, vision_reranker=self._vision_reranker,
                             page_renderer=PageRenderer(self.config.data_dir / "cache" / "pages"), image_search=images)
        if rerank and self.config.reranker:
            if self._reranker is None:
                self._reranker = self.load_engine("reranker", self.config.reranker)
            reranker = self._reranker
        return Retriever(self.library.store, embedder=embedder, reranker=reranker, image_search=images)

    def retrieval_settings(self, **overrides: Any) -> RetrievalSettings:
        values = {"top_k": self.config.top_k, "candidates": self.config.candidates}
        values.update({k: v for k, v in overrides.items() if v is not None})
        # What the user set, on the command line or in config.toml, the latency budget keeps.
        explicit = tuple(k for k in ("top_k", "candidates") if overrides.get(k) is not None or k in self.config.given)
        return RetrievalSettings(**values, explicit=explicit)

    def search(self, query: str, settings: RetrievalSettings) -> Retrieval:
        return self.retriever(rerank=settings.rerank).search(query, settings)

    def ask(self, question: str, *, retrieval: RetrievalSettings, chat: ChatSettings,
            cancel: engines.CancelToken | None = None, thread: str | None = None, record: bool = True,
            history: Sequence[EarlierTurn] | None = None, instructions: str = "") -> Iterator[AskEvent]:
        """Retrieve, then stream a cited answer, kept as the next turn of `thread` (None: a new thread; its id
        comes in an AskTurn event after the sources). Without an LLM configured this is an error, not a guess.

        `record=False` keeps no thread (an API client holds its own conversation); `history`, the earlier
        turns as a client holds them, is what follow-ups lean on instead of the thread's; `instructions`
        (a client's system message) follow the answer's rule, never replace it."""
        if not record and thread:
            raise IpponError(_("a conversation that is not recorded cannot continue thread {id}").format(id=thread))
        if not self.config.llm:
            raise IpponError(_("no answering model: set `llm` in config.toml to a Qwen3 GGUF file or MLX folder "
                               "(`ippon search` works without one)"))
        if self._llm is None:
            self._llm = self.load_engine("chat", self.config.llm)
        models = {role: Path(str(name)).name for role, name in (("llm", self.config.llm),
                  ("embedder", self.config.embedder), ("reranker", self.config.reranker)) if name}
        earlier = history if history is not None else self.threads.get(thread).turns if thread else []
        extra_tokens = self._history_tokens(earlier, chat) + (self._llm.count_tokens(instructions) if instructions else 0)
        yield from ask_in_thread(self.threads if record else None, question, thread_id=thread, llm=self._llm,
                                 models=models, search=self._answer_search(retrieval, history_tokens=extra_tokens),
                                 retrieval=_settings_dict(retrieval), chat=chat, cancel=cancel, history=history,
                                 instructions=instructions)

    def _answer_search(self, retrieval: RetrievalSettings, *, history_tokens: int = 0) -> Callable[[str], Retrieval]:
        """The search an answer reads from: within the latency budget, unless it is off. The plan is made
        when the search runs, so time already spent (rewriting a follow-up) counts against the budget."""
        if self.answer_plan(retrieval) is None:  # measures each model's speed on first use, before the clock starts
            return lambda q: self.search(q, retrieval)
        started = time.perf_counter()

        def search(question: str) -> Retrieval:
            plan = self.answer_plan(retrieval, history_tokens=history_tokens, spent_s=time.perf_counter() - started)
            settings = replace(retrieval, rerank_limit=plan.rerank, pixel_tokens=plan.pixel_tokens,
                               rerank_passage_tokens=self.config.rerank_passage_tokens)
            return focus_sources(self.search(question, settings), question, plan,
                                 passage_tokens=self.config.source_passage_tokens)
        return search

    def answer_plan(self, retrieval: RetrievalSettings, *, history_tokens: int = 0,
                    spent_s: float = 0.0) -> BudgetPlan | None:
        """How many candidates to rerank and how much the LLM reads to answer within `answer_seconds`, from
        each model's speed on this machine (measured on first use, then kept). None when the budget is off.
        `history_tokens`: earlier turns of the conversation the LLM reads too; `spent_s`: time already gone."""
        if not self.config.answer_seconds or not self.config.llm:
            return None
        from engines.llamacpp_backend.loading import default_threads

        if self._llm is None:
            self._llm = self.load_engine("chat", self.config.llm)
        retriever = self.retriever(rerank=retrieval.rerank)
        speeds = SpeedCache(self.config.data_dir / "speeds.json")
        threads = self.config.threads or default_threads()
        llm_speed = cached_speed(speeds, "chat", self.config.llm, self._llm, threads=threads)
        rerank_speed = None
        if retriever.vision_reranker is not None:  # it reranks instead of the text reranker
            rerank_speed = cached_speed(speeds, "vision_reranker", self.config.vision_reranker,
                                        retriever.vision_reranker, threads=threads)
        elif retriever.reranker is not None:
            rerank_speed = cached_speed(speeds, "reranker", self.config.reranker, retriever.reranker,
                                        threads=threads)
        return plan_budget(BudgetInputs(
            target_s=self.config.answer_seconds, top_k=retrieval.top_k, candidates=retrieval.candidates,
            rerank_passage_tokens=self.config.rerank_passage_tokens,
            source_passage_tokens=self.config.source_passage_tokens,
            llm_tokens_per_s=llm_speed.tokens_per_s if llm_speed else None,
            rerank_tokens_per_s=rerank_speed.tokens_per_s if rerank_speed else None,
            explicit_top_k="top_k" in retrieval.explicit, explicit_candidates="candidates" in retrieval.explicit,
            has_reranker=retriever.reranker is not None or retriever.vision_reranker is not None,
            pixel_tokens_per_s=rerank_speed.image_tokens_per_s if rerank_speed else None,
            llm_extra_tokens=history_tokens, spent_s=spent_s))

    def _history_tokens(self, turns: Sequence[Any], chat: ChatSettings) -> int:
        """Tokens of the earlier turns an answer will read (as conversation.py packs them)."""
        if not turns:
            return 0
        budget = int((self._llm.context_length - chat.max_tokens) * HISTORY_SHARE)
        messages, _dropped = pack_history(answered(turns), count_tokens=self._llm.count_tokens, budget=budget)
        return sum(self._llm.count_tokens(m.content) for m in messages)

    def search_turn(self, question: str, *, retrieval: RetrievalSettings, thread: str | None = None
                    ) -> Iterator[AskEvent]:
        """Without an answering model: the keyword search results, kept as a turn of `thread` all the same."""
        yield from search_in_thread(self.threads, question, thread_id=thread, retrieval=_settings_dict(retrieval),
                                    search=lambda q: self.search(q, retrieval))

    @property
    def threads(self) -> ThreadStore:
        """The conversations kept in the data directory."""
        if self._threads is None:
            self._threads = ThreadStore(self.config.data_dir)
        return self._threads

    def chat(self, messages: list[engines.Message], *, settings: ChatSettings,
             cancel: engines.CancelToken | None = None) -> Iterator[engines.ChatEvent]:
        """A conversation with the answering model itself, without the library."""
        if not self.config.llm:
            raise IpponError(_("no answering model: set `llm` in config.toml to a Qwen3 GGUF file or MLX folder"))
        if self._llm is None:
            self._llm = self.load_engine("chat", self.config.llm)
        yield from self._llm.chat(messages, settings=settings, cancel=cancel)

    def load_models(self, *, wrap: Callable[[str, Any], Any] | None = None) -> dict[str, Any]:
        """Load every configured model now (a server does so before its first request). `wrap(role, model)`
        may put each behind a proxy of the caller's: the server runs each model on a thread of its own."""
        loaded = {}
        for role, attr, name in (("embedder", "_embedder", self.config.embedder),
                                 ("reranker", "_reranker", self.config.reranker), ("chat", "_llm", self.config.llm)):
            if name:
                model = getattr(self, attr) or self.load_engine(role, name)
                loaded[role] = wrap(role, model) if wrap else model
                setattr(self, attr, loaded[role])
        return loaded

    # --- evaluation -----------------------------------------------------------------------

    def evaluate(self, questions_file: Path, configs: dict[str, Path | None], *, mode: str | None = None,
                 rerank: bool | None = None, progress: Callable[[str, int, int], None] | None = None
                 ) -> list[ConfigReport]:
        """Every configuration over the same questions; a config of None is the app's own settings."""
        questions = load_questions(questions_file)
        reports = []
        for name, file in configs.items():
            values = load_eval_config(file) if file else {}
            if mode is not None:
                values.setdefault("mode", mode)
            if rerank is not None:
                values.setdefault("rerank", rerank)
            search, answer = self._eval_pipeline(values)
            on_progress = (lambda done, total, n=name: progress(n, done, total)) if progress else None
            reports.append(evaluate(name, questions, search, answer=answer, progress=on_progress))
        return reports

    def generate_questions(self, out: Path, *, n: int = 50, seed: int = 0,
                           progress: Callable[[int, int], None] | None = None) -> int:
        """A question set from the user's own chunks: one question per sampled chunk, that chunk's file
        (and page) as the positive. Written as JSON Lines; returns how many."""
        if not self.config.llm:
            raise IpponError(_("generating questions needs an LLM: set `llm` in config.toml"))
        hits, _texts, _vectors = self.library.store.all_chunks()  # `_` is the translator here
        if not hits:
            raise IpponError(_("the library is empty: add documents first (`ippon add PATH`)"))
        llm = self._llm = self._llm or self.load_engine("chat", self.config.llm)
        rng = random.Random(seed)
        sample = rng.sample(hits, min(n, len(hits)))
        settings = ChatSettings(temperature=0.0, max_tokens=96)
        lines = []
        for done, hit in enumerate(sample, 1):
            prompt = QUESTION_PROMPT.format(text=hit.text)
            reply = [e for e in llm.chat([engines.Message("user", prompt)], settings=settings)][-1].text
            question = next((line.strip() for line in reply.splitlines() if line.strip()), "")
            if question:
                positive = {"path": hit.path, "page": hit.page} if hit.page else hit.path
                lines.append(json.dumps({"id": f"g{done}", "question": question, "positive": [positive]},
                                        ensure_ascii=False))
            if progress is not None:
                progress(done, len(sample))
        Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")
        return len(lines)

    def _eval_pipeline(self, values: dict[str, Any]) -> tuple[Callable, Callable | None]:
        store = self.library.store
        embedder_name = values.get("embedder", self.config.embedder)
        embedder = vectors = None
        if embedder_name:
            embedder = (self._library_embedder() if embedder_name == self.config.embedder
                        else self.load_engine("embedder", embedder_name))
            vectors = eval_vectors(store, embedder, Path(str(embedder_name)).name,
                                   values.get("embed_dim", self.config.embed_dim or embedder.dim))
        reranker_name = values.get("reranker", self.config.reranker)
        reranker = self.load_engine("reranker", reranker_name) if reranker_name and values.get("rerank", True) else None
        vision_name = values.get("vision_reranker", self.config.vision_reranker)
        vision = (self.load_engine("vision_reranker", vision_name) if vision_name and values.get("rerank", True)
                  else None)
        retriever = Retriever(store, embedder=embedder, reranker=reranker, vectors=vectors, vision_reranker=vision,
                              page_renderer=PageRenderer(self.config.data_dir / "cache" / "pages") if vision else None)
        settings = self.retrieval_settings(mode=values.get("mode"), rerank=values.get("rerank"),
                                           candidates=values.get("candidates"), top_k=values.get("top_k"))
        llm_name = values.get("llm", self.config.llm)
        answer = None
        if llm_name:
            llm = self.load_engine("chat", llm_name)
            greedy = ChatSettings(temperature=0.0, max_tokens=256)

            def answer(question: str, found: Retrieval) -> AskDone:
                return list(answer_question(question, found, llm, settings=greedy))[-1]
        return (lambda q: retriever.search(q, settings)), answer

    # --- models ---------------------------------------------------------------------------

    def convert_model(self, src: Path, *, to: str, out: Path, quant: str | None = None, group_size: int = 64,
                      kind: str | None = None, force: bool = False, verify: bool = False,
                      progress: converters.events.ProgressCallback | None = None,
                      cancel: threading.Event | None = None) -> ConversionResult:
        """Convert a Hugging Face Qwen3 checkpoint to GGUF or MLX (see `converters.convert`)."""
        return converters.convert(src, to=to, out=out, quant=quant, group_size=group_size, kind=kind,
                                  force=force, verify=verify, progress=progress, cancel=cancel)

    def load_engine(self, role: Literal["chat", "embedder", "reranker", "vision_reranker", "vision_embedder"],
                    model: str | Path, *,
                    backend: str | None = None, url: str | None = None, **options: Any) -> Any:
        """A chat model, embedder or reranker. The configured server is used only for names that are not
        local files, so a local model always runs locally."""
        backend = backend or self.config.backend
        if url is None and backend in ("auto", "remote") and not Path(model).expanduser().exists():
            url = self.config.remote_url
        chosen = engines.choose_backend(model, backend=backend, url=url)
        if chosen == "llamacpp" and self.config.threads:
            options.setdefault("n_threads", self.config.threads)
        loader = {"chat": engines.load_chat_model, "embedder": engines.load_embedder,
                  "reranker": engines.load_reranker, "vision_reranker": engines.load_vision_reranker,
                  "vision_embedder": engines.load_vision_embedder}[role]
        return loader(model, backend=chosen, url=url, **options)

    # --- models: catalog, picker, downloads, installed ------------------------------------

    def model_catalog(self, path: Path | None = None) -> models.Catalog:
        """The shipped catalog (resources/models.toml), or a catalog file of one's own."""
        return models.load_catalog(path)

    def recommend_models(self, *, ram_gb: float | None = None, chip: str | None = None, disk_gb: float | None = None,
                         cores: int | None = None, gpu_gb: float | None = None,
                         catalog: Path | None = None) -> models.Recommendation:
        """LLM, embedder and reranker for this machine; any of its facts may be assumed instead."""
        machine = models.detect_machine(self.config.models_dir, ram_gib=ram_gb, disk_gib=disk_gb, cores=cores,
                                        gpu_gib=gpu_gb, apple_silicon=None if chip is None else chip == "apple")
        return models.recommend(machine, self.model_catalog(catalog))

    def recommend_vision_reranker(self, machine: models.Machine, *, catalog: Path | None = None) -> Any:
        """The Qwen3-VL-Reranker for `machine` (a picker Pick), or None where none fits."""
        from .models.vision_pick import recommend_vision_reranker

        return recommend_vision_reranker(machine, self.model_catalog(catalog))

    def installed_models(self) -> list[models.InstalledModel]:
        return models.installed_models(self.config.models_dir)

    def models_in_use(self) -> dict[str, str]:
        """Installed model name -> the config.toml key (llm, embedder, vision_reranker, …) that points at it."""
        in_use = {}
        for model in self.installed_models():
            value = getattr(self.config, model.config_key) if model.config_key else None
            if value and Path(value).expanduser().resolve() == model.path:
                in_use[model.name] = model.config_key
        return in_use

    def pull_model(self, name: str, *, format: str | None = None, quant: str | None = None, convert: bool = False,
                   catalog: Path | None = None, progress: Callable[[Any], None] | None = None,
                   cancel: threading.Event | None = None) -> models.PullResult:
        """Download (and if needed convert) a catalog model into the models folder."""
        entry = self.model_catalog(catalog).get(name)
        return models.pull(entry, models_dir=self.config.models_dir, fmt=format, quant=quant, convert=convert,
                           progress=progress, cancel=cancel)

    def import_model(self, path: Path, *, name: str | None = None, kind: str | None = None,
                     mmproj: Path | None = None) -> models.InstalledModel:
        """Install a local GGUF file (a Qwen3-VL one with its projector), MLX folder or Hugging Face checkpoint."""
        return models.import_model(path, models_dir=self.config.models_dir, name=name, kind=kind,
                                   catalog=self.model_catalog(), mmproj=mmproj)

    def remove_model(self, name: str) -> tuple[models.InstalledModel, str | None]:
        """Delete an installed model; also returns the config.toml key still pointing at it, if any."""
        key = self.models_in_use().get(models.find_installed(self.config.models_dir, name).name)
        return models.remove_installed(self.config.models_dir, name), key

    def use_model(self, name: str, *, dim: int | None = None) -> dict[str, object]:
        """Point config.toml's key for the model's kind (llm, embedder, …) at it; returns what was written."""
        model = models.find_installed(self.config.models_dir, name)
        if model.config_key is None:
            raise models.ModelsError(_("{name} is a {kind}; no setting uses one yet").format(name=model.name,
                                                                                             kind=model.kind))
        updates: dict[str, object] = {model.config_key: str(model.path)}
        if model.config_key == "embedder":
            if dim is not None and model.dim and not 32 <= dim <= model.dim:
                raise models.ModelsError(_("{name} makes vectors of up to {dim} dimensions; --dim must be from 32 "
                                           "to {dim}").format(name=model.name, dim=model.dim))
            if dim is not None:
                updates["embed_dim"] = dim
            elif self.config.embed_dim and model.dim and self.config.embed_dim > model.dim:
                updates["embed_dim"] = None  # the old size does not fit this model: use its full size
        elif dim is not None:
            raise models.ModelsError(_("--dim is for embedders only"))
        update_config_file(updates, self.config.config_file)
        self.config = load_config(self.config.config_file)
        # The next call loads the newly chosen model (the library chunks with the embedder's tokenizer).
        if model.config_key == "llm":
            self._llm = None
        elif model.config_key == "reranker":
            self._reranker = None
        elif model.config_key == "vision_reranker":
            self._vision_reranker = None
        elif model.config_key == "image_embedder":
            self._image_embedder = None
        else:
            self._embedder = self._library = None
        return updates


def _settings_dict(settings: RetrievalSettings) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(settings), default=str))


__all__ = ["IpponService", "ConversionProgress", "ConversionResult"]
