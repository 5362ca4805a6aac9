"""All-or-nothing output: write under a temporary name beside the destination, rename at the end.

A failed, cancelled or killed conversion therefore never leaves a half-written model under
the name the user asked for; leftovers of a killed run carry the `.ippon-partial` marker and
are swept by the next conversion into the same folder.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import DestinationExistsError, InsufficientDiskError

PARTIAL_MARKER = ".ippon-partial"
# Room for metadata, the tokenizer and file-system slack beyond the tensor bytes.
_DISK_MARGIN = 1.05
_DISK_SLACK = 64 * 1024 * 1024
_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def check_destination(dst: Path, *, force: bool) -> None:
    if (dst.exists() or dst.is_symlink()) and not force:
        raise DestinationExistsError(f"{dst}: already exists (pass --force to replace it)")


def check_free_disk(folder: Path, needed_bytes: int) -> None:
    free = shutil.disk_usage(folder).free
    needed = int(needed_bytes * _DISK_MARGIN) + _DISK_SLACK
    if free < needed:
        raise InsufficientDiskError(f"{folder}: not enough free disk: the output needs about "
                                    f"{needed / 2**30:.2f} GiB and {free / 2**30:.2f} GiB is free")


@contextmanager
def atomic_output(dst: Path, *, force: bool, needed_bytes: int, is_dir: bool) -> Iterator[Path]:
    """Yield a temporary path to write into; on success it becomes `dst`, on failure it vanishes."""
    dst = Path(dst).expanduser().absolute()
    check_destination(dst, force=force)
    dst.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale_partials(dst)
    check_free_disk(dst.parent, needed_bytes)
    tmp = dst.with_name(f".{dst.name}{PARTIAL_MARKER}-{os.getpid()}")
    _remove(tmp)
    if is_dir:
        tmp.mkdir()
    try:
        yield tmp
        if dst.exists() or dst.is_symlink():
            # Move the old output aside first, so a crash here still leaves one whole model.
            old = dst.with_name(f".{dst.name}{PARTIAL_MARKER}-old-{os.getpid()}")
            os.replace(dst, old)
            os.replace(tmp, dst)
            _remove(old)
        else:
            os.replace(tmp, dst)
    except BaseException:
        _remove(tmp)
        raise


def reserve_file(path: Path, size: int) -> None:
    """Grow the file at `path` to `size` bytes (what is never written reads as zeros),
    reserving the disk where the system can (posix_fallocate): a disk that fills meanwhile is
    then an error here, naming the file, before any work is done."""
    with open(path, "r+b") as f:
        try:
            if hasattr(os, "posix_fallocate") and size > 0:
                os.posix_fallocate(f.fileno(), 0, size)
            else:
                f.truncate(size)
        except OSError as exc:
            if exc.errno in _DISK_FULL:
                raise InsufficientDiskError(f"{path}: not enough free disk for {size / 2**30:.2f} GiB") from exc
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
            f.truncate(size)  # a file system without preallocation


class SliceWriter:
    """Writes byte slices at their offsets in one file, from any number of threads at once.

    Worker threads each write the slices they convert (os.pwrite releases the GIL, and needs no
    shared file position); where the system has no pwrite, writes take turns under a lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "r+b")  # noqa: SIM115 - closed by close()/__exit__
        self._lock = threading.Lock()

    def write(self, data: np.ndarray, offset: int) -> None:
        view = memoryview(np.ascontiguousarray(data)).cast("B")
        try:
            if hasattr(os, "pwrite"):
                while view:  # pwrite may write less than asked
                    written = os.pwrite(self._file.fileno(), view, offset)
                    view, offset = view[written:], offset + written
                return
            with self._lock:
                self._file.seek(offset)
                self._file.write(view)
        except OSError as exc:
            if exc.errno in _DISK_FULL:  # where no space could be reserved up front
                raise InsufficientDiskError(f"{self.path}: the disk filled up while writing") from exc
            raise

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SliceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sweep_stale_partials(dst: Path) -> None:
    for leftover in dst.parent.glob(f".{dst.name}{PARTIAL_MARKER}-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and _process_alive(int(pid)) and int(pid) != os.getpid():
            continue  # another conversion is writing it right now
        _remove(leftover)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)
