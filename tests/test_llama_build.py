"""Which llama-cpp-python build ./scripts/run installs, on fake machines (issue 18): fake `nvidia-smi`,
`nvcc`, `vulkaninfo` and `glslc` on a PATH of their own, and a fake pip that fails."""

from __future__ import annotations

import importlib.util
import stat
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "llama_build.py"
spec = importlib.util.spec_from_file_location("llama_build", SCRIPT)
llama_build = sys.modules["llama_build"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(llama_build)


def fake_tools(folder: Path, **tools: tuple[int, str]) -> str:
    """Executables named after the keywords, each exiting with its code after printing its text."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (code, out) in tools.items():
        exe = folder / name.replace("_", "-")
        exe.write_text(f"#!/bin/sh\ncat <<'OUT'\n{out}\nOUT\nexit {code}\n", encoding="utf-8")
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return str(folder)


GPU = (0, "NVIDIA GeForce RTX 4070, 12282 MiB")
LINUX = {"system": "Linux", "machine": "x86_64", "env": {}}


def test_nvidia_gpu_with_the_cuda_toolkit_builds_for_cuda(tmp_path):
    path = fake_tools(tmp_path / "bin", nvidia_smi=GPU, nvcc=(0, "Cuda compilation tools, release 12.4"))
    build = llama_build.detect(path=path, **LINUX)
    assert (build.name, build.cmake_args, build.compiles) == ("cuda", "-DGGML_CUDA=on", True)
    assert "RTX 4070" in build.reason


def test_nvidia_gpu_without_the_toolkit_stays_on_the_cpu_and_says_why(tmp_path):
    path = fake_tools(tmp_path / "bin", nvidia_smi=GPU)
    build = llama_build.detect(path=path, **LINUX)
    assert build.name == "cpu" and "no CUDA toolkit" in build.reason


def test_nvidia_smi_without_a_gpu_is_not_a_gpu(tmp_path):
    path = fake_tools(tmp_path / "bin", nvidia_smi=(9, "NVIDIA-SMI has failed"), nvcc=(0, "release 12.4"))
    assert llama_build.detect(path=path, **LINUX).name == "cpu"


def test_vulkan_sdk_builds_for_vulkan(tmp_path):
    path = fake_tools(tmp_path / "bin", vulkaninfo=(0, "GPU0:\n\tdeviceName = AMD Radeon RX 7600"), glslc=(0, ""))
    build = llama_build.detect(path=path, **LINUX)
    assert (build.name, build.cmake_args) == ("vulkan", "-DGGML_VULKAN=on")
    no_sdk = fake_tools(tmp_path / "bin2", vulkaninfo=(0, "GPU0:\n\tdeviceName = AMD Radeon RX 7600"))
    assert llama_build.detect(path=no_sdk, **LINUX).name == "cpu"


def test_apple_silicon_is_metal_with_the_default_build_and_others_are_cpu(tmp_path):
    empty = fake_tools(tmp_path / "bin")
    metal = llama_build.detect(system="Darwin", machine="arm64", path=empty, env={})
    assert (metal.name, metal.compiles) == ("metal", False)
    assert llama_build.detect(system="Windows", machine="AMD64", path=empty, env={}).name == "cpu"
    assert llama_build.detect(system="Darwin", machine="x86_64", path=empty, env={}).name == "cpu"


def test_the_choice_can_be_made_by_hand(tmp_path):
    path = fake_tools(tmp_path / "bin", nvidia_smi=GPU, nvcc=(0, "release 12.4"))
    chosen = llama_build.detect(path=path, system="Linux", machine="x86_64", env={"IPPON_LLAMA_BUILD": "cpu"})
    assert chosen.name == "cpu"
    wrong = llama_build.detect(path=path, system="Linux", machine="x86_64", env={"IPPON_LLAMA_BUILD": "rocm9"})
    assert wrong.name == "cpu" and "not one of" in wrong.reason


def test_a_failed_gpu_build_keeps_the_cpu_build_with_a_message(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    pip = fake_tools(tmp_path / "pip", fake_pip=(1, "CMake Error: CUDA compiler not found"))
    installed, message = llama_build.install(llama_build.Build("cuda", "test"), venv=venv, version="0.3.36",
                                             pip=[str(Path(pip) / "fake-pip")])
    assert installed == "cpu" and "cuda build failed" in message and "CUDA compiler not found" in message
    assert not (venv / ".ippon-llama-build").exists()


def test_a_gpu_build_compiles_once(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    log = tmp_path / "calls"
    pip = tmp_path / "pip"
    pip.write_text(f"#!/bin/sh\necho \"$CMAKE_ARGS $*\" >> {log}\n", encoding="utf-8")
    pip.chmod(0o755)
    build = llama_build.Build("cuda", "test")
    for _ in range(2):
        assert llama_build.install(build, venv=venv, version="0.3.36", pip=[str(pip)])[0] == "cuda"
    calls = log.read_text(encoding="utf-8").splitlines()
    assert len(calls) == 2 and calls[0].startswith("-DGGML_CUDA=on wheel") and "--no-cache-dir" in calls[0]
    assert "install" in calls[1] and "--force-reinstall" in calls[1]


@pytest.mark.parametrize("name", ["cpu", "metal"])
def test_builds_without_their_own_compile_install_nothing(tmp_path, name):
    installed, message = llama_build.install(llama_build.Build(name, "why"), venv=tmp_path, version="0.3.36",
                                             pip=["/nonexistent"])
    assert installed == name and name in message


def test_the_pin_is_read_from_pyproject():
    assert llama_build.pinned_version() == "0.3.36"
