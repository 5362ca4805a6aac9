"""Files the user removed from inside a library folder: they stay out until added again.

Without this list a removed file under a watched (or refreshed) folder comes straight back on
the next scan. The list lives in `excluded.json` beside the database, written atomically;
adding a path again (the file itself or a folder holding it) takes its entries off the list.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import IpponError
from ..locale import _
from .discovery import is_under
from .store import normalize_path


class ExclusionList:
    def __init__(self, data_dir: Path) -> None:
        self.file = Path(data_dir) / "excluded.json"

    def paths(self) -> set[str]:
        if not self.file.exists():
            return set()
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            return {str(p) for p in data["excluded"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IpponError(_("{file}: the list of removed files is damaged ({reason}); delete it to let every "
                               "file under the library's folders back in").format(file=self.file, reason=exc)) from exc

    def _save(self, paths: Iterable[str]) -> None:
        tmp = self.file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"excluded": sorted(paths)}, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, self.file)

    def exclude(self, paths: Iterable[str]) -> None:
        current = self.paths()
        wanted = current | {normalize_path(p) for p in paths}
        if wanted != current:
            self._save(wanted)

    def readmit(self, paths: Iterable[str]) -> None:
        """Paths added again: every exclusion at or under them ends."""
        current = self.paths()
        if not current:
            return
        targets = [normalize_path(p) for p in paths]
        kept = {e for e in current if not any(is_under(e, t) for t in targets)}
        if kept != current:
            self._save(kept)

    def matcher(self):  # noqa: ANN201 - a predicate on normalized paths
        """A predicate telling whether a (normalized) path is excluded, read once for a whole scan."""
        excluded = self.paths()
        if not excluded:
            return lambda _path: False
        return lambda path: any(is_under(path, e) for e in excluded)
