"""Typed progress events, so the CLI, the GUI and tests all read the same thing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ConversionCancelled


@dataclass(frozen=True, slots=True)
class ConversionProgress:
    stage: str  # "convert", "quantize", "verify"
    tensors_done: int
    tensors_total: int
    bytes_done: int
    bytes_total: int
    tensor: str = ""


ProgressCallback = Callable[[ConversionProgress], None]


class ProgressReporter:
    """Counts tensors and bytes, forwards events and checks for cancellation between tensors."""

    def __init__(self, *, stage: str, tensors_total: int, bytes_total: int,
                 progress: ProgressCallback | None, cancel: threading.Event | None) -> None:
        self.stage = stage
        self.tensors_total = tensors_total
        self.bytes_total = bytes_total
        self.tensors_done = 0
        self.bytes_done = 0
        self._progress = progress
        self._cancel = cancel

    def check_cancelled(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise ConversionCancelled("Conversion cancelled; no output was written.")

    def advance(self, tensor: str, nbytes: int) -> None:
        self.tensors_done += 1
        self.bytes_done += nbytes
        if self._progress is not None:
            self._progress(ConversionProgress(self.stage, self.tensors_done, self.tensors_total,
                                              self.bytes_done, self.bytes_total, tensor))
        self.check_cancelled()
