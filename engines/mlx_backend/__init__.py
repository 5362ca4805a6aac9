"""MLX folders (Metal on Apple Silicon, the CPU elsewhere): chat through mlx-lm's generator,
embedding and reranking through mlx-lm's Qwen3 network with the conventions of engines.qwen3.

mlx is imported only when a model is loaded.
"""

from .chat import MlxChatModel
from .pooled import MlxEmbedder, MlxReranker
from .vision import MlxVisionEmbedder, MlxVisionReranker

__all__ = ["MlxChatModel", "MlxEmbedder", "MlxReranker", "MlxVisionEmbedder", "MlxVisionReranker", "load_chat_model",
           "load_embedder", "load_reranker", "load_vision_embedder", "load_vision_reranker"]

load_chat_model = MlxChatModel
load_embedder = MlxEmbedder
load_reranker = MlxReranker
load_vision_reranker = MlxVisionReranker
load_vision_embedder = MlxVisionEmbedder
