"""The models window shows why a hostile model is refused (issue 12, item 9) and what a download
could not check."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from tests.core.test_models import GGUF_FILE, catalog_file, hub  # noqa: F401 - the local Hub and its catalog


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


def test_a_download_says_which_files_the_hub_published_no_hash_for(qtbot, tmp_path, hub, catalog_file,
                                                                 monkeypatch):
    from app.config import Config
    from app.core import models
    from app.core.service import IpponService
    from app.gui.main_window import MainWindow
    from app.gui.models_dialog import ModelsDialog

    hub.repos["ippon-test/Tiny-Embedding-GGUF"].files[GGUF_FILE].unhashed = True
    home = tmp_path / "home"
    service = IpponService(Config(data_dir=home, models_dir=home / "models", threads=1))
    real_pull = IpponService.pull_model
    monkeypatch.setattr(service, "pull_model", lambda name, **options: real_pull(service, name, catalog=catalog_file,
                                                                                 **options))
    window = MainWindow(service, settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    dialog = ModelsDialog(service, window.runner, window)
    entry = models.load_catalog(catalog_file).get("Tiny-Embedding")
    dialog._picks = [models.Pick("embedder", entry, "f16", "gguf", "the test's pick", 64)]  # noqa: SLF001
    try:
        with qtbot.waitSignal(dialog.changed, timeout=60_000):
            dialog.download_recommended()
        assert f"publishes no hash for {GGUF_FILE}: it was installed checked by size only" in dialog.status.text()
        assert [m.name for m in models.installed_models(home / "models")] == ["tiny-embedding-gguf-f16"]
    finally:
        window.runner.cancel_all()
        window.runner.wait()
        service.close()
