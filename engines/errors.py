"""Engine errors. Each message is written for the user: it names the file or server and the reason."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engines raise on purpose."""


class MissingBackendError(EngineError, ImportError):
    """The library a backend needs is not installed."""


class ModelFileError(EngineError, FileNotFoundError):
    """The model file or folder does not exist, or cannot be read."""


class WrongModelError(EngineError, ValueError):
    """The model is of another kind (an embedder given as a chat model) or another architecture."""


class ContextOverflowError(EngineError, ValueError):
    """The input does not fit the model's context window; nothing is truncated silently."""


class RemoteError(EngineError, ConnectionError):
    """The remote server is unreachable, refused the request, or answered something unusable."""


class UnsupportedError(EngineError, NotImplementedError):
    """The backend cannot do this (for example a server without /v1/rerank)."""
