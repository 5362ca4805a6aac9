"""The models window shows why a hostile model is refused (issue 12, item 9), and installs nothing."""

from __future__ import annotations

from PySide6.QtCore import QSettings


def test_importing_a_folder_that_links_outside_says_why(qtbot, tmp_path, model_copy):
    from app.config import Config
    from app.core import models
    from app.core.service import IpponService
    from app.gui.main_window import MainWindow
    from app.gui.models_dialog import ModelsDialog

    secret = tmp_path / "private.txt"
    secret.write_text("the user's notes", encoding="utf-8")
    folder = model_copy("llm-tied")
    (folder / "notes.txt").symlink_to(secret)
    home = tmp_path / "home"
    service = IpponService(Config(data_dir=home, models_dir=home / "models", threads=1))
    window = MainWindow(service, settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    dialog = ModelsDialog(service, window.runner, window)
    try:
        with qtbot.waitSignal(dialog.import_finished, timeout=30_000):
            dialog.import_path(folder)
        assert f"a link to {secret}, outside the model folder" in dialog.status.text()
        assert dialog.installed.rowCount() == 0 and models.installed_models(home / "models") == []
    finally:
        window.runner.cancel_all()
        window.runner.wait()
        service.close()
