"""How model scores, rule matches and hidden layers become one verdict.

The policy is data: :data:`POLICY` holds one row per threat class, and
:data:`HIDDEN_CARRIERS` says which hidden carriers are evidence in themselves.
:func:`fuse` is the only code that reads them.

A class *fires* when any of these holds:

* the model's probability reaches the class ``threshold`` (the manifest's
  calibrated thresholds override the table's defaults);
* a rule of the class matched with severity at least ``rules_alone`` (validated
  PII and secrets, critical command and exfiltration markers);
* the model's probability reaches ``supported_threshold`` *and* a weaker rule of
  the same class matched (rule and model corroborate each other);
* a hidden carrier listed in :data:`HIDDEN_CARRIERS` hides real text (Unicode tag
  characters carrying words are prompt injection whatever they say).

Without the model (rules-only mode) no score can back a weaker rule, so for prompt injection,
exfiltration and jailbreak ``rules_alone`` drops one level, to no lower than medium: "Ignore all
previous instructions" still warns. The same holds for a visible rule match past the part of a
long text that the model read.

Evidence found inside a decoded hidden layer is judged like visible evidence,
then raised by ``HIDDEN_ESCALATION`` severity levels: hiding it makes it worse,
never milder. The verdict is the most severe firing class; ties go to the higher
confidence. Nothing firing means benign.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from desktop.detection.categories import CATEGORY_INFO, Category, Severity
from desktop.detection.types import Evidence, HiddenLayer

#: ``Evidence.rule_id`` for evidence that comes from the model (visible or hidden text).
MODEL_RULE_ID = "model"


@dataclass(frozen=True)
class ClassPolicy:
    """One row of the fusion table."""

    #: Model probability that raises the class on its own.
    threshold: float
    #: Model probability that raises it when a weaker rule of the class also matched.
    supported_threshold: float
    #: A rule of at least this severity raises the class alone; ``None``: rules never alone.
    rules_alone: Severity | None
    #: Severity of a model-raised detection.
    severity: Severity
    #: Tell the user at once (tray notification) by default, or only record it.
    notify: bool
    #: Keep it in the local history by default.
    record: bool = True


def _row(cat: Category, rules_alone: Severity | None, supported: float = 0.3) -> ClassPolicy:
    info = CATEGORY_INFO[cat]
    return ClassPolicy(
        threshold=0.5,
        supported_threshold=supported,
        rules_alone=rules_alone,
        severity=info.default_severity,
        notify=info.alarm_by_default,
    )


POLICY: Mapping[Category, ClassPolicy] = MappingProxyType(
    {
        Category.COMMAND_INJECTION: _row(Category.COMMAND_INJECTION, Severity.HIGH),
        # validated PII and secrets are facts, not guesses: any rule raises it
        Category.PII_EXPOSURE: _row(Category.PII_EXPOSURE, Severity.LOW),
        # jailbreak wording is too varied for rules; only a critical rule stands alone
        Category.JAILBREAK: _row(Category.JAILBREAK, Severity.CRITICAL),
        Category.PROMPT_INJECTION: _row(Category.PROMPT_INJECTION, Severity.HIGH),
        Category.DATA_EXFILTRATION: _row(Category.DATA_EXFILTRATION, Severity.HIGH),
        # judgement calls: only the model raises these, and they are recorded, not alarms
        Category.BIAS_MANIPULATION: _row(Category.BIAS_MANIPULATION, None, supported=0.5),
        Category.HALLUCINATION: _row(Category.HALLUCINATION, None, supported=0.5),
    }
)


@dataclass(frozen=True)
class HiddenCarrierPolicy:
    """A hidden carrier that is evidence in itself when it hides enough text."""

    category: Category
    severity: Severity
    confidence: float
    #: Letters the decoded text needs (flag emoji use a few tag characters legitimately).
    min_letters: int
    message: str


HIDDEN_CARRIERS: Mapping[str, HiddenCarrierPolicy] = MappingProxyType(
    {
        "tag_chars": HiddenCarrierPolicy(
            Category.PROMPT_INJECTION,
            Severity.HIGH,
            0.9,
            8,
            "Text hidden in invisible Unicode tag characters",
        ),
        "variation_selectors": HiddenCarrierPolicy(
            Category.PROMPT_INJECTION,
            Severity.HIGH,
            0.9,
            8,
            "Text hidden in invisible variation selectors",
        ),
    }
)

#: Severity levels added to detections found only inside a decoded hidden layer.
HIDDEN_ESCALATION = 1


@dataclass(frozen=True)
class ClassDecision:
    """Why one class fired."""

    category: Category
    confidence: float
    severity: Severity
    evidence: tuple[Evidence, ...]
    #: ``"model"``, ``"rule"``, ``"hidden"``, ``"model+rule"``...
    basis: str


@dataclass(frozen=True)
class Verdict:
    """The fused result. Unpacks as ``category, confidence, severity, evidence``."""

    category: Category
    confidence: float
    severity: Severity
    evidence: tuple[Evidence, ...]
    #: Every class that fired, worst first (the verdict's class is first).
    decisions: tuple[ClassDecision, ...] = field(default=())

    def __iter__(self) -> Iterator[object]:
        return iter((self.category, self.confidence, self.severity, self.evidence))

    @property
    def is_threat(self) -> bool:
        return self.category is not Category.BENIGN


def thresholds_from(policy: Mapping[Category, ClassPolicy] = POLICY) -> dict[str, float]:
    return {cat.label: row.threshold for cat, row in policy.items()}


def should_notify(category: Category, policy: Mapping[Category, ClassPolicy] = POLICY) -> bool:
    """The default for "tell the user now" (versus record only) for a verdict."""
    row = policy.get(category)
    return bool(row and row.notify)


def carrier_evidence(
    layers: Sequence[HiddenLayer],
    carriers: Mapping[str, HiddenCarrierPolicy] = HIDDEN_CARRIERS,
) -> list[Evidence]:
    """Evidence for hidden carriers that are suspicious in themselves."""
    out = []
    for layer in layers:
        rule = carriers.get(layer.kind)
        if rule is None or sum(ch.isalpha() for ch in layer.decoded) < rule.min_letters:
            continue
        out.append(
            Evidence(
                category=rule.category,
                source="hidden",
                start=layer.start,
                end=layer.end,
                message=rule.message,
                severity=rule.severity,
                rule_id=f"hidden.{layer.kind}",
                confidence=rule.confidence,
                excerpt="",
            )
        )
    return out


def fuse(
    model_evidence: Sequence[Evidence],
    rule_evidence: Sequence[Evidence],
    hidden_evidence: Sequence[Evidence] = (),
    hidden_layers: Sequence[HiddenLayer] = (),
    *,
    thresholds: Mapping[str, float] | None = None,
    benign_confidence: float | None = None,
    policy: Mapping[Category, ClassPolicy] = POLICY,
    rules_only: bool = False,
    model_read_to: int | None = None,
) -> Verdict:
    """Fuse everything into one :class:`Verdict` (see the module docstring).

    ``model_evidence``: one :class:`Evidence` per class the model scored, with the
    probability as ``confidence`` (usually its best window). ``rule_evidence``:
    rule matches on the visible text. ``hidden_evidence``: model (``rule_id ==
    "model"``) and rule evidence found inside decoded hidden layers.
    ``hidden_layers``: the layers themselves, checked against
    :data:`HIDDEN_CARRIERS`. ``benign_confidence`` is reported for a benign verdict
    (the model's benign probability; ``None`` without a model gives 0.5: the rules
    found nothing, which says little). ``rules_only``: there is no model;
    ``model_read_to``: the model read the text up to this offset only (see the module docstring).
    """
    limits = thresholds_from(policy)
    if thresholds:
        limits.update({k: float(v) for k, v in thresholds.items() if k in limits})

    decisions = []
    carriers = carrier_evidence(hidden_layers)
    for cat, row in policy.items():
        decision = _decide(
            cat,
            _without_model(cat, row) if rules_only else row,
            limits[cat.label],
            [e for e in model_evidence if e.category is cat],
            [e for e in rule_evidence if e.category is cat],
            [e for e in hidden_evidence if e.category is cat],
            [e for e in carriers if e.category is cat],
            unread_from=None if rules_only else model_read_to,
        )
        if decision is not None:
            decisions.append(decision)

    if not decisions:
        conf = 0.5 if benign_confidence is None else float(benign_confidence)
        return Verdict(Category.BENIGN, conf, Severity.NONE, ())
    decisions.sort(key=lambda d: (d.severity, d.confidence, -int(d.category)), reverse=True)
    top = decisions[0]
    evidence = tuple(e for d in decisions for e in d.evidence)
    return Verdict(top.category, top.confidence, top.severity, evidence, tuple(decisions))


def _decide(
    cat: Category,
    row: ClassPolicy,
    threshold: float,
    model: list[Evidence],
    rules: list[Evidence],
    hidden: list[Evidence],
    carriers: list[Evidence],
    unread_from: int | None = None,
) -> ClassDecision | None:
    firing: list[tuple[Evidence, Severity, str]] = []
    supported = 0.0  # the confidence of a model score that a rule backs
    unread_alone = _without_model(cat, row).rules_alone

    def alone(e: Evidence, visible: bool) -> bool:
        """A rule match strong enough to fire without the model; a visible one past what the
        model read (``unread_from``) is judged as in rules-only mode."""
        if visible and unread_from is not None and e.start >= unread_from:
            return unread_alone is not None and e.severity >= unread_alone
        return row.rules_alone is not None and e.severity >= row.rules_alone

    def judge(items: list[Evidence], others: list[Evidence], *, escalate: int, basis: str) -> None:
        nonlocal supported
        model_items = [e for e in items if e.rule_id == MODEL_RULE_ID or e.source == "model"]
        rule_items = [e for e in items if e not in model_items]
        strong = [e for e in rule_items if alone(e, visible=not basis)]
        for e in strong:
            firing.append((e, _raise(e.severity, escalate), basis + "rule"))
        best = max(model_items, key=lambda e: e.confidence, default=None)
        if best is None:
            return
        support = [e for e in rule_items + others if e not in strong]
        if best.confidence >= threshold:
            firing.append((best, _raise(row.severity, escalate), basis + "model"))
        elif support and best.confidence >= row.supported_threshold:
            # The rule's support raises the decision's confidence; the evidence
            # keeps the model's own score, which is what its message and the
            # explanation quote.
            weak = max(e.confidence for e in support)
            supported = max(supported, 1.0 - (1.0 - best.confidence) * (1.0 - 0.5 * weak))
            firing.append((best, _raise(row.severity, escalate), basis + "model+rule"))
            firing.extend((e, _raise(row.severity, escalate), basis + "rule") for e in support[:3])

    judge(model + rules, [], escalate=0, basis="")
    judge(hidden, rules, escalate=HIDDEN_ESCALATION, basis="hidden-")
    firing.extend((e, e.severity, "hidden") for e in carriers)
    if not firing:
        return None
    severity = max(s for _, s, _ in firing)
    confidence = max(supported, *(e.confidence for e, _, _ in firing))
    evidence = sorted(
        {id(e): e for e, _, _ in firing}.values(), key=lambda e: (-e.confidence, e.start)
    )
    basis = "+".join(sorted({b for _, _, b in firing}))
    return ClassDecision(cat, round(min(1.0, confidence), 4), severity, tuple(evidence), basis)


#: Classes whose rules fire alone one level lower without the model. Their medium rules are
#: phrasings a text asks an AI with ("ignore all previous instructions", "reveal your system
#: prompt"); command injection's medium rule (a metacharacter probe such as ";id") is too common
#: in code and logs to warn on its own.
WITHOUT_MODEL_LOWERED = frozenset(
    {Category.PROMPT_INJECTION, Category.DATA_EXFILTRATION, Category.JAILBREAK}
)


def _without_model(cat: Category, row: ClassPolicy) -> ClassPolicy:
    """``row`` for rules-only mode: for :data:`WITHOUT_MODEL_LOWERED`, a rule alone fires one
    severity level lower, down to medium."""
    if cat not in WITHOUT_MODEL_LOWERED or row.rules_alone is None or row.rules_alone <= Severity.MEDIUM:
        return row
    return replace(row, rules_alone=Severity(int(row.rules_alone) - 1))


def _raise(severity: Severity, levels: int) -> Severity:
    return Severity(min(int(Severity.CRITICAL), int(severity) + levels))
