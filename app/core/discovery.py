"""Finding the files under the paths the user added, and the problems found on the way.

Hidden files and folders are skipped. Symbolic links to folders are followed once, with a
loop check on the real folder; broken links and loops become problems, not crashes. Names
that are not valid UTF-8 (possible on Linux) are reported, since nothing can show them.

Only regular files are found: a FIFO, a device (a link to /dev/zero) or a socket is a problem
with its reason, since reading one blocks or never ends. A symbolic link inside an added
folder whose target lies outside it (`p.txt -> /etc/passwd`, `etc -> /etc`) is not followed
unless the LinkPolicy says so: dropping a link into a shared folder must not make the rest of
the disk searchable. The path the user added is followed wherever it points.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from ..locale import _
from .sources.reading import not_regular_reason
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
    skipped: bool = False  # passed over on purpose (a link leaving the folder), not a failure


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """Where a symbolic link found inside an added folder may lead."""

    follow_external: bool = False  # the `follow_external_links` setting
    # The paths the user added (absolute, as on the disk). A root under one of them that was not
    # added itself (a watched folder's event path) is held to the outermost; any other root is an
    # added path, followed wherever it points.
    added: frozenset[str] = frozenset()

    def boundary(self, root: str) -> str:
        if root in self.added:
            return root  # a path the user added is theirs to follow, wherever it points
        outermost, folder = root, os.path.dirname(root)
        while True:  # up the folders, not through the list: `ippon add *.txt` adds thousands of paths
            if folder in self.added:
                outermost = folder
            parent = os.path.dirname(folder)
            if parent == folder:
                return outermost
            folder = parent


def discover(root: str, *, links: LinkPolicy = LinkPolicy()) -> Iterator[Found | Problem]:
    """Every regular file under `root` (an absolute path as on the disk), or `root` itself when a file."""
    boundary = links.boundary(root)
    if boundary != root and not links.follow_external:
        target = os.path.realpath(root)
        if not is_under(target, os.path.realpath(boundary)):
            yield Problem(normalize_path(root), _external_reason(target), skipped=True)
            return
    try:
        st = os.stat(root)
    except FileNotFoundError:
        yield Problem(normalize_path(root), _("broken symbolic link") if os.path.lexists(root)
                      else _("no longer exists"))
        return
    except OSError as exc:
        yield Problem(normalize_path(root), _reason(exc))
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _walk(root, {(st.st_dev, st.st_ino)}, None if links.follow_external else os.path.realpath(boundary))
        return
    reason = not_regular_reason(st.st_mode)
    if reason is not None:
        yield Problem(normalize_path(root), reason)
        return
    yield Found(normalize_path(root), root, st.st_size, st.st_mtime_ns)


def _walk(folder: str, seen: set[tuple[int, int]], boundary: str | None) -> Iterator[Found | Problem]:
    """`boundary`: the real path symbolic links must resolve inside, or None to follow them anywhere."""
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
            yield Problem(normalize_path(shown), _("the file name is not valid UTF-8; rename the file"))
            continue
        try:
            st = entry.stat(follow_symlinks=True)  # the one stat per file; is_symlink() reads the listing
        except FileNotFoundError:
            yield Problem(normalize_path(path), _("broken symbolic link") if entry.is_symlink() else _("disappeared"))
            continue
        except OSError as exc:
            yield Problem(normalize_path(path), _reason(exc))
            continue
        if boundary is not None and entry.is_symlink():
            target = os.path.realpath(path)
            if not is_under(target, boundary):
                yield Problem(normalize_path(path), _external_reason(target), skipped=True)
                continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in seen:
                yield Problem(normalize_path(path), _("symbolic link loop (the folder is already included)"))
                continue
            yield from _walk(path, seen | {key}, boundary)
        elif stat.S_ISREG(st.st_mode):
            yield Found(normalize_path(path), path, st.st_size, st.st_mtime_ns)
        else:
            yield Problem(normalize_path(path), not_regular_reason(st.st_mode) or _("not a regular file"))


def _external_reason(target: str) -> str:
    shown = target.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _("a symbolic link to {target}, outside the added folder: not followed (set follow_external_links = "
             "true to follow such links)").format(target=shown)


def _utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # surrogate escapes stand for undecodable bytes
        return False
    return True


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return _("permission denied")
    if exc.errno == errno.ELOOP:
        return _("symbolic link loop")
    return exc.strerror or str(exc)


def is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
