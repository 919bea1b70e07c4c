"""``python -m desktop``: a thin shim over :func:`desktop.cli.main` (console script ``raxe-desktop``)."""

from __future__ import annotations

import sys

from desktop.cli import ExitCode, main

__all__ = ["ExitCode", "main"]

if __name__ == "__main__":
    sys.exit(main())
