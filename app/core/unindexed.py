"""Files under the library's folders that are not in the index, and why (for the library panel).

Ingest counts files of unknown types without storing them; a user looking for their .xlsx
wants to see it listed with the reason rather than wonder where it went.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..locale import _
from . import sources
from .discovery import LinkPolicy, Problem, discover


@dataclass(frozen=True, slots=True)
class UnindexedFile:
    path: str  # NFC, absolute
    reason: str  # in the user's language


def unindexed_files(roots: Iterable[str], *, excluded: Callable[[str], bool] | None = None,
                    limit: int = 2000, links: LinkPolicy = LinkPolicy()) -> list[UnindexedFile]:
    """Files of types Ippon does not read under `roots` (bounded: a huge folder lists its first `limit`);
    `links` as the ingest follows them (Library.link_policy())."""
    found: list[UnindexedFile] = []
    for root in roots:
        for item in discover(root, links=links):
            if isinstance(item, Problem) or (excluded is not None and excluded(item.path)):
                continue  # problems are stored with the failed files already
            if sources.format_for(Path(item.path)) is None:
                suffix = Path(item.path).suffix.lower()
                reason = (_("Ippon does not read {suffix} files").format(suffix=suffix) if suffix
                          else _("a file without an extension (Ippon reads files by their type)"))
                found.append(UnindexedFile(item.path, reason))
                if len(found) >= limit:
                    return found
    return found
