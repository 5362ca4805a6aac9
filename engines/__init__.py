"""Model runtimes behind one Qwen3 interface: llama.cpp (GGUF), MLX, and remote OpenAI-compatible servers.

Importing this package loads neither llama_cpp nor mlx; a backend's library is imported
when one of its models is loaded.
"""

from .base import (AnswerDelta, CancelToken, Candidate, CandidateFailure, ChatDone, ChatEvent, ChatModel, ChatSettings, ChatStats,
                   Embedder, Message, PromptView, Reranker, ThinkingDelta, VisionEmbedder, VisionReranker)
from .errors import (ContextOverflowError, EngineError, MissingBackendError, ModelFileError, RemoteError,
                     UnsupportedError, WrongModelError)
from .registry import (BACKENDS, choose_backend, default_backend, is_vision_model, load_chat_model, load_embedder,
                       load_reranker, load_vision_embedder, load_vision_reranker)

__all__ = ["BACKENDS", "AnswerDelta", "CancelToken", "Candidate", "CandidateFailure", "ChatDone", "ChatEvent", "ChatModel",
           "ChatSettings", "ChatStats", "ContextOverflowError", "Embedder", "EngineError", "Message",
           "MissingBackendError", "ModelFileError", "PromptView", "RemoteError", "Reranker", "ThinkingDelta",
           "UnsupportedError", "VisionEmbedder", "VisionReranker", "WrongModelError", "choose_backend", "default_backend",
           "is_vision_model", "load_chat_model", "load_embedder", "load_reranker", "load_vision_embedder",
           "load_vision_reranker"]
