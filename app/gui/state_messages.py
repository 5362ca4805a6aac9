"""What the window says in each state where there is no answer to show, with the way out as a link.

One QObject so the ask panel and quick ask say the same thing (and share one translation context).
Links: `add` (add folders), `models` (open the Models dialog).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QObject


class StateMessages(QObject):
    def empty_library(self) -> str:
        return self.tr("Your library is empty, so there is nothing to answer from yet. "
                       "<a href='add'>Add a folder…</a> or drop files onto the window.")

    def no_model(self) -> str:
        return self.tr("No answering model is set up yet; these are the search results. "
                       "<a href='models'>Choose a model…</a>")

    def nothing_found(self) -> str:
        return self.tr("Nothing in the library matches this question. Try other words or the terms the documents "
                       "use, ask about one thing at a time, or check in the library that the file is indexed.")

    def failed(self, reason: str) -> str:
        return self.tr("The answer failed: {reason}. The search results stay listed under Sources. "
                       "<a href='models'>Check the models…</a>").format(reason=html.escape(reason))

    def stopped(self) -> str:
        return self.tr("Stopped. Ask again to start over.")
