"""Errors raised by the converters. Every message is written for the user: it names the
file and the reason, so front ends print it as it is."""

from __future__ import annotations


class ConversionError(Exception):
    """A conversion could not be done; the message says which file and why."""


class UnsupportedModelError(ConversionError, ValueError):
    """The checkpoint is not an architecture or kind the converters know."""


class CheckpointError(ConversionError, ValueError):
    """The checkpoint's files are missing, truncated, corrupt or disagree with config.json."""


class TokenizerError(ConversionError, ValueError):
    """The tokenizer files are missing or unreadable."""


class DestinationExistsError(ConversionError, FileExistsError):
    """The output path exists and --force was not given."""


class InsufficientDiskError(ConversionError, OSError):
    """Not enough free disk for the output."""


class MissingDependencyError(ConversionError, ImportError):
    """An optional library the requested work needs is not installed."""


class VerificationError(ConversionError):
    """The converted model does not match the reference within the thresholds."""


class ConversionCancelled(ConversionError):
    """The caller cancelled the conversion; nothing was written."""
