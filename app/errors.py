"""Errors whose message is what the user sees (front ends print them as they are)."""

from __future__ import annotations


class IpponError(Exception):
    """Base of every error Ippon reports to the user."""


class ConfigError(IpponError, ValueError):
    """The configuration file is unreadable or holds a bad value."""
