"""Progress bars for long CLI work (rich, on a terminal only)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import converters


class ConversionProgressBar:
    """A rich progress bar on a terminal; nothing when quiet or not a terminal."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._bar = None

    def __enter__(self) -> Callable[[converters.ConversionProgress], None] | None:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeRemainingColumn(), transient=True)
        self._bar.start()
        tasks: dict[str, int] = {}

        def on_progress(event: converters.ConversionProgress) -> None:
            if event.stage not in tasks:
                tasks[event.stage] = self._bar.add_task(event.stage, total=event.tensors_total)
            self._bar.update(tasks[event.stage], completed=event.tensors_done,
                             description=f"{event.stage} {event.tensor}"[:48])

        return on_progress

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
