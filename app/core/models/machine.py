"""What the picker needs to know about this machine: RAM, Apple Silicon or not, free disk, the
cores llama.cpp uses, and an NVIDIA GPU's memory where llama.cpp's build can use it.

The standard library is enough (os.sysconf, sysctl on macOS, shutil.disk_usage, nvidia-smi),
so psutil is not a dependency.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from engines.registry import is_apple_silicon

from ...locale import _, ngettext

GIB = 2**30


# Effective prefill speed, in FLOP/s (a token costs about 2 FLOP per parameter). The CPU figure
# is what llama.cpp's q4_k_m/q8_0 kernels reach per core on the test machines (Qwen3-0.6B read
# about 390 tokens/s on 2 cores); the GPU figures are conservative for consumer parts.
CPU_FLOPS_PER_CORE = 240e9
APPLE_GPU_FLOPS = 2.5e12
NVIDIA_GPU_FLOPS = 20e12


@dataclass(frozen=True, slots=True)
class Machine:
    ram_bytes: int
    apple_silicon: bool
    free_disk_bytes: int
    cores: int = 4  # the cores llama.cpp computes on (without a GPU, prefill speed grows with them)
    gpu_bytes: int = 0  # memory of an NVIDIA GPU that llama.cpp's build offloads to (0: none)

    def prefill_tokens_per_s(self, params_b: float) -> float:
        """Estimated prompt tokens per second of a model of `params_b` billion parameters."""
        if self.apple_silicon:
            flops = APPLE_GPU_FLOPS
        elif self.gpu_bytes:
            flops = NVIDIA_GPU_FLOPS
        else:
            flops = CPU_FLOPS_PER_CORE * max(1, self.cores)
        return flops / (2 * params_b * 1e9)

    @property
    def compute(self) -> str:
        """What computes the models here, for people."""
        if self.apple_silicon:
            return _("Apple Silicon's GPU")
        if self.gpu_bytes:
            return _("an NVIDIA GPU ({gb:.0f} GB)").format(gb=self.gpu_bytes / GIB)
        return ngettext("{n} CPU core", "{n} CPU cores", self.cores).format(n=self.cores)

    @property
    def ram_gib(self) -> float:
        return self.ram_bytes / GIB

    @property
    def free_disk_gib(self) -> float:
        return self.free_disk_bytes / GIB

    def as_dict(self) -> dict[str, object]:
        return {"ram_gb": round(self.ram_gib, 1), "chip": "apple" if self.apple_silicon else "x86",
                "free_disk_gb": round(self.free_disk_gib, 1), "cores": self.cores,
                "gpu_gb": round(self.gpu_bytes / GIB, 1)}


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


def nvidia_gpu_bytes() -> int:
    """The largest NVIDIA GPU's memory when llama.cpp's build here is a CUDA one, else 0."""
    from engines.devices import llamacpp_device
    from engines.errors import EngineError

    try:
        if llamacpp_device() != "cuda":
            return 0
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        return max(int(float(line)) for line in out.split()) * 2**20
    except (OSError, ValueError, subprocess.SubprocessError, EngineError):
        return 0


def detect_machine(models_dir: Path, *, ram_gib: float | None = None, apple_silicon: bool | None = None,
                   disk_gib: float | None = None, cores: int | None = None, gpu_gib: float | None = None) -> Machine:
    """This machine, with any of its facts replaced (`ippon models recommend --assume-…`)."""
    from engines.llamacpp_backend.loading import default_threads

    ram = int(ram_gib * GIB) if ram_gib is not None else total_ram_bytes()
    apple = apple_silicon if apple_silicon is not None else is_apple_silicon()
    disk = int(disk_gib * GIB) if disk_gib is not None else free_disk_bytes(models_dir)
    gpu = int(gpu_gib * GIB) if gpu_gib is not None else (0 if apple else nvidia_gpu_bytes())
    return Machine(ram_bytes=ram, apple_silicon=apple, free_disk_bytes=disk, cores=cores or default_threads(),
                   gpu_bytes=gpu)
