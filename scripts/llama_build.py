#!/usr/bin/env python3
"""Which llama-cpp-python build this machine should run, and installing it.

`./scripts/run` and `./scripts/test` install the project first (llama-cpp-python's plain build,
from pip's wheel cache after the first time), then call this script:

- Apple Silicon macOS: the plain build already uses Metal; nothing more to do.
- An NVIDIA GPU (`nvidia-smi` lists one) and the CUDA toolkit (`nvcc`): a CUDA build.
- The Vulkan SDK (`vulkaninfo` sees a device and `glslc` compiles shaders): a Vulkan build.
- Anything else: the CPU build, as installed.

A GPU build is compiled once into the environment's own folder (`.venv/llama-builds/NAME`,
never pip's shared cache, whose key ignores CMAKE_ARGS and would hand the CPU wheel back),
then installed over the plain one. If it fails, the CPU build stays, with a message saying
why. `IPPON_LLAMA_BUILD=cpu|metal|cuda|vulkan` chooses by hand. Uses only the standard
library: it runs before the project is importable.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILDS = ("cpu", "metal", "cuda", "vulkan")
CMAKE_ARGS = {"cpu": "", "metal": "", "cuda": "-DGGML_CUDA=on", "vulkan": "-DGGML_VULKAN=on"}


@dataclass(frozen=True)
class Build:
    name: str  # one of BUILDS
    reason: str

    @property
    def cmake_args(self) -> str:
        return CMAKE_ARGS[self.name]

    @property
    def compiles(self) -> bool:
        """Whether it needs its own compile (the plain build is CPU everywhere but Apple Silicon)."""
        return self.name in ("cuda", "vulkan")


def _runs(command: list[str], path: str | None) -> str | None:
    """The command's output when it exists on `path` and succeeds, else None."""
    exe = shutil.which(command[0], path=path)
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, *command[1:]], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def detect(*, system: str | None = None, machine: str | None = None, path: str | None = None,
           env: dict[str, str] | None = None) -> Build:
    """The build for this machine (or the one described by the arguments, for tests)."""
    env = os.environ if env is None else env
    system = system or platform.system()
    machine = machine or platform.machine()
    chosen = env.get("IPPON_LLAMA_BUILD", "").strip().lower()
    if chosen:
        if chosen not in BUILDS:
            return Build("cpu", f"IPPON_LLAMA_BUILD={chosen} is not one of {', '.join(BUILDS)}; using the CPU build")
        return Build(chosen, f"IPPON_LLAMA_BUILD={chosen}")
    if system == "Darwin" and machine == "arm64":
        return Build("metal", "Apple Silicon: llama.cpp's default build uses Metal")
    gpus = _runs(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"], path)
    if gpus and gpus.strip():
        name = gpus.strip().splitlines()[0]
        if _runs(["nvcc", "--version"], path) is not None:
            return Build("cuda", f"NVIDIA GPU ({name}) and the CUDA toolkit (nvcc)")
        nvidia_without_toolkit = f"an NVIDIA GPU ({name}) but no CUDA toolkit (nvcc on PATH)"
    else:
        nvidia_without_toolkit = None
    vulkan = _runs(["vulkaninfo", "--summary"], path)
    if vulkan and "deviceName" in vulkan and shutil.which("glslc", path=path):
        return Build("vulkan", "a Vulkan device and the Vulkan SDK (glslc)")
    if nvidia_without_toolkit:
        return Build("cpu", f"{nvidia_without_toolkit}: using the CPU build; install the CUDA toolkit for a GPU build")
    return Build("cpu", "no GPU build applies (no NVIDIA GPU with CUDA, no Vulkan SDK)")


def pinned_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    match = re.search(r'"llama-cpp-python==([\w.]+)"', pyproject.read_text(encoding="utf-8"))
    if match is None:
        raise SystemExit(f"{pyproject}: no llama-cpp-python==VERSION pin")
    return match.group(1)


def install(build: Build, *, venv: Path, version: str, pip: list[str] | None = None) -> tuple[str, str]:
    """Install `build` into `venv` when it needs its own compile. Returns (installed build, message):
    on any failure the CPU build that is already installed stays."""
    if not build.compiles:
        return build.name, f"llama.cpp: {build.name} build ({build.reason})"
    pip = pip or [str(venv / "bin" / "python"), "-m", "pip"]
    stamp = venv / ".ippon-llama-build"
    want = f"{build.name} {version}"
    if stamp.exists() and stamp.read_text(encoding="utf-8").strip() == want:
        return build.name, f"llama.cpp: {build.name} build ({build.reason})"
    wheels = venv / "llama-builds" / build.name
    wheels.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CMAKE_ARGS": build.cmake_args}
    print(f"ippon: compiling llama-cpp-python {version} for {build.name} ({build.reason}); once, several minutes",
          file=sys.stderr)
    steps = [[*pip, "wheel", "--quiet", "--no-deps", "--no-cache-dir", "--no-binary", "llama-cpp-python",
              "-w", str(wheels), f"llama-cpp-python=={version}"],
             [*pip, "install", "--quiet", "--no-deps", "--force-reinstall", "--no-index", "--find-links",
              str(wheels), f"llama-cpp-python=={version}"]]
    for step in steps:
        done = subprocess.run(step, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return "cpu", (f"llama.cpp: the {build.name} build failed ({' / '.join(tail) or 'no output'}); "
                           "keeping the CPU build (IPPON_LLAMA_BUILD=cpu silences this)")
    stamp.write_text(want + "\n", encoding="utf-8")
    return build.name, f"llama.cpp: {build.name} build ({build.reason})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv")
    parser.add_argument("--detect-only", action="store_true", help="print the build this machine should have")
    args = parser.parse_args(argv)
    build = detect()
    if args.detect_only:
        print(f"{build.name}\t{build.reason}")
        return 0
    _installed, message = install(build, venv=args.venv, version=pinned_version())
    print(message, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
