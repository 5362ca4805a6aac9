"""A SIGKILL at any point of an ingest leaves a database that opens, holds whole files only, and
is finished by the next run with no duplicates."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from app.config import Config
from app.core.service import IpponService

N_FILES = 150  # three commit batches of files

CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from app.config import Config
    from app.core import store as store_module
    from app.core.service import IpponService

    home, corpus, point, n = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    calls = {"write": 0, "files": 0}
    original = store_module.LibraryStore.write_files

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def write_files(self, updates):
        calls["write"] += 1
        if point == "before-commit" and calls["write"] == n:
            die()
        if point == "between-commits" and calls["write"] == n and updates:
            # The chunks are committed, the sources not yet.
            self._sources.merge_insert = lambda *a, **k: die()
        return original(self, updates)

    store_module.LibraryStore.write_files = write_files

    def progress(event):
        calls["files"] += 1
        if point == "file" and calls["files"] == n:
            die()

    service = IpponService(Config(data_dir=home, models_dir=home / "models"))
    service.add([corpus], progress=progress)
    if point == "after-all":
        die()
""")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crash-corpus")
    for i in range(N_FILES):
        body = "".join(f"文書{i}の{j}番目の文です。内容は毎回少し違います。" for j in range(30 + i % 7))
        (root / f"doc{i:03d}.txt").write_text(body, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def clean_chunks(corpus, tmp_path_factory) -> int:
    home = tmp_path_factory.mktemp("clean-home")
    service = IpponService(Config(data_dir=home, models_dir=home / "models"))
    service.add([corpus])
    return service.library.store.count_chunks()


def _check_whole_files(service: IpponService) -> int:
    store = service.library.store
    ids = list(store.iter_chunk_ids())
    assert not [i for i, n in Counter(ids).items() if n > 1], "duplicate chunks"
    per_source = Counter(i.rsplit("-", 1)[0] for i in ids)
    for record in store.sources():
        assert record.status == "indexed"
        assert per_source.get(record.source_id, 0) == record.chunks, f"{record.path} is not whole"
    return len(store.sources())


@pytest.mark.parametrize(("point", "n"), [("file", 1), ("before-commit", 2), ("between-commits", 1),
                                          ("between-commits", 2), ("file", 140), ("after-all", 0)])
def test_sigkill_then_rerun(corpus, clean_chunks, tmp_path, point, n):
    home = tmp_path / "home"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", CHILD, str(home), str(corpus), point, str(n)], cwd=root,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    service = IpponService(Config(data_dir=home, models_dir=home / "models"))
    recorded = _check_whole_files(service)  # the killed run's database opens and holds whole files
    assert recorded < N_FILES or point == "after-all"
    summary = service.add([corpus])
    assert summary.added + summary.updated + summary.unchanged == N_FILES
    assert _check_whole_files(service) == N_FILES
    assert service.library.store.count_chunks() == clean_chunks
    assert len(service.search_keywords("文書149の")) >= 1
