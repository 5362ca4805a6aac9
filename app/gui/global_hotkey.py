"""The system-wide quick-ask shortcut: Ctrl+Shift+Space opens quick ask while another app is active.

Qt has no portable global shortcut. pynput listens to the desktop's keyboard on a thread of its
own: X11 on Linux (XRecord), a Quartz event tap on macOS (which asks for the Accessibility
permission once), a low-level keyboard hook on Windows. Wayland gives applications no global
keys, and a machine with no display has none to give: there the listener does not start, the
reason is kept, and the shortcut works while Ippon is the active app (the menu's own shortcut),
as it always did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication

# pynput's spelling of the menu's Ctrl+Shift+Space (main_window.QUICK_ASK_SHORTCUT).
COMBINATION = "<ctrl>+<shift>+<space>"
# Qt platforms with no desktop keyboard to listen to.
_NO_DESKTOP = {"offscreen", "minimal"}

ListenerFactory = Callable[[dict[str, Callable[[], None]]], Any]


class GlobalHotkey(QObject):
    """Emits `pressed` on the GUI thread when the combination is pressed anywhere on the desktop."""

    pressed = Signal()

    def __init__(self, parent: QObject | None = None, *, combination: str = COMBINATION,
                 listener_factory: ListenerFactory | None = None) -> None:
        super().__init__(parent)
        self.combination = combination
        self._factory = listener_factory
        self._listener: Any = None
        self.error: str | None = None  # why there is no system-wide shortcut, when there is none

    @property
    def active(self) -> bool:
        return self._listener is not None

    def start(self) -> bool:
        """Start listening; False (with `error` set) where the desktop offers no global keys."""
        if self._listener is not None:
            return True
        factory = self._factory
        if factory is None:
            if QGuiApplication.platformName() in _NO_DESKTOP:
                self.error = self.tr("no desktop to listen to ({platform})").format(
                    platform=QGuiApplication.platformName())
                return False
            try:
                from pynput import keyboard  # connects to the display on import
            except Exception as exc:  # noqa: BLE001 - ImportError, or the display's own error
                self.error = self.tr("the desktop offers no system-wide keys here ({reason})").format(
                    reason=str(exc).splitlines()[0])
                return False
            factory = keyboard.GlobalHotKeys
        try:
            listener = factory({self.combination: self.pressed.emit})  # a queued signal from its thread
            listener.start()
        except Exception as exc:  # noqa: BLE001 - a listener that cannot start is reported, not raised
            self.error = str(exc)
            return False
        self._listener, self.error = listener, None
        return True

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
