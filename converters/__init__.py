"""Hugging Face Qwen3 checkpoints -> GGUF (llama.cpp) and MLX, verified against the reference.

Stands alone: imports neither the app nor the engines. Heavy libraries (mlx, llama_cpp,
torch) are imported only by the work that needs them.
"""

from .api import FORMATS, ConversionResult, convert
from .checkpoint import Checkpoint, ModelKind, open_checkpoint
from .errors import (
    CheckpointError,
    ConversionCancelled,
    ConversionError,
    DestinationExistsError,
    InsufficientDiskError,
    MissingDependencyError,
    TokenizerError,
    UnsupportedModelError,
    VerificationError,
)
from .events import ConversionProgress
from .gguf_convert import GGUF_TYPES
from .mlx_convert import MLX_QUANTS
from .verify import VerificationReport

__all__ = [
    "FORMATS", "GGUF_TYPES", "MLX_QUANTS", "Checkpoint", "CheckpointError", "ConversionCancelled", "ConversionError",
    "ConversionProgress", "ConversionResult", "DestinationExistsError", "InsufficientDiskError",
    "MissingDependencyError", "ModelKind", "TokenizerError", "UnsupportedModelError", "VerificationError",
    "VerificationReport", "convert", "open_checkpoint",
]
