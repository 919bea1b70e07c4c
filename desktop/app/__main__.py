"""``python -m desktop.app``: the tray app directly (``python -m desktop`` does the same)."""

import sys

from desktop.app.main import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
