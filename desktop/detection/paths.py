"""Where the core finds its files: one small object for everything environmental.

The model files live in ``models/`` next to the ``desktop`` package in a source
checkout, and under ``sys._MEIPASS`` in a PyInstaller bundle. ``RAXE_MODEL_DIR``
overrides both (useful for trying a new model without rebuilding). No Qt here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Environment variable that points the detector at another model directory.
MODEL_DIR_ENV = "RAXE_MODEL_DIR"

MODEL_FILE = "l2_classifier.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class Paths:
    """Resolved locations; build with :meth:`Paths.detect` or by hand in tests."""

    #: True in a frozen (PyInstaller) build.
    frozen: bool
    #: The directory holding ``desktop/`` and ``models/`` (the repo or the bundle).
    bundle_root: Path
    model_dir: Path

    @classmethod
    def detect(cls, environ: Mapping[str, str] | None = None) -> Paths:
        env = os.environ if environ is None else environ
        meipass = getattr(sys, "_MEIPASS", None)
        frozen = bool(getattr(sys, "frozen", False)) and meipass is not None
        # in a checkout: desktop/detection/paths.py -> the directory above ``desktop``
        source_root = Path(__file__).resolve().parent.parent.parent
        root = Path(str(meipass)) if frozen else source_root
        override = env.get(MODEL_DIR_ENV, "").strip()
        model_dir = Path(override).expanduser() if override else root / "models"
        return cls(frozen=frozen, bundle_root=root, model_dir=model_dir)


def default_model_dir() -> Path:
    """The model directory the detector uses when none is given."""
    return Paths.detect().model_dir
