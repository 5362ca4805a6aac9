"""GGUF models through llama-cpp-python: chat, LAST-pooled embeddings and RANK-pooled reranking.

llama_cpp is imported only when a model is loaded. Text is tokenized here with special tokens
parsed only where the Qwen3 prompt needs them, and batches are decoded directly (not through
`Llama.embed`, which tokenizes with special=False and returns n_embd floats even for RANK).
"""

from .chat import LlamaCppChatModel
from .loading import default_threads
from .pooled import LlamaCppEmbedder, LlamaCppReranker
from .vision import LlamaCppVisionEmbedder, LlamaCppVisionReranker

__all__ = ["LlamaCppChatModel", "LlamaCppEmbedder", "LlamaCppReranker", "LlamaCppVisionEmbedder", "LlamaCppVisionReranker",
           "default_threads", "load_chat_model", "load_embedder", "load_reranker", "load_vision_embedder",
           "load_vision_reranker"]

load_chat_model = LlamaCppChatModel
load_embedder = LlamaCppEmbedder
load_reranker = LlamaCppReranker
load_vision_reranker = LlamaCppVisionReranker
load_vision_embedder = LlamaCppVisionEmbedder
