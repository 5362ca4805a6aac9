"""The settings' local API switch: it starts the server in the window's process, shows address and key, stops it."""

from __future__ import annotations

import httpx2 as httpx
from PySide6.QtWidgets import QWidget

from app.config import Config
from app.core.service import IpponService
from app.gui.serve_switch import ServeControl, ServeSwitch
from app.serve.auth import api_key


def test_the_switch_starts_and_stops_the_server_and_shows_the_key(qtbot, tmp_path):
    service = IpponService(Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models", serve_port=0))
    window = QWidget()  # the control lives as long as its window, as in the app
    qtbot.addWidget(window)
    control = ServeControl(service, window)
    switch = ServeSwitch(control, window)
    assert not switch.key.isVisible() and not control.running
    with qtbot.waitSignal(control.changed, timeout=60_000):
        switch.switch.click()
    assert control.running and switch.switch.isChecked()
    url = control.server.listening.url
    assert url.startswith("http://127.0.0.1:") and url in switch.status.text()
    assert switch.key.text() == api_key(service.config.data_dir)
    assert httpx.get(url + "/health", timeout=30).json()["status"] == "ok"
    models = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {switch.key.text()}"}, timeout=30)
    assert [m["id"] for m in models.json()["data"]] == ["ippon-rag"]  # no models configured: the library only
    switch.switch.click()
    assert not control.running and not switch.switch.isChecked() and switch.key.text() == ""
    try:
        httpx.get(url + "/health", timeout=5)
        stopped = False
    except httpx.TransportError:
        stopped = True
    assert stopped


def test_a_server_that_cannot_start_says_why(qtbot, tmp_path):
    taken = IpponService(Config(data_dir=tmp_path / "a", models_dir=tmp_path / "m", serve_port=0))
    window = QWidget()
    qtbot.addWidget(window)
    first = ServeControl(taken, window)
    with qtbot.waitSignal(first.changed, timeout=60_000):
        first.start()
    port = int(first.server.listening.url.rsplit(":", 1)[1])
    second = ServeControl(IpponService(Config(data_dir=tmp_path / "b", models_dir=tmp_path / "m", serve_port=port)),
                          window)
    switch = ServeSwitch(second, window)
    with qtbot.waitSignal(second.changed, timeout=60_000):
        switch.switch.click()
    assert not second.running and not switch.switch.isChecked()
    assert str(port) in switch.status.text()
    first.stop()


def test_the_settings_dialog_shows_the_switch_of_its_window(qtbot, tmp_path):
    from app.gui.settings_dialog import SettingsDialog

    config = Config(data_dir=tmp_path / "home", models_dir=tmp_path / "models", serve_port=0)
    window = QWidget()
    qtbot.addWidget(window)
    window.serve_control = ServeControl(IpponService(config), window)
    dialog = SettingsDialog(config, window)
    qtbot.addWidget(dialog)
    (switch,) = dialog.findChildren(ServeSwitch)
    assert switch.control is window.serve_control and not switch.switch.isChecked()
    alone = SettingsDialog(config)
    qtbot.addWidget(alone)
    assert not alone.findChildren(ServeSwitch)  # no window, no server to switch
