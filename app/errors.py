"""Errors whose message is what the user sees (front ends print them as they are)."""

from __future__ import annotations

from .locale import N_, _, language


class IpponError(Exception):
    """Base of every error Ippon reports to the user."""


class ConfigError(IpponError, ValueError):
    """The configuration file is unreadable or holds a bad value."""


# Engines and converters cannot import app.locale, so their errors arrive in English. The kinds a user
# meets are introduced in the user's language; the detail after the colon, which names the file, model or
# server, stays as the engine wrote it (it is mostly names and numbers).
_FOREIGN_KINDS = {
    "MissingBackendError": N_("A library this model needs is not installed: {detail}"),
    "ModelFileError": N_("The model file cannot be used: {detail}"),
    "WrongModelError": N_("This is not the kind of model expected here: {detail}"),
    "ContextOverflowError": N_("The text does not fit the model's context window: {detail}"),
    "RemoteError": N_("The model server did not answer as expected: {detail}"),
    "UnsupportedError": N_("This backend cannot do that: {detail}"),
    "EngineError": N_("The model failed: {detail}"),
    "UnsupportedModelError": N_("This model cannot be converted: {detail}"),
    "CheckpointError": N_("The checkpoint is incomplete or damaged: {detail}"),
    "TokenizerError": N_("The model's tokenizer cannot be read: {detail}"),
    "DestinationExistsError": N_("The converted model already exists: {detail}"),
    "InsufficientDiskError": N_("Not enough disk space for the conversion: {detail}"),
    "MissingDependencyError": N_("A library the conversion needs is not installed: {detail}"),
    "VerificationError": N_("The converted model does not match the original: {detail}"),
    "ConversionCancelled": N_("The conversion was cancelled: {detail}"),
    "ConversionError": N_("The conversion failed: {detail}"),
}


def user_message(exc: BaseException) -> str:
    """What to show the user for an error meant for them, in their language."""
    detail = str(exc)
    if isinstance(exc, IpponError) or language() == "en":
        return detail  # Ippon's own messages are translated where they are raised
    for cls in type(exc).__mro__:
        if cls.__module__.split(".")[0] in ("engines", "converters") and cls.__name__ in _FOREIGN_KINDS:
            return _(_FOREIGN_KINDS[cls.__name__]).format(detail=detail)
    return detail
