"""Starting the desktop app (and `ippon gui --screenshot FILE` for docs and checks)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ..config import load_config
from ..core.service import IpponService
from ..errors import IpponError
from .i18n import install_translations
from .main_window import MainWindow
from .single_instance import SingleInstance, ask_running_instance


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ippon gui", description="Open the Ippon window.")
    parser.add_argument("--screenshot", type=Path, metavar="FILE", help="render a view to a PNG after start-up and exit")
    parser.add_argument("--view", choices=("main", "ask", "quick"), default="main")
    parser.add_argument("--question", help="with --view ask or quick: the question to ask before the screenshot")
    parser.add_argument("--size", default="1180x760", help="window size for the screenshot (WxH)")
    return parser


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Ippon")
    app.setOrganizationName("Ippon")
    app.setQuitOnLastWindowClosed(True)
    if not hasattr(app, "_ippon_translators"):
        install_translations(app)
    return app


def run_gui(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    app = application()
    try:
        config = load_config()
        if not args.screenshot and ask_running_instance(config.data_dir):
            return 0  # the Ippon already running on this data folder came forward instead
        service = IpponService(config)
    except IpponError as exc:
        QMessageBox.critical(None, "Ippon", str(exc))
        return 1
    window = MainWindow(service)
    try:
        if args.screenshot:
            return screenshot(window, args)
        window.single_instance = SingleInstance(config.data_dir, window)
        window.single_instance.activated.connect(window.bring_forward)
        window.show()
        window.first_run()
        return app.exec()
    finally:
        window.service.close()
        window.deleteLater()


def wait_until(condition, timeout_ms: int) -> bool:  # noqa: ANN001 - a callable returning bool
    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    timer.start(50)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    timer.stop()
    return condition()


def screenshot(window: MainWindow, args: argparse.Namespace) -> int:
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    window.show()
    target: QWidget = window
    if args.view in ("ask", "quick") and args.question:
        done = []
        if args.view == "quick":
            target = window.quick_ask
            window.quick_ask.show_and_focus()
            window.quick_ask.question.setText(args.question)
            window.quick_ask.controller.finished.connect(done.append)
            window.quick_ask.submit()
        else:
            window.ask_panel.question.setText(args.question)
            window.controller.finished.connect(done.append)
            window.ask_panel.submit()
        wait_until(lambda: bool(done), 120_000)
    elif args.view == "quick":
        target = window.quick_ask
        window.quick_ask.show_and_focus()
    wait_until(lambda: not window.runner.busy, 30_000)
    wait_until(lambda: False, 300)  # let the last paint happen
    ok = target.grab().save(str(args.screenshot))
    window.close()
    return 0 if ok else 1
