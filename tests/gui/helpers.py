"""A fake detector and result builders, so GUI tests do not depend on the model."""

from __future__ import annotations

from desktop.detection.categories import Category, Severity
from desktop.detection.types import DetectionResult, Evidence, HiddenLayer


def make_result(
    category: Category,
    *,
    confidence: float = 0.95,
    evidence=(),
    hidden=(),
    explanation: str | None = None,
    details: str = "",
) -> DetectionResult:
    return DetectionResult(
        category=category,
        confidence=confidence,
        scores={c.label: (confidence if c is category else 0.0) for c in Category},
        severity=category.info.default_severity,
        evidence=tuple(evidence),
        explanation=explanation if explanation is not None else category.info.description,
        details=details,
        hidden_content=tuple(hidden),
        mode="rules-only",
        mode_reason="fake detector",
    )


class FakeDetector:
    """DAN -> jailbreak; a card number -> PII (with evidence); BOOM -> raises; else benign."""

    def __init__(self):
        self.calls: list[int] = []

    def detect(self, text: str) -> DetectionResult:
        self.calls.append(len(text))
        if "BOOM" in text:
            raise RuntimeError("detector exploded")
        if "DAN" in text:
            start = text.index("DAN")
            return make_result(
                Category.JAILBREAK,
                evidence=[
                    Evidence(
                        Category.JAILBREAK,
                        "model",
                        start,
                        start + 3,
                        "persona template (DAN)",
                        Severity.HIGH,
                    )
                ],
                explanation="A DAN persona jailbreak: it targets the AI's rules.",
            )
        if "4111" in text:
            start = text.index("4111")
            end = start + len("4111 1111 1111 1111")
            return make_result(
                Category.PII_EXPOSURE,
                evidence=[
                    Evidence(
                        Category.PII_EXPOSURE,
                        "rule",
                        start,
                        end,
                        "payment card number",
                        Severity.HIGH,
                        excerpt="4111 •••• •••• 1111",
                    )
                ],
                hidden=[HiddenLayer("base64", 0, 4, "decoded <b>bold</b> layer")],
            )
        return make_result(Category.BENIGN, confidence=0.99, explanation="No threat found.")
