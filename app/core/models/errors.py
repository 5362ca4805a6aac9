"""Errors of the model manager; each message is what the user reads, naming what to do next."""

from __future__ import annotations

from ...errors import IpponError


class ModelsError(IpponError):
    """A model could not be found, fetched, checked or installed."""


class CatalogError(ModelsError, ValueError):
    """The model catalog (resources/models.toml or a catalog passed in) is unreadable or inconsistent."""


class UnknownModelError(ModelsError, LookupError):
    """No catalog entry or installed model has this name."""


class OfflineError(ModelsError, ConnectionError):
    """The Hugging Face Hub cannot be reached (no network, HF_HUB_OFFLINE, or the server is down)."""


class NotEnoughDiskError(ModelsError, OSError):
    """The download (and conversion) would not fit on the disk."""


class ChecksumError(ModelsError, ValueError):
    """A downloaded file does not match the size or hash the Hub published, even after fetching it again."""


class DownloadCancelled(ModelsError):
    """The caller cancelled; the partial files are kept so that the same pull resumes."""


class ImportRefusedError(ModelsError, ValueError):
    """A local file or folder is not a model Ippon can install (wrong kind, architecture or layout)."""


class AlreadyInstalledError(ModelsError, FileExistsError):
    """An installed model already has this name."""
