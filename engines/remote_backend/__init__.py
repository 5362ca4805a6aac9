"""Any OpenAI-compatible server (vLLM, llama.cpp server, mlx_lm.server, llama-cpp-python's server):
chat through /v1/chat/completions, embeddings through /v1/embeddings, reranking through /v1/rerank.

The model is the model's name on the server. Options of every loader:

- url (required): the server, with or without the trailing /v1, e.g. http://127.0.0.1:8000;
- api_key: sent as "Authorization: Bearer …"; when not given, the IPPON_REMOTE_API_KEY
  environment variable is used (OPENAI_API_KEY is not read: it belongs to another service);
- timeout: seconds for connecting and between two reads of an answer (default 300).

Only the standard library speaks HTTP here; nothing is imported that the other backends need.
Loading talks to the server once (the model list, an embedding, a rerank) so an unreachable or
unsuitable server is reported at load rather than at first use.
"""

from .chat import RemoteChatModel
from .client import API_KEY_ENV
from .pooled import RemoteEmbedder, RemoteReranker
from .vision import RemoteVisionEmbedder, RemoteVisionReranker

__all__ = ["API_KEY_ENV", "RemoteChatModel", "RemoteEmbedder", "RemoteReranker", "RemoteVisionEmbedder",
           "RemoteVisionReranker", "load_chat_model", "load_embedder", "load_reranker", "load_vision_embedder",
           "load_vision_reranker"]

load_chat_model = RemoteChatModel
load_embedder = RemoteEmbedder
load_reranker = RemoteReranker
load_vision_reranker = RemoteVisionReranker
load_vision_embedder = RemoteVisionEmbedder
