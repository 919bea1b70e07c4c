"""A finding: one scan's result kept in memory (with its text) for the Details window.

The text lives only here, in memory, for the few most recent findings; it never reaches the
log or the history database.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from desktop.app.decisions import Decision, Source
from desktop.detection.categories import Category, Severity
from desktop.detection.explain import near_miss_note
from desktop.detection.redaction import redacted_copy


@dataclass(frozen=True)
class Finding:
    request_id: int
    source: Source
    text: str
    text_hash: str
    result: Any  # DetectionResult
    decision: Decision
    #: The app cut the copied text (``scan/max_chars``) before scanning it.
    truncated: bool = False
    total_chars: int = 0

    @property
    def scanned_chars(self) -> int:
        """Characters of the copied text that were scanned: the app's cut, less whatever the
        detector itself left unread (``result.truncated``/``result.scanned_chars``)."""
        n = len(self.text)
        if getattr(self.result, "truncated", False):
            n = min(n, int(self.result.scanned_chars))
        return n

    @property
    def partly_scanned(self) -> bool:
        return self.truncated or bool(getattr(self.result, "truncated", False))

    def partly_scanned_note(self) -> str:
        """"Only the first N of M characters were scanned." or ""."""
        if not self.partly_scanned:
            return ""
        total = max(self.total_chars, len(self.text))
        return f"Only the first {self.scanned_chars:,} of {total:,} characters were scanned."

    @property
    def category(self) -> Category:
        return self.result.category

    @property
    def severity(self) -> Severity:
        return self.result.severity

    def title(self) -> str:
        if self.decision.answer_clean or not self.result.is_threat:
            return "RAXE: nothing found"
        return f"RAXE: {self.category.info.display_name} ({self.severity.label})"

    def message(self) -> str:
        if self.decision.answer_clean or not self.result.is_threat:
            extra = "" if self.decision.reason == "nothing found" else f" ({self.decision.reason})"
            body = f"No threat found in the {self.source.text_noun}{extra}."
            note = near_miss_note(self.result)
            if note:
                body += f" {note[0].upper()}{note[1:]}."
        else:
            body = first_line(self.result.explanation) or self.category.info.description
        if self.partly_scanned:
            body += " " + self.partly_scanned_note()
        return body


def first_line(text: str, limit: int = 200) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


class RecentFindings:
    def __init__(self, size: int = 20):
        self._items: deque[Finding] = deque(maxlen=size)

    def add(self, finding: Finding) -> None:
        self._items.append(finding)

    def latest(self) -> Finding | None:
        return self._items[-1] if self._items else None

    def latest_warning(self) -> Finding | None:
        """The newest finding that was a warning (not an explicit scan's clean answer)."""
        return next(
            (
                f
                for f in reversed(self._items)
                if f.result.is_threat and not f.decision.answer_clean
            ),
            None,
        )

    def by_request(self, request_id: int) -> Finding | None:
        return next((f for f in self._items if f.request_id == request_id), None)


#: How much of a text the history preview is made from (it keeps the first 160 characters).
PREVIEW_SOURCE_CHARS = 4_000


def redacted_preview(text: str, chars: int = 160) -> str:
    """The first ``chars`` characters of a redacted copy of the start of ``text``."""
    return redacted_copy(text[:PREVIEW_SOURCE_CHARS])[:chars]


def can_redact(result) -> bool:
    return result.category is Category.PII_EXPOSURE or any(
        e.category is Category.PII_EXPOSURE for e in result.evidence
    )
