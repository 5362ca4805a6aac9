# Shared by scripts/run and scripts/test: create .venv at the repository root when missing
# and (re)install the project when its requirements changed. Sourced, not executed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

ensure_env() {
    local extras="$1"   # "" for the app, "test" for the test environment
    if [ ! -x "$VENV/bin/python" ]; then
        echo "ippon: creating the environment in $VENV" >&2
        "$PY" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip setuptools wheel
    fi
    # The stamp records what was installed; an unchanged pyproject.toml costs nothing.
    local want stamp="$VENV/.ippon-installed-${extras:-app}"
    want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/_env.sh" | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "ippon: installing dependencies (llama-cpp-python compiles once, then comes from pip's wheel cache)" >&2
        local spec="$ROOT"
        [ -n "$extras" ] && spec="$ROOT[$extras]"
        # Never vary CMAKE_ARGS here: pip's wheel cache ignores them, and a varying value
        # would only hide which build is cached.
        CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
            "$VENV/bin/python" -m pip install --quiet --progress-bar off -e "$spec"
        # The GPU build where this machine has one (CUDA, Vulkan; Metal is the default on Apple
        # Silicon), compiled once into .venv; says which it chose, and keeps the CPU build if it fails.
        "$VENV/bin/python" "$ROOT/scripts/llama_build.py" --venv "$VENV"
        echo "$want" > "$stamp"
    fi
}
