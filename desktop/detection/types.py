"""Plain data passed between the core's stages (normalise -> rules/model -> fuse -> explain).

Everything here is an immutable dataclass with no behaviour beyond small helpers,
so the app layer, the CLI and the tests can build and compare them freely.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from desktop.detection.categories import Category, Severity


@dataclass(frozen=True)
class NormalizationStep:
    """One change ``normalize`` made, recorded so that it can be explained.

    ``kind`` is a short machine name: ``nfkc``, ``zero_width``, ``bidi``,
    ``tag_chars``, ``spaced_letters``, ``homoglyphs``, ``base64``, ``hex``,
    ``url_encoding``, ``size_bound``... ``count`` is how many characters or
    items it touched.
    """

    kind: str
    count: int
    note: str = ""


@dataclass(frozen=True)
class HiddenLayer:
    """Text that was hidden in the input and decoded (tag characters, base64...).

    ``start``/``end`` are character offsets of the carrier in the *original* text.
    """

    kind: str
    start: int
    end: int
    decoded: str
    depth: int = 1


@dataclass(frozen=True)
class NormalizedText:
    original: str
    text: str
    steps: tuple[NormalizationStep, ...] = ()
    hidden_layers: tuple[HiddenLayer, ...] = ()
    #: True when the input was cut to the size bound before normalising.
    truncated: bool = False
    scanned_chars: int = 0


@dataclass(frozen=True)
class Evidence:
    """A span that supports a verdict.

    ``source`` is ``"rule"``, ``"model"`` or ``"hidden"`` (found in a decoded hidden
    layer). Offsets index the original text where they can be mapped back; for
    hidden-layer evidence they cover the carrier.
    """

    category: Category
    source: str
    start: int
    end: int
    message: str
    severity: Severity
    rule_id: str = ""
    confidence: float = 1.0
    #: A safe-to-show excerpt (already redacted for PII and secrets).
    excerpt: str = ""


@dataclass(frozen=True)
class DetectionResult:
    category: Category
    confidence: float
    scores: dict[str, float]
    severity: Severity
    evidence: tuple[Evidence, ...]
    explanation: str
    details: str
    hidden_content: tuple[HiddenLayer, ...] = ()
    truncated: bool = False
    scanned_chars: int = 0
    total_chars: int = 0
    latency_ms: float = 0.0
    #: "model+rules" or "rules-only" (when no model is available), and why.
    mode: str = "model+rules"
    mode_reason: str = ""
    normalization: tuple[NormalizationStep, ...] = field(default=())
    #: On a benign verdict only: the threat class the model leaned towards (probability
    #: at least :data:`desktop.detection.detector.NEAR_MISS_FLOOR`) without reaching the
    #: class's alarm threshold, and that threshold. ``None`` when nothing came close or the
    #: model did not run.
    near_miss: Category | None = None
    near_miss_threshold: float | None = None

    @property
    def label(self) -> str:
        return self.category.label

    @property
    def is_threat(self) -> bool:
        return self.category is not Category.BENIGN

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as their labels)."""

        def conv(value: Any) -> Any:
            if isinstance(value, Category | Severity):
                return value.label
            if isinstance(value, dict):
                return {k: conv(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [conv(v) for v in value]
            return value

        data = {k: conv(v) for k, v in asdict(self).items()}
        data["label"] = self.label
        data["is_threat"] = self.is_threat
        return data
