"""Progress bars for long CLI work (rich, on a terminal only): one bar per stage."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import converters

from ..core.ingest import IngestProgress
from ..locale import N_, _
from .terminal import markup_safe

# event -> (stage, done, total, description)
Describe = Callable[[Any], tuple[str, int, int, str]]


# converters' stages ("convert", "quantize", "verify") and the downloads' (app.core.models).
STAGE_NAMES = {"convert": N_("convert"), "quantize": N_("quantize"), "verify": N_("verify"),
               "download": N_("download")}


def stage_name(stage: str) -> str:
    return _(STAGE_NAMES[stage]) if stage in STAGE_NAMES else stage


def describe_conversion(event: converters.ConversionProgress) -> tuple[str, int, int, str]:
    return event.stage, event.tensors_done, event.tensors_total, f"{stage_name(event.stage)} {event.tensor}"


PHASE_NAMES = {"index": N_("files"), "embed": N_("vectors"), "scan": N_("scan"), "analyse": N_("keyword index")}


def describe_ingest(event: IngestProgress) -> tuple[str, int, int, str]:
    label = _(PHASE_NAMES[event.phase]) if event.phase in PHASE_NAMES else event.phase
    if event.phase != "index":
        return event.phase, event.done, event.total, label
    detail = _("{chunks} chunks  {file}").format(chunks=event.chunks, file=markup_safe(Path(event.path).name))
    return event.phase, event.done, event.total, f"{label} {detail}"


class ProgressBar:
    """A context manager giving a progress callback, or None when quiet or not on a terminal."""

    def __init__(self, describe: Describe, *, enabled: bool) -> None:
        self.describe = describe
        self.enabled = enabled and sys.stderr.isatty()
        self._bar = None

    def __enter__(self) -> Callable[[Any], None] | None:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeRemainingColumn(), transient=True)
        self._bar.start()
        tasks: dict[str, int] = {}

        def on_progress(event: Any) -> None:
            stage, done, total, description = self.describe(event)
            if stage not in tasks:
                tasks[stage] = self._bar.add_task(stage, total=total)
            self._bar.update(tasks[stage], completed=done, total=total, description=description[:56])

        return on_progress

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
