"""What the picker needs to know about this machine: RAM, Apple Silicon or not, free disk.

The standard library is enough (os.sysconf, sysctl on macOS, shutil.disk_usage), so psutil
is not a dependency.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from engines.registry import is_apple_silicon

GIB = 2**30


@dataclass(frozen=True, slots=True)
class Machine:
    ram_bytes: int
    apple_silicon: bool
    free_disk_bytes: int

    @property
    def ram_gib(self) -> float:
        return self.ram_bytes / GIB

    @property
    def free_disk_gib(self) -> float:
        return self.free_disk_bytes / GIB

    def as_dict(self) -> dict[str, object]:
        return {"ram_gb": round(self.ram_gib, 1), "chip": "apple" if self.apple_silicon else "x86",
                "free_disk_gb": round(self.free_disk_gib, 1)}


def total_ram_bytes() -> int:
    """Physical memory; 0 when it cannot be read (the picker then assumes the smallest machine)."""
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "hw.memsize"], capture_output=True, text=True, timeout=5,
                                 check=True).stdout
            return int(out.strip())
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    if sys.platform == "win32":
        return _windows_ram_bytes()
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _windows_ram_bytes() -> int:
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                    ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                    ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                    ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                    ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    ok = ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status))  # type: ignore[attr-defined]
    return int(status.ullTotalPhys) if ok else 0


def free_disk_bytes(path: Path) -> int:
    """Free bytes on the disk holding `path` (or its nearest existing parent: models_dir may not exist yet)."""
    path = Path(path).expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def detect_machine(models_dir: Path, *, ram_gib: float | None = None, apple_silicon: bool | None = None,
                   disk_gib: float | None = None) -> Machine:
    """This machine, with any of its three facts replaced (`ippon models recommend --assume-…`)."""
    ram = int(ram_gib * GIB) if ram_gib is not None else total_ram_bytes()
    apple = apple_silicon if apple_silicon is not None else is_apple_silicon()
    disk = int(disk_gib * GIB) if disk_gib is not None else free_disk_bytes(models_dir)
    return Machine(ram_bytes=ram, apple_silicon=apple, free_disk_bytes=disk)
