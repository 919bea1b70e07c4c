"""The eight threat categories, in the classifier's label order.

The definitions follow ``THREATS.md``: ids are fixed (the ONNX model's output
index), and every other module refers to categories through this table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.IntEnum):
    """How loudly the user is told. Ordered, so ``max()`` picks the worst."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Category(enum.IntEnum):
    BENIGN = 0
    COMMAND_INJECTION = 1
    PII_EXPOSURE = 2
    JAILBREAK = 3
    PROMPT_INJECTION = 4
    DATA_EXFILTRATION = 5
    BIAS_MANIPULATION = 6
    HALLUCINATION = 7

    @property
    def label(self) -> str:
        """The machine name used in the model manifest, JSON and logs."""
        return self.name.lower()

    @property
    def info(self) -> CategoryInfo:
        return CATEGORY_INFO[self]

    @classmethod
    def from_label(cls, label: str) -> Category:
        try:
            return cls[label.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown category label: {label!r}") from None


@dataclass(frozen=True)
class CategoryInfo:
    display_name: str
    default_severity: Severity
    description: str
    remediation: str
    #: Whether a detection is, by default, an alarm (notify) or only recorded.
    alarm_by_default: bool = True


CATEGORY_INFO: dict[Category, CategoryInfo] = {
    Category.BENIGN: CategoryInfo(
        "Benign",
        Severity.NONE,
        "No threat found.",
        "Nothing to do.",
        alarm_by_default=False,
    ),
    Category.COMMAND_INJECTION: CategoryInfo(
        "Command injection",
        Severity.CRITICAL,
        "Text that makes a shell, a tool or an agent run attacker-chosen commands.",
        "Do not paste it into a terminal or an agent with tool access.",
    ),
    Category.PII_EXPOSURE: CategoryInfo(
        "Personal or secret data",
        Severity.HIGH,
        "Text carrying personal data, credentials or keys that should not travel.",
        "Remove or mask the sensitive values before sharing; use the redacted copy.",
    ),
    Category.JAILBREAK: CategoryInfo(
        "Jailbreak",
        Severity.HIGH,
        "An attempt to make an AI model abandon its safety rules.",
        "Do not send it to an AI assistant; it targets the model's safety rules.",
    ),
    Category.PROMPT_INJECTION: CategoryInfo(
        "Prompt injection",
        Severity.HIGH,
        "Instructions hidden in content, meant to override what the user asked the model.",
        "Remove the hidden instruction before giving this text to an AI assistant or agent.",
    ),
    Category.DATA_EXFILTRATION: CategoryInfo(
        "Data exfiltration",
        Severity.CRITICAL,
        "An attempt to make a model or agent send data somewhere it should not go.",
        "Do not give it to an agent: it would send data to an outside address.",
    ),
    Category.BIAS_MANIPULATION: CategoryInfo(
        "Bias manipulation",
        Severity.LOW,
        "A prompt pushing a model to produce or endorse stereotypes about a group.",
        "The answer would rest on a stereotype; rephrase the question neutrally.",
        alarm_by_default=False,
    ),
    Category.HALLUCINATION: CategoryInfo(
        "Hallucination bait",
        Severity.LOW,
        "A prompt built to make a model fabricate facts, sources or packages.",
        "Check the premise, names and references before trusting the answer.",
        alarm_by_default=False,
    ),
}

LABELS: tuple[str, ...] = tuple(c.label for c in Category)
THREAT_CATEGORIES: tuple[Category, ...] = tuple(c for c in Category if c is not Category.BENIGN)
