"""Models: the catalog, the hardware-aware picker, downloads from the Hub with resume and
verification, local imports, and the registry of installed models (one folder each)."""

from .catalog import DEFAULT_CATALOG, Catalog, CatalogEntry, Needs, load_catalog
from .download import DownloadProgress
from .errors import (AlreadyInstalledError, CatalogError, ChecksumError, DownloadCancelled, ImportRefusedError,
                     ModelsError, NotEnoughDiskError, OfflineError, UnknownModelError)
from .hub import hub_endpoint, is_offline
from .installed import MANIFEST, InstalledModel, find_installed, installed_models, remove_installed
from .local import LocalModel, import_model, inspect_local
from .machine import Machine, detect_machine
from .picker import Pick, Recommendation, guide_table, recommend
from .pulling import PullResult, default_format, default_quant, install_name, pull

__all__ = [
    "DEFAULT_CATALOG", "MANIFEST", "AlreadyInstalledError", "Catalog", "CatalogEntry", "CatalogError",
    "ChecksumError", "DownloadCancelled", "DownloadProgress", "ImportRefusedError", "InstalledModel", "LocalModel",
    "Machine", "ModelsError", "Needs", "NotEnoughDiskError", "OfflineError", "Pick", "PullResult", "Recommendation",
    "UnknownModelError", "default_format", "default_quant", "detect_machine", "find_installed", "guide_table",
    "hub_endpoint", "import_model", "inspect_local", "install_name", "installed_models", "is_offline",
    "load_catalog", "pull", "recommend", "remove_installed",
]
