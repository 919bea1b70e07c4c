"""Plain decisions over dataclasses: what a clipboard change is, whether to scan, whether to
notify, and the notification rate limit. No Qt here, so tests need no event loop.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from desktop.detection.categories import Category, Severity

#: Most characters taken from the clipboard; the rest is cut (and the user told).
DEFAULT_MAX_CHARS = 1_000_000


class Source(str, enum.Enum):
    CLIPBOARD = "clipboard"
    SELECTION = "selection"
    HOTKEY = "hotkey"
    MANUAL = "manual"

    @property
    def explicit(self) -> bool:
        """The user asked for this scan, so it always gets an answer."""
        return self in (Source.HOTKEY, Source.MANUAL)

    @property
    def text_noun(self) -> str:
        """What the user calls the scanned text: "No threat found in the {text_noun}."."""
        return _TEXT_NOUNS[self]


_TEXT_NOUNS = {
    Source.CLIPBOARD: "copied text",
    Source.SELECTION: "selected text",
    Source.HOTKEY: "selected text",  # the hotkey scans the selection
    Source.MANUAL: "clipboard text",  # "Scan clipboard now"
}


class ChangeKind(str, enum.Enum):
    NORMAL = "normal"
    SECRET = "secret"
    OWN_WRITE = "own_write"
    UNCHANGED = "unchanged"
    NO_TEXT = "no_text"
    EMPTY = "empty"


class Action(str, enum.Enum):
    NOTIFY = "notify"
    RECORD = "record"
    IGNORE = "ignore"


def keyed_hash(key: bytes, text: str) -> str:
    """HMAC-SHA256 of the text under the per-install key, shortened; safe to log and store."""
    return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


def bound_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str, bool]:
    """The text cut to ``max_chars``, and whether it was cut."""
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars], True


class RecentHashes:
    """The last few texts seen (by keyed hash), so a re-copy is not rescanned."""

    def __init__(self, size: int = 64, ttl_s: float = 600.0):
        self._size, self._ttl = size, ttl_s
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen(self, digest: str, now: float) -> bool:
        t = self._seen.get(digest)
        return t is not None and now - t < self._ttl

    def add(self, digest: str, now: float) -> None:
        self._seen[digest] = now
        self._seen.move_to_end(digest)
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)

    def discard(self, digest: str) -> None:
        self._seen.pop(digest, None)


def classify_change(
    *,
    secret: bool,
    has_text: bool,
    text_hash: str | None,
    own_writes: Iterable[str],
    recent: RecentHashes,
    now: float,
    text_is_blank: bool = False,
) -> ChangeKind:
    """What a clipboard change is; only NORMAL is worth a scan."""
    if secret:
        return ChangeKind.SECRET
    if not has_text:
        return ChangeKind.NO_TEXT
    if text_is_blank or text_hash is None:
        return ChangeKind.EMPTY
    if text_hash in set(own_writes):
        return ChangeKind.OWN_WRITE
    if recent.seen(text_hash, now):
        return ChangeKind.UNCHANGED
    return ChangeKind.NORMAL


@dataclass(frozen=True)
class CategoryPolicy:
    action: Action
    threshold: float = 0.5


@dataclass(frozen=True)
class Verdict:
    """The slice of a DetectionResult that decisions need (so tests can build one by hand)."""

    category: Category
    severity: Severity
    confidence: float


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    #: An explicit scan that found nothing still answers ("nothing found").
    answer_clean: bool = False


def decide(
    verdict: Verdict,
    policies: dict[Category, CategoryPolicy],
    *,
    source: Source,
    paused: bool = False,
    marked_safe: bool = False,
    notify_low_pii: bool = False,
) -> Decision:
    """What to do with a scan's verdict.

    Low-severity personal data (an e-mail address or a phone number in a signature: a hard
    negative in THREATS.md, "not silent: the user decides") is recorded in the history
    without a notification unless ``notify_low_pii``; an explicit scan still answers."""
    explicit = source.explicit
    if verdict.category is Category.BENIGN:
        if explicit:
            return Decision(Action.NOTIFY, "nothing found", answer_clean=True)
        return Decision(Action.IGNORE, "benign")
    if marked_safe:
        if explicit:
            return Decision(Action.NOTIFY, "you marked this text as safe", answer_clean=True)
        return Decision(Action.IGNORE, "marked safe")
    policy = policies.get(verdict.category, CategoryPolicy(Action.NOTIFY))
    if verdict.confidence < policy.threshold:
        if explicit:
            return Decision(Action.NOTIFY, "below your threshold", answer_clean=True)
        return Decision(Action.IGNORE, "below threshold")
    if explicit:
        # The user asked: answer even for record-only or ignored categories.
        return Decision(Action.NOTIFY, "explicit scan")
    if paused:
        return Decision(Action.RECORD, "paused")
    if (
        policy.action is Action.NOTIFY
        and verdict.category is Category.PII_EXPOSURE
        and verdict.severity <= Severity.LOW
        and not notify_low_pii
    ):
        return Decision(Action.RECORD, "low-severity personal data")
    return Decision(policy.action, f"category action: {policy.action.value}")


@dataclass
class RateLimiter:
    """At most ``burst`` notifications per ``window_s`` seconds; the rest are counted."""

    burst: int = 3
    window_s: float = 30.0
    suppressed: int = 0
    _times: deque = field(default_factory=deque)

    def allow(self, now: float) -> bool:
        while self._times and now - self._times[0] >= self.window_s:
            self._times.popleft()
        if len(self._times) < self.burst:
            self._times.append(now)
            return True
        self.suppressed += 1
        return False

    def take_suppressed(self) -> int:
        n, self.suppressed = self.suppressed, 0
        return n


@dataclass(frozen=True)
class PauseState:
    """Paused until ``until`` (monotonic seconds); ``math.inf`` = until resumed; 0 = active."""

    until: float = 0.0

    def active(self, now: float) -> bool:
        return now >= self.until
