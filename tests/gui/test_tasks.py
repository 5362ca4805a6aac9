"""The task runner: nothing of an operation is freed on a worker thread or by chance at exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import shiboken6

from app.gui.tasks import TaskRunner

QUIT_AFTER_OPERATIONS = textwrap.dedent("""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.gui.tasks import TaskRunner

    app = QApplication([])
    runner = TaskRunner()
    results = []
    for i in range(60):
        (runner.op(lambda i=i: i * 2, model=bool(i % 2)).success(results.append)
         .failure(print).finally_(lambda: None).run())
    QTimer.singleShot(400, app.quit)
    app.exec()
    runner.wait()
    print(len(results))
""")


def test_quitting_after_many_operations_is_clean():
    # Before: Qt deleted each runnable on its worker thread, dropping the op's relay and slots there, and
    # the interpreter crashed on exit (or Qt warned "QObject: shared QObject was deleted directly").
    run = subprocess.run([sys.executable, "-c", QUIT_AFTER_OPERATIONS], capture_output=True, text=True,
                         timeout=120, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "60"
    assert "QObject" not in run.stderr and "Fatal" not in run.stderr


def test_a_finished_operation_is_released_by_qt_on_the_main_thread(qtbot):
    runner = TaskRunner()
    done = []
    op = runner.op(lambda: 42).success(done.append)
    relay = op.relay
    with qtbot.waitSignal(relay.finished, timeout=10_000):
        op.run()
    assert relay.parent() is runner and op.runnable is not None and not op.runnable.autoDelete()
    qtbot.waitUntil(lambda: not shiboken6.isValid(relay), timeout=5_000)  # deleteLater, after every slot ran
    assert done == [42] and not runner.busy
