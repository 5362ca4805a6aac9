"""The `ippon` command: the window with no arguments (or `ippon gui …`), the CLI otherwise.

Kept apart from app.cli so that the CLI never imports Qt; this is the only module that
chooses between the two front ends.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] == "gui":
        from .gui.app import run_gui

        return run_gui(args[1:])
    from .cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
