"""The system-wide quick-ask shortcut (issue 14): a desktop listener's press opens quick ask on the GUI
thread; where the desktop gives no global keys, the window still works and says why."""

from __future__ import annotations

import threading

from app.gui.global_hotkey import COMBINATION, GlobalHotkey


class FakeListener:
    """Stands in for pynput's GlobalHotKeys: presses the combination from a thread of its own, as pynput does."""

    instances: list[FakeListener] = []

    def __init__(self, hotkeys):
        self.hotkeys, self.stopped = hotkeys, False
        FakeListener.instances.append(self)

    def start(self):
        pass

    def press(self):
        thread = threading.Thread(target=self.hotkeys[COMBINATION])
        thread.start()
        thread.join()

    def stop(self):
        self.stopped = True


def test_a_press_anywhere_opens_quick_ask(make_window, qtbot):
    window = make_window()
    hotkey = GlobalHotkey(window, listener_factory=FakeListener)
    hotkey.pressed.connect(window.quick_ask.show_and_focus)
    assert hotkey.start() and hotkey.active
    assert not window.quick_ask.isVisible()
    FakeListener.instances[-1].press()
    qtbot.waitUntil(window.quick_ask.isVisible, timeout=5000)
    hotkey.stop()
    assert FakeListener.instances[-1].stopped and not hotkey.active


def test_without_a_desktop_there_is_no_listener_and_the_reason_is_kept(make_window):
    window = make_window()
    # The suite runs Qt offscreen: no desktop keyboard to listen to; the menu's shortcut remains.
    assert not window.global_hotkey.active and "offscreen" in window.global_hotkey.error
    assert window.quick_ask_action.shortcut().toString() == "Ctrl+Shift+Space"


def test_a_listener_that_cannot_start_is_reported_not_raised(qtbot):
    def broken(hotkeys):
        raise OSError("the keyboard is not ours")

    hotkey = GlobalHotkey(listener_factory=broken)
    assert not hotkey.start() and hotkey.error == "the keyboard is not ours"
