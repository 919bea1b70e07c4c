"""The frozen app's entry script: what ``raxe-desktop`` runs inside the bundle.

Same as ``python -m desktop`` (tray app by default, ``scan`` / ``bench`` subcommands).
"""

import sys


def _run() -> int:
    if sys.platform == "win32":
        # onnxruntime must load its DLLs before Qt does: both ship MSVC runtime /
        # OpenMP-related DLLs and the second loader otherwise picks the wrong copy
        # (a known onnxruntime + PySide6 clash on Windows). The app does the same;
        # importing it here guarantees the order in the frozen build.
        import onnxruntime  # noqa: F401

    from desktop.__main__ import main

    return int(main() or 0)


if __name__ == "__main__":
    sys.exit(_run())
