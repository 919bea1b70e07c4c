"""The app's plain decisions (no Qt): change classification, notify-or-not, rate limit."""

from __future__ import annotations

import math

from desktop.app.decisions import (
    Action,
    CategoryPolicy,
    ChangeKind,
    PauseState,
    RateLimiter,
    RecentHashes,
    Source,
    Verdict,
    bound_text,
    classify_change,
    decide,
    keyed_hash,
)
from desktop.detection.categories import Category, Severity

JB = Verdict(Category.JAILBREAK, Severity.HIGH, 0.9)
CLEAN = Verdict(Category.BENIGN, Severity.NONE, 0.99)
POLICIES = {
    Category.JAILBREAK: CategoryPolicy(Action.NOTIFY, 0.5),
    Category.HALLUCINATION: CategoryPolicy(Action.RECORD, 0.5),
}


def classify(**kw):
    base = dict(
        secret=False, has_text=True, text_hash="h1", own_writes=(), recent=RecentHashes(), now=0.0
    )
    base.update(kw)
    return classify_change(**base)


def test_classify_change_kinds():
    recent = RecentHashes(ttl_s=10)
    recent.add("seen", 0.0)
    assert classify() is ChangeKind.NORMAL
    assert classify(secret=True, text_hash=None) is ChangeKind.SECRET
    assert classify(has_text=False) is ChangeKind.NO_TEXT
    assert classify(text_is_blank=True) is ChangeKind.EMPTY
    assert classify(own_writes=["h1"]) is ChangeKind.OWN_WRITE
    assert classify(text_hash="seen", recent=recent, now=5.0) is ChangeKind.UNCHANGED
    assert classify(text_hash="seen", recent=recent, now=11.0) is ChangeKind.NORMAL


def test_recent_hashes_are_bounded():
    recent = RecentHashes(size=2)
    for i, h in enumerate("abc"):
        recent.add(h, float(i))
    assert not recent.seen("a", 3.0) and recent.seen("c", 3.0)


def test_keyed_hash_depends_on_key_and_hides_text():
    h1, h2 = keyed_hash(b"k1", "secret text"), keyed_hash(b"k2", "secret text")
    assert h1 != h2 and len(h1) == 32 and "secret" not in h1
    assert keyed_hash(b"k1", "secret text") == h1


def test_bound_text():
    assert bound_text("abc", 5) == ("abc", False)
    assert bound_text("abcdef", 4) == ("abcd", True)


def test_decide_clipboard():
    assert decide(JB, POLICIES, source=Source.CLIPBOARD).action is Action.NOTIFY
    assert decide(CLEAN, POLICIES, source=Source.CLIPBOARD).action is Action.IGNORE
    assert decide(JB, POLICIES, source=Source.CLIPBOARD, marked_safe=True).action is Action.IGNORE
    assert decide(JB, POLICIES, source=Source.CLIPBOARD, paused=True).action is Action.RECORD
    low = Verdict(Category.JAILBREAK, Severity.HIGH, 0.3)
    assert decide(low, POLICIES, source=Source.CLIPBOARD).action is Action.IGNORE
    halluc = Verdict(Category.HALLUCINATION, Severity.LOW, 0.9)
    assert decide(halluc, POLICIES, source=Source.CLIPBOARD).action is Action.RECORD


def test_low_severity_personal_data_is_recorded_not_notified():
    policies = {**POLICIES, Category.PII_EXPOSURE: CategoryPolicy(Action.NOTIFY, 0.5)}
    email = Verdict(Category.PII_EXPOSURE, Severity.LOW, 0.9)  # e.g. an e-mail signature
    d = decide(email, policies, source=Source.CLIPBOARD)
    assert d.action is Action.RECORD and d.reason == "low-severity personal data"
    assert decide(email, policies, source=Source.SELECTION).action is Action.RECORD
    opted_in = decide(email, policies, source=Source.CLIPBOARD, notify_low_pii=True)
    assert opted_in.action is Action.NOTIFY
    for severity in (Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL):
        card = Verdict(Category.PII_EXPOSURE, severity, 0.9)
        assert decide(card, policies, source=Source.CLIPBOARD).action is Action.NOTIFY
    ignored = {Category.PII_EXPOSURE: CategoryPolicy(Action.IGNORE, 0.5)}
    assert decide(email, ignored, source=Source.CLIPBOARD).action is Action.IGNORE
    for source in (Source.HOTKEY, Source.MANUAL):  # the user asked: the finding is answered
        d = decide(email, policies, source=source)
        assert d.action is Action.NOTIFY and not d.answer_clean


def test_explicit_scan_always_answers():
    for source in (Source.HOTKEY, Source.MANUAL):
        clean = decide(CLEAN, POLICIES, source=source)
        assert clean.action is Action.NOTIFY and clean.answer_clean
        assert decide(JB, POLICIES, source=source, paused=True).action is Action.NOTIFY
        halluc = Verdict(Category.HALLUCINATION, Severity.LOW, 0.9)
        d = decide(halluc, POLICIES, source=source)
        assert d.action is Action.NOTIFY and not d.answer_clean
        safe = decide(JB, POLICIES, source=source, marked_safe=True)
        assert safe.action is Action.NOTIFY and safe.answer_clean


def test_rate_limiter_window():
    rl = RateLimiter(burst=2, window_s=10)
    assert rl.allow(0) and rl.allow(1)
    assert not rl.allow(2) and not rl.allow(3)
    assert rl.take_suppressed() == 2 and rl.suppressed == 0
    assert rl.allow(10.5)


def test_pause_state():
    assert PauseState().active(0.0)
    assert not PauseState(100.0).active(50.0) and PauseState(100.0).active(100.0)
    assert not PauseState(math.inf).active(1e12)


def test_clean_notification_names_a_near_miss():
    from desktop.app.decisions import Action, Decision, Source
    from desktop.app.findings import Finding
    from desktop.detection import Category, DetectionResult, Severity

    def finding(near_miss):
        result = DetectionResult(
            category=Category.BENIGN,
            confidence=0.02,
            scores={c.label: 0.0 for c in Category} | {"benign": 0.02, "prompt_injection": 0.925},
            severity=Severity.NONE,
            evidence=(),
            explanation="",
            details="",
            near_miss=near_miss,
            near_miss_threshold=None if near_miss is None else 0.9295,
        )
        return Finding(1, Source.HOTKEY, "x", "h", result, Decision(Action.NOTIFY, "nothing found"))

    assert finding(None).message() == "No threat found in the selected text."
    assert {s: s.text_noun for s in Source} == {
        Source.CLIPBOARD: "copied text",
        Source.SELECTION: "selected text",
        Source.HOTKEY: "selected text",
        Source.MANUAL: "clipboard text",
    }
    # The same numbers as the explanation in the Details window and the CLI.
    assert finding(Category.PROMPT_INJECTION).message() == (
        "No threat found in the selected text. The model leaned towards prompt injection "
        "(score 0.925, alarm at 0.930)."
    )
