"""Which device a backend computes on: "cpu", or the GPU API its build uses ("metal", "cuda",
"vulkan", …); "remote" for a server. Asked of the libraries, never guessed from the machine."""

from __future__ import annotations

from typing import Any

# Names in llama.cpp's system info for its GPU backends, in the order they are preferred.
_LLAMACPP_GPU_APIS = ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL", "OpenCL")


def llamacpp_device() -> str:
    from .llamacpp_backend.loading import import_llama_cpp

    llama_cpp = import_llama_cpp()
    if not llama_cpp.llama_supports_gpu_offload():
        return "cpu"
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return next((api.lower() for api in _LLAMACPP_GPU_APIS if f"{api} :" in info or f"{api} =" in info), "gpu")


def mlx_device() -> str:
    import mlx.core as mx

    return "metal" if mx.default_device().type == mx.DeviceType.gpu else "cpu"


def device_of(model: Any) -> str:
    """The device a loaded model (of any backend) runs on."""
    module = type(model).__module__
    if module.startswith(f"{__package__}.llamacpp_backend"):
        return llamacpp_device()
    if module.startswith(f"{__package__}.mlx_backend"):
        return mlx_device()
    if module.startswith(f"{__package__}.remote_backend"):
        return "remote"
    return "unknown"


def backends_info() -> dict[str, dict[str, Any]]:
    """What each local backend has here: installed or not, its version and the device it computes on."""
    from importlib import metadata

    info: dict[str, dict[str, Any]] = {}
    for name, dist, device in (("llamacpp", "llama-cpp-python", llamacpp_device), ("mlx", "mlx", mlx_device)):
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[name] = {"installed": False}
            continue
        try:
            info[name] = {"installed": True, "version": version, "device": device()}
        except Exception as exc:  # noqa: BLE001 - a backend that cannot start is reported, not raised
            info[name] = {"installed": True, "version": version, "device": None, "error": str(exc)}
    return info


def device_for(model: str | None, *, backend: str = "auto", url: str | None = None) -> str | None:
    """The device a configured model would compute on, without loading it (None: no model)."""
    from .registry import choose_backend

    if not model:
        return None
    try:
        name = choose_backend(model, backend=backend, url=url)
        return {"llamacpp": llamacpp_device, "mlx": mlx_device}.get(name, lambda: "remote")()
    except Exception:  # noqa: BLE001 - a backend that cannot start shows as unknown, the error comes on use
        return "unknown"
