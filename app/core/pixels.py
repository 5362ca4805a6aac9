"""Reranking with pixels: images, and the PDF pages search hits come from, judged by Qwen3-VL-Reranker.

Retrieval stays textual; when a VL reranker is configured, the top candidates go to it instead
of the text reranker: a hit from an image file with its image, a hit from a PDF page with the
page rendered (pypdfium2, the longest side PAGE_SIDE pixels, cached by file, version and page),
every other hit as text. One model scores them all, so their scores compare. A page that cannot
be rendered, or an image that cannot be read, is scored by its text instead, and says why.
Within an answer's time budget (budget.py's `pixel_tokens`), images and pages are judged by
their pixels best-ranked first while the budget lasts (the first always); the rest by their
text, saying so.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engines import Candidate, CandidateFailure
from engines.qwen3_vl import image_tokens, image_tokens_of

from ..locale import _
from .pdf_pages import PdfPageError, render_page
from .store import Hit

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
PAGE_SIDE = 1024  # pixels on a rendered page's longest side: A4 is then about 700 image tokens
RENDER_SCALE = 2.0  # 144 dpi, then scaled down to PAGE_SIDE: small type stays legible


@dataclass(frozen=True, slots=True)
class PixelNote:
    """How one candidate was judged: with which pixels, or why not."""

    image: Path | None  # the image file or rendered page the reranker saw; None: text only
    error: str | None = None  # why the pixels could not be used (the candidate was then scored by its text)
    skipped: str | None = None  # why its pixels were not looked at (the time budget): scored by its text


class PixelBudget:
    """Image positions the VL reranker may still read (budget.py's `pixel_tokens`); None: no limit. The
    first image or page asked for is always granted, so a configured VL reranker sees the best one."""

    def __init__(self, tokens: int | None) -> None:
        self.left = tokens
        self.granted = 0

    @property
    def limited(self) -> bool:
        return self.left is not None

    def take(self, tokens: int) -> bool:
        if self.left is None:
            return True
        if self.granted and tokens > self.left:
            return False
        self.left = max(0, self.left - tokens)
        self.granted += 1
        return True


class PageRenderer:
    """PDF pages as PNG files in a cache folder, rendered once per file version and page."""

    def __init__(self, cache_dir: Path, *, side: int = PAGE_SIDE) -> None:
        self.cache_dir = Path(cache_dir)
        self.side = side

    def page_image(self, pdf: Path, page: int) -> Path:
        """The rendered PNG of 1-based `page` of `pdf` (from the cache when the file has not changed);
        PdfPageError (naming the file) when it cannot be rendered."""
        try:
            stat = pdf.stat()
        except OSError as exc:
            raise PdfPageError(_("{path}: cannot show the page: {reason}").format(path=pdf,
                                                                                  reason=exc.strerror or exc)) from exc
        target = self._cached(pdf, page, stat)
        if target.is_file():
            return target
        image = self._render(pdf, page)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        image.save(partial, format="PNG")
        partial.replace(target)  # a reader never sees half a file
        return target

    def _cached(self, pdf: Path, page: int, stat: os.stat_result) -> Path:
        key = hashlib.sha256(f"{pdf.resolve()}\0{stat.st_mtime_ns}\0{stat.st_size}\0{page}\0{self.side}".encode())
        return self.cache_dir / f"{key.hexdigest()[:32]}.png"

    def page_tokens(self, pdf: Path, page: int) -> int:
        """Image positions the page will cost the reranker: from its rendering when cached, else an A4 page's."""
        try:
            cached = self._cached(pdf, page, pdf.stat())
        except OSError:
            cached = None
        known = image_tokens_of(cached) if cached is not None and cached.is_file() else None
        return known if known is not None else image_tokens(self.side, round(self.side / math.sqrt(2)))

    def _render(self, pdf: Path, page: int):  # noqa: ANN202 - a PIL image
        from PIL import Image

        # The desktop's page preview renders with the same checks (a regular file, PDFium's lock, a size cap).
        rendered = render_page(pdf, page, scale=RENDER_SCALE)
        image = Image.frombuffer("RGB", (rendered.width, rendered.height), rendered.rgb, "raw", "RGB",
                                 rendered.stride, 1)
        image.thumbnail((self.side, self.side), Image.Resampling.BICUBIC)
        return image

def pixel_candidate(hit: Hit, text: str, renderer: PageRenderer | None,
                    budget: PixelBudget | None = None) -> tuple[Candidate, PixelNote]:
    """The candidate a VL reranker judges for `hit` (`text`: the passage read from it); its pixels only
    while `budget` lasts."""
    path = Path(hit.path)
    suffix = path.suffix.lower()
    budget = budget or PixelBudget(None)  # no limit: nothing is read to price an image
    if suffix in IMAGE_SUFFIXES:
        # An image that cannot be read costs nothing here: the reranker reports it and it is scored by its text.
        if budget.limited and not budget.take(image_tokens_of(path) or 0):
            return Candidate(text=text), PixelNote(None, skipped=_over_budget())
        return Candidate(text=text or None, image=path), PixelNote(path)
    if suffix == ".pdf" and hit.page is not None and renderer is not None:
        if budget.limited and not budget.take(renderer.page_tokens(path, hit.page)):
            return Candidate(text=text), PixelNote(None, skipped=_over_budget())
        try:
            page = renderer.page_image(path, hit.page)
        except PdfPageError as exc:
            return Candidate(text=text), PixelNote(None, str(exc))
        return Candidate(text=text or None, image=page), PixelNote(page)
    return Candidate(text=text), PixelNote(None)


def _over_budget() -> str:
    return _("judged by its text: its pixels did not fit the answer's time budget (answer_seconds)")


def score_with_pixels(reranker: Any, query: str, hits: list[Hit], texts: list[str], renderer: PageRenderer | None,
                      *, pixel_tokens: int | None = None) -> tuple[np.ndarray, list[PixelNote]]:
    """P(yes) for each hit from the VL reranker, and how each was judged. Images and pages are judged by
    their pixels in the order given while `pixel_tokens` image positions last (None: all of them). A
    candidate whose image cannot be read is scored again by its text alone, so every hit gets a score."""
    budget = PixelBudget(pixel_tokens)
    pairs = [pixel_candidate(hit, text, renderer, budget) for hit, text in zip(hits, texts, strict=True)]
    candidates, notes = [c for c, _ in pairs], [n for _, n in pairs]
    failures: list[CandidateFailure] = []
    scores = np.asarray(reranker.score(query, candidates, failures=failures), dtype=np.float32)
    if failures:
        retry = [f.index for f in failures]
        again = reranker.score(query, [Candidate(text=texts[i]) for i in retry])
        for f, score in zip(failures, again, strict=True):
            scores[f.index] = score
            notes[f.index] = PixelNote(None, f.reason)
    return scores, notes
