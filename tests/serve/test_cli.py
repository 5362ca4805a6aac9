"""`ippon serve` as a user runs it: it says where it listens and how to get the key, and stops cleanly on signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from app.serve.auth import api_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_its_address_and_stops_cleanly_on_a_signal(tmp_path, sig):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("serve_port = 0\n", encoding="utf-8")
    code = "import sys; from app.cli import main; sys.exit(main(['serve']))"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "IPPON_HOME": str(home), "IPPON_LANG": "en"})
    try:
        first = proc.stderr.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)/v1", first).group(1)
        assert "ippon serve key" in proc.stderr.readline()
        for _ in range(100):
            try:
                health = httpx.get(url + "/health", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        key = api_key(home)
        assert httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=5).status_code == 200
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/health", timeout=5)
