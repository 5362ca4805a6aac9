"""argparse's own words (usage, option headings, its error messages) in the user's language.

argparse looks its messages up through the module-global `_` and `ngettext` it imported from
gettext, in gettext's default domain, which follows LANG but not IPPON_LANG. Pointing those two
names at Ippon's catalog makes `ippon --help` and a mistyped command speak one language. The
messages are listed here with N_() so that extraction keeps them in the catalog and the test
that wants Japanese for every string covers them too.
"""

from __future__ import annotations

import argparse

from ..locale import N_, _, ngettext

ARGPARSE_MESSAGES = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"), N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"), N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"), N_("expected at most one argument"), N_("expected at least one argument"),
    N_("not allowed with argument %s"), N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"), N_("ignored explicit argument %r"),
    N_("can't open '%(filename)s': %(error)s"),
)


def speak_the_users_language() -> None:
    """Make argparse translate through Ippon's catalog (idempotent)."""
    argparse._ = _  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]
