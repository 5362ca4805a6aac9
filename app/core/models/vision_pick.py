"""Which Qwen3-VL-Reranker suits this machine, if any: images are judged on top of the three text models.

The rule: below 8 GB of RAM none (a 2B vision model and its images do not fit beside the
others); from 8 to 16 GB the 2B; above 16 GB the 8B. 8-bit, as the text reranker (rerankers
lose more to 4-bit than LLMs do), in the machine's format (MLX on Apple Silicon, else GGUF).
"""

from __future__ import annotations

from ...locale import _
from .catalog import GIB, Catalog
from .machine import Machine
from .picker import QUANTS, Pick

SMALLEST_RAM, LARGE_RAM = 8 * GIB, 16 * GIB


def recommend_vision_reranker(machine: Machine, catalog: Catalog) -> Pick | None:
    """The VL reranker for `machine`, with its reason; None below 8 GB of RAM or when the catalog has none."""
    entries = sorted(catalog.of_kind("vl-reranker"), key=lambda e: e.params_b)
    if not entries or machine.ram_bytes < SMALLEST_RAM:
        return None
    fmt = "mlx" if machine.apple_silicon else "gguf"
    quant = QUANTS[fmt][1]
    small, large = entries[0], entries[-1]
    if machine.ram_bytes > LARGE_RAM and large is not small:
        return Pick("vision_reranker", large, quant, fmt, _(
            "With more than 16 GB RAM, {name} (about {gb:.1f} GB at 8-bit) judges screenshots and figures best.").format(
            name=large.name, gb=large.needs(quant).memory / GIB))
    return Pick("vision_reranker", small, quant, fmt, _(
        "{name} (about {gb:.1f} GB at 8-bit) judges screenshots and figures by their pixels on a machine with "
        "8 to 16 GB RAM.").format(name=small.name, gb=small.needs(quant).memory / GIB))
