"""Finding the files under the paths the user added, and the problems found on the way.

Hidden files and folders are skipped. Symbolic links to folders are followed once, with a
loop check on the real folder; broken links and loops become problems, not crashes. Names
that are not valid UTF-8 (possible on Linux) are reported, since nothing can show them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from .store import normalize_path


@dataclass(frozen=True, slots=True)
class Found:
    path: str  # NFC, absolute: the file's identity
    fs_path: str  # as on the disk, for reading (Linux keeps NFD names from a Mac as they are)
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    reason: str


def discover(root: str) -> Iterator[Found | Problem]:
    """Every regular file under `root` (an absolute path as on the disk), or `root` itself when a file."""
    try:
        st = os.stat(root)
    except FileNotFoundError:
        yield Problem(normalize_path(root), "broken symbolic link" if os.path.lexists(root) else "no longer exists")
        return
    except OSError as exc:
        yield Problem(normalize_path(root), _reason(exc))
        return
    if not os.path.isdir(root):
        yield Found(normalize_path(root), root, st.st_size, st.st_mtime_ns)
        return
    yield from _walk(root, {(st.st_dev, st.st_ino)})


def _walk(folder: str, seen: set[tuple[int, int]]) -> Iterator[Found | Problem]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield Problem(normalize_path(folder), _reason(exc))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = entry.path
        if not _utf8(path):
            shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            yield Problem(normalize_path(shown), "the file name is not valid UTF-8; rename the file")
            continue
        try:
            st = entry.stat(follow_symlinks=True)
        except FileNotFoundError:
            yield Problem(normalize_path(path), "broken symbolic link" if entry.is_symlink() else "disappeared")
            continue
        except OSError as exc:
            yield Problem(normalize_path(path), _reason(exc))
            continue
        if entry.is_dir(follow_symlinks=True):
            key = (st.st_dev, st.st_ino)
            if key in seen:
                yield Problem(normalize_path(path), "symbolic link loop (the folder is already included)")
                continue
            yield from _walk(path, seen | {key})
        elif entry.is_file(follow_symlinks=True):
            yield Found(normalize_path(path), path, st.st_size, st.st_mtime_ns)


def _utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # surrogate escapes stand for undecodable bytes
        return False
    return True


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == 40:  # ELOOP
        return "symbolic link loop"
    return exc.strerror or str(exc)


def is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)

