from __future__ import annotations

import pytest

from converters import convert


@pytest.fixture(scope="module")
def converted(request, test_models, tmp_path_factory):
    """(model, quant) -> ConversionResult in the test module's FORMAT, converted and verified once."""
    fmt = request.module.FORMAT
    out_dir = tmp_path_factory.mktemp(fmt)
    cache = {}

    def get(model: str, quant: str | None):
        if (model, quant) not in cache:
            suffix = ".gguf" if fmt == "gguf" else ""
            cache[model, quant] = convert(test_models[model], to=fmt, quant=quant,
                                          out=out_dir / f"{model}-{quant}{suffix}", verify=True)
        return cache[model, quant]
    return get


def checks_of(result) -> dict[str, float]:
    return {c.name: c.value for c in result.verification.checks}
