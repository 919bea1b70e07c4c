"""The detection core: text in, an explained :class:`DetectionResult` out. No Qt.

``from desktop.detection import L2ThreatDetector`` is the entry point. The
detector (and with it numpy, onnxruntime and tokenizers) is imported on first
use, so importing the light modules (``categories``, ``types``) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop.detection.categories import Category, Severity
from desktop.detection.types import DetectionResult

if TYPE_CHECKING:
    from desktop.detection.detector import L2ThreatDetector

__all__ = ["Category", "DetectionResult", "L2ThreatDetector", "Severity"]


def __getattr__(name: str) -> Any:
    if name == "L2ThreatDetector":
        from desktop.detection.detector import L2ThreatDetector

        return L2ThreatDetector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
