"""All-or-nothing output: write under a temporary name beside the destination, rename at the end.

A failed, cancelled or killed conversion therefore never leaves a half-written model under
the name the user asked for; leftovers of a killed run carry the `.ippon-partial` marker and
are swept by the next conversion into the same folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DestinationExistsError, InsufficientDiskError

PARTIAL_MARKER = ".ippon-partial"
# Room for metadata, the tokenizer and file-system slack beyond the tensor bytes.
_DISK_MARGIN = 1.05
_DISK_SLACK = 64 * 1024 * 1024


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
