"""``L2ThreatDetector``: text in, one explained :class:`DetectionResult` out.

Pipeline for one text::

    bound -> normalize (clean-up, hidden layers)
          -> rules on the original text (exact spans) and on the cleaned text
          -> model windows on the cleaned text; model and rules on each hidden layer
          -> policy.fuse -> explain

Without a usable model (files absent, corrupt, or ``rules_only=True``) the detector
runs in *rules-only* mode: ``result.mode == "rules-only"`` and ``mode_reason``
says why; a warning is logged once, when the detector is built. It never raises
for a ``str``.

Threading: a detector is not thread-safe. Build it once and call ``detect`` from
one worker thread (the app's scan worker); build another for another thread.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from desktop.detection.categories import LABELS, Category, Severity
from desktop.detection.explain import explain, fallback_redact
from desktop.detection.model import (
    ModelLoadError,
    OnnxClassifier,
    WindowScores,
    without_surrogates,
)
from desktop.detection.normalize import IN_PLACE_LAYERS, decode_base64, fold_with_offsets, normalize
from desktop.detection.paths import default_model_dir
from desktop.detection.policy import MODEL_RULE_ID, POLICY, Verdict, fuse, thresholds_from
from desktop.detection.rules import MASK, redact, scan_rules
from desktop.detection.types import DetectionResult, Evidence, HiddenLayer, NormalizedText

log = logging.getLogger(__name__)

#: Characters of input read at most (the rest is reported as not scanned).
DEFAULT_MAX_CHARS = 1_000_000
#: Hidden layers scanned on their own by the rules, and by the model (all decoded
#: layers are also part of the cleaned text the model reads in its main pass).
MAX_HIDDEN_RULE_SCANS = 64
MAX_HIDDEN_MODEL_SCANS = 8
#: The longest text whose after-clean-up rule hits are mapped back character by character.
MAX_FOLD_CHARS = 200_000
#: Characters of one decoded layer scanned on its own by the rules / by the model
#: (the model bound keeps it to a few windows per layer).
MAX_HIDDEN_RULE_CHARS = 65_536
MAX_HIDDEN_MODEL_CHARS = 2_048
#: Model scores below this are not kept as evidence.
MIN_MODEL_EVIDENCE = 0.2
#: A benign verdict names the threat class the model leaned towards when the class's
#: probability reached this (more likely than not) but stayed under its alarm threshold.
NEAR_MISS_FLOOR = 0.5
EXCERPT_CHARS = 80
#: Characters past the excerpt that are masked with it (see ``_excerpt``).
EXCERPT_MARGIN = 512
#: Characters of a decoded hidden layer kept in the result, masked (``hidden_content``).
HIDDEN_SHOWN_CHARS = 2_000

MODE_MODEL = "model+rules"
MODE_RULES = "rules-only"

_WS = re.compile(r"\s+")
#: A hidden carrier right after one of these holds a credential ("password: <base64>",
#: "Authorization: Basic <base64>", a Docker config's "auth": "<base64>"): what it decodes to is
#: the secret itself, so it is never shown, whatever the rules make of it.
_SECRET_WORD = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|auth|credentials?|api[_\-]?key|private[_\-]?key"
    r"|basic|bearer)"
)
#: (A YAML value may start on the next line: "password:\n    <base64>".)
_SECRET_LABEL = re.compile(
    _SECRET_WORD + r"[\"']?[ \t]{0,3}[:=]?[ \t]{0,3}(?:\r?\n[ \t]{0,16})?[\"']?[ \t]{0,3}$",
    re.IGNORECASE,
)
#: The same label before a base64 value inside a decoded layer (a Docker config inside a
#: Kubernetes secret's base64): the inner value decodes to another layer.
_LABELLED_BLOB = re.compile(
    _SECRET_WORD + r"[\"']?[ \t]{0,3}[:=][ \t]{0,3}(?:\r?\n[ \t]{0,16})?[\"']?([A-Za-z0-9+/_\-]{8,4096}={0,2})",
    re.IGNORECASE,
)
#: What a decoded credential is shown as.
SECRET_SHOWN = MASK * 8 + " (a credential, hidden)"


class L2ThreatDetector:
    """The detection core's one entry point. See the module docstring."""

    def __init__(
        self,
        model_dir: Path | str | None = None,
        *,
        threads: int = 1,
        rules_only: bool = False,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        self.threads = threads
        self.max_chars = max_chars
        self.classifier: OnnxClassifier | None = None
        self.mode = MODE_RULES
        self.mode_reason = ""
        self.load_ms = 0.0
        if rules_only:
            self.mode_reason = "rules-only mode was requested"
        else:
            start = time.perf_counter()
            try:
                classifier = OnnxClassifier.from_dir(self.model_dir, threads=threads)
                classifier.warmup()
            except ModelLoadError as exc:
                self.mode_reason = str(exc)
                log.warning("RAXE model not loaded, running on rules only: %s", exc)
            else:
                self.classifier = classifier
                self.mode = MODE_MODEL
            self.load_ms = (time.perf_counter() - start) * 1000.0
        self.thresholds = thresholds_from(POLICY)
        if self.classifier is not None:
            self.thresholds.update(self.classifier.manifest.thresholds)

    @property
    def model_version(self) -> str:
        return self.classifier.manifest.version if self.classifier is not None else ""

    def __repr__(self) -> str:
        return f"L2ThreatDetector(mode={self.mode!r}, model_dir={str(self.model_dir)!r})"

    # ------------------------------------------------------------------ detect

    def detect(self, text: str) -> DetectionResult:
        """Scan ``text``; raises ``TypeError`` for anything but ``str``."""
        if not isinstance(text, str):
            raise TypeError(f"detect() expects str, not {type(text).__name__}")
        start = time.perf_counter()
        total = len(text)
        mode, mode_reason = self.mode, self.mode_reason
        if not text or text.isspace():
            return self._finish(self._empty(total, mode, mode_reason), start, "")

        norm = normalize(text, max_chars=self.max_chars)
        visible = without_surrogates(text[: norm.scanned_chars])
        rule_ev = self._rules(visible, norm)

        secrets = _decoded_secrets(visible, norm.hidden_layers)

        windows: WindowScores | None = None
        model_ev: list[Evidence] = []
        hidden_ev: list[Evidence] = []
        if self.classifier is not None:
            try:
                windows = self.classifier.predict_windows(norm.text)
                model_ev = self._model_evidence(windows, norm, visible, secrets)
            except Exception as exc:  # a model failure must not lose the rules' verdict
                log.exception("model inference failed; this result uses rules only")
                mode, mode_reason = MODE_RULES, f"model inference failed: {exc}"
                windows, model_ev = None, []
        hidden_ev = self._hidden_evidence(
            norm.hidden_layers, use_model=windows is not None, secrets=secrets
        )
        probs = windows.max_probs() if windows is not None else None
        # A long text: the model read its first windows only (``max_windows``).
        # Or a text whose NFKC form was cut although the original was read whole.
        model_chars = None
        expansion_cut = norm.truncated and norm.scanned_chars >= total
        if windows is not None and (windows.truncated or expansion_cut):
            # Invisible carriers are spelled out in place in the cleaned text: count them as read
            # first, so the mapping errs towards "not read".
            spliced = sum(
                len(x.decoded) + 2 for x in norm.hidden_layers if x.kind in IN_PLACE_LAYERS
            )
            model_chars = _original_offset(max(0, windows.scanned_chars - spliced), visible)

        verdict = fuse(
            model_ev,
            rule_ev,
            hidden_ev,
            norm.hidden_layers,
            thresholds=self.thresholds,
            benign_confidence=probs["benign"] if probs is not None else None,
            rules_only=windows is None,
            model_read_to=model_chars,
        )
        # ``scanned_chars``: what every stage read; the explanation says who read how much.
        truncated = norm.truncated or model_chars is not None
        scanned = norm.scanned_chars if model_chars is None else min(norm.scanned_chars, model_chars)
        near = None if verdict.is_threat or probs is None else self._near_miss(probs)
        result = DetectionResult(
            category=verdict.category,
            confidence=round(float(verdict.confidence), 4),
            scores=self._scores(probs, verdict),
            severity=verdict.severity,
            evidence=verdict.evidence,
            explanation="",
            details="",
            hidden_content=norm.hidden_layers,
            truncated=truncated,
            scanned_chars=scanned,
            total_chars=total,
            mode=mode,
            mode_reason=mode_reason,
            normalization=norm.steps,
            near_miss=near,
            near_miss_threshold=None if near is None else self.thresholds[near.label],
        )
        return self._finish(
            result,
            start,
            norm.text,
            model_chars=model_chars,
            rules_chars=norm.scanned_chars,
            secrets=secrets,
        )

    # ------------------------------------------------------------------ stages

    def _rules(self, visible: str, norm: NormalizedText) -> list[Evidence]:
        """Rules on the original text (exact spans), then on the cleaned text for
        what only shows after clean-up (spans approximate, clamped to the input)."""
        found = list(scan_rules(visible))
        if norm.text == visible:
            return found
        seen = {(e.rule_id, e.excerpt) for e in found}
        layers = norm.hidden_layers[:MAX_HIDDEN_RULE_SCANS]
        folded: tuple[str, list[int]] | None = None
        folded_layers: list[tuple[HiddenLayer, str]] | None = None
        for e in scan_rules(norm.text):
            raw = norm.text[e.start : e.end]
            if (e.rule_id, e.excerpt) in seen or not raw:
                continue
            if any(raw in layer.decoded for layer in layers):
                continue  # scanned with its hidden layer, where its carrier is known
            seen.add((e.rule_id, e.excerpt))
            at = visible.find(raw)
            if at >= 0:
                start, end = at, at + len(raw)
            else:
                if folded is None:
                    folded = (
                        fold_with_offsets(visible)
                        if len(visible) <= MAX_FOLD_CHARS
                        else ("", [])
                    )
                at = folded[0].find(raw)
                if at >= 0:  # found once invisibles are dropped and characters folded
                    start, end = folded[1][at], folded[1][at + len(raw) - 1] + 1
                else:
                    if folded_layers is None:  # once per text: a fold per layer
                        folded_layers = [
                            (x, fold_with_offsets(x.decoded[:MAX_FOLD_CHARS])[0]) for x in layers
                        ]
                    layer = next((x for x, f in folded_layers if raw in f), None)
                    if layer is not None:  # in a hidden layer once its lookalikes are folded
                        found.append(
                            replace(e, source="hidden", start=layer.start, end=layer.end,
                                    message=f"{e.message} (after clean-up)")
                        )  # fmt: skip
                        continue
                    start, end = _clamp(e.start, e.end, len(visible))
                    if start >= end:  # never an empty span: the whole text, said to be approximate
                        start, end = 0, len(visible)
            found.append(replace(e, start=start, end=end, message=f"{e.message} (after clean-up)"))
        return found

    def _model_evidence(
        self,
        windows: WindowScores,
        norm: NormalizedText,
        visible: str,
        secrets: frozenset[str] = frozenset(),
    ) -> list[Evidence]:
        exact = norm.text.startswith(visible) if len(norm.text) >= len(visible) else False
        out = []
        for label in LABELS[1:]:
            i = windows.top_window(label)
            p = float(windows.probs[i, LABELS.index(label)])
            if p < MIN_MODEL_EVIDENCE:
                continue
            a, b = windows.spans[i]
            excerpt = self._excerpt(norm.text[a:b], secrets)
            note = ""
            if not (exact and b <= len(visible)):
                a, b = _clamp(a, b, len(visible))
                note = " (position approximate: text was cleaned up)"
            out.append(_model_hit(label, p, "model", a, b, excerpt, note))
        return out

    def _hidden_evidence(
        self,
        layers: Sequence[HiddenLayer],
        *,
        use_model: bool,
        secrets: frozenset[str] = frozenset(),
    ) -> list[Evidence]:
        out: list[Evidence] = []
        for index, layer in enumerate(layers[:MAX_HIDDEN_RULE_SCANS]):
            decoded = without_surrogates(layer.decoded[:MAX_HIDDEN_RULE_CHARS])
            for e in scan_rules(decoded):
                out.append(
                    replace(
                        e,
                        source="hidden",
                        start=layer.start,
                        end=layer.end,
                        message=e.message,
                    )
                )
            if (
                not use_model
                or self.classifier is None
                or index >= MAX_HIDDEN_MODEL_SCANS
                or len(decoded.strip()) < 3
            ):
                continue
            try:
                scores = self.classifier.predict_windows(
                    decoded[:MAX_HIDDEN_MODEL_CHARS]
                ).max_probs()
            except Exception:  # keep the rules' hidden hits and the main pass's scores
                log.exception("model inference failed on hidden content; rules only for it")
                use_model = False
                continue
            excerpt = self._excerpt(decoded, secrets)
            for label in LABELS[1:]:
                p = scores[label]
                if p < MIN_MODEL_EVIDENCE:
                    continue
                out.append(_model_hit(label, p, "hidden", layer.start, layer.end, excerpt))
        return out

    def _near_miss(self, probs: dict[str, float]) -> Category | None:
        """The threat class the model leaned towards (worst-window probability >=
        :data:`NEAR_MISS_FLOOR`) that stayed under its alarm threshold, for a benign verdict."""
        label = max(LABELS[1:], key=lambda name: probs[name])
        p = round(float(probs[label]), 4)  # as the evidence and the fusion round it
        if NEAR_MISS_FLOOR <= p < self.thresholds[label]:
            return Category.from_label(label)
        return None

    def _scores(self, probs: dict[str, float] | None, verdict: Verdict) -> dict[str, float]:
        """Per class: the model's worst-window probability (``probs``, from
        :meth:`WindowScores.max_probs`), raised to the fused confidence where rules or hidden
        layers made the class fire; ``benign`` is the least benign window's probability,
        lowered to match."""
        scores = dict(probs) if probs is not None else {label: 0.0 for label in LABELS}
        if probs is None:
            scores["benign"] = verdict.confidence if not verdict.is_threat else 0.0
        for d in verdict.decisions:
            scores[d.category.label] = max(scores[d.category.label], d.confidence)
        top_threat = max(scores[label] for label in LABELS[1:])
        if verdict.is_threat:
            scores["benign"] = min(scores["benign"], max(0.0, 1.0 - top_threat))
        return {k: round(float(v), 4) for k, v in scores.items()}

    def _excerpt(self, text: str, secrets: frozenset[str] = frozenset()) -> str:
        # Mask first, then cut: a key cut in two at the excerpt's end no longer matches its rule,
        # and its first half would be shown. The margin lets a long secret that starts inside the
        # excerpt be matched whole.
        masked = _redact(_mask_secrets(text[: EXCERPT_CHARS * 2 + EXCERPT_MARGIN], secrets))
        return _WS.sub(" ", masked).strip()[:EXCERPT_CHARS]

    def _empty(self, total: int, mode: str, mode_reason: str) -> DetectionResult:
        scores = {label: 0.0 for label in LABELS}
        scores["benign"] = 1.0
        return DetectionResult(
            category=Category.BENIGN,
            confidence=1.0,
            scores=scores,
            severity=Severity.NONE,
            evidence=(),
            explanation="",
            details="",
            scanned_chars=total,
            total_chars=total,
            mode=mode,
            mode_reason=mode_reason,
        )

    def _finish(
        self,
        result: DetectionResult,
        start: float,
        text: str,
        *,
        model_chars: int | None = None,
        rules_chars: int | None = None,
        secrets: frozenset[str] = frozenset(),
    ) -> DetectionResult:
        # Rule messages can quote what they found (a decoded PowerShell command, a
        # destination address): mask personal data and secrets in them too, once per
        # distinct message (each costs a rules pass); model messages are templates.
        masked = {
            m: _redact(m) for m in {e.message for e in result.evidence if e.rule_id != MODEL_RULE_ID}
        }
        evidence = tuple(
            replace(e, message=masked[e.message]) if e.message in masked else e
            for e in result.evidence
        )
        result = replace(
            result, evidence=evidence, latency_ms=(time.perf_counter() - start) * 1000.0
        )
        explanation, details = explain(
            result,
            text,
            redact=lambda shown: _redact(_mask_secrets(shown, secrets)),
            model_chars=model_chars,
            rules_chars=rules_chars,
        )
        # What a hidden layer decodes to is shown (CLI, JSON, the details window): masked like the
        # excerpts, and cut to what a reader needs.
        hidden = tuple(
            replace(layer, decoded=SECRET_SHOWN)
            if layer.decoded in secrets
            else replace(
                layer, decoded=_shown(_redact(layer.decoded[: HIDDEN_SHOWN_CHARS + EXCERPT_MARGIN]))
            )
            for layer in result.hidden_content
        )
        return replace(
            result,
            hidden_content=hidden,
            explanation=explanation,
            details=details,
            latency_ms=round((time.perf_counter() - start) * 1000.0, 3),
        )


def _original_offset(clean_offset: int, visible: str) -> int:
    """How far into ``visible`` (the original text) a reader of the cleaned text got when it
    stopped at ``clean_offset``; never further than it read.

    :func:`fold_with_offsets` folds character by character and keeps each one's source; the body's
    clean-up folds the same way or shortens more (it also joins spaced letters), so the cleaned
    text reaches ``clean_offset`` no later than the fold does. Only the prefix that can hold
    ``clean_offset`` folded characters is folded (doubling while it is too short).
    """
    if clean_offset <= 0:
        return 0
    size = min(len(visible), clean_offset + 1024)
    while True:
        folded, index = fold_with_offsets(visible[:size])
        if len(folded) >= clean_offset:
            return index[clean_offset - 1] + 1
        if size >= len(visible):
            return len(visible)
        size = min(len(visible), size * 2)


def _decoded_secrets(visible: str, layers: Sequence[HiddenLayer]) -> frozenset[str]:
    """What the hidden carriers right after a credential label decode to (see ``_SECRET_LABEL``),
    in the visible text or inside another layer's decoded text."""
    found = {
        layer.decoded
        for layer in layers
        if layer.decoded.strip()
        and 0 < layer.start <= len(visible)
        and _SECRET_LABEL.search(visible, max(0, layer.start - 64), layer.start)
    }
    decoded = {layer.decoded for layer in layers if layer.decoded.strip()}
    for layer in layers:
        for m in _LABELLED_BLOB.finditer(layer.decoded[:MAX_HIDDEN_RULE_CHARS]):
            inner = decode_base64(m.group(1))
            if inner is not None and inner in decoded:
                found.add(inner)
    return frozenset(found)


def _mask_secrets(text: str, secrets: frozenset[str]) -> str:
    """``text`` with every decoded credential (see ``_decoded_secrets``) masked."""
    for secret in secrets:
        text = text.replace(secret, MASK * 8)
    return text


def _shown(masked: str) -> str:
    """A masked decoded layer cut for display (masked first: a cut secret would not be masked)."""
    if len(masked) <= HIDDEN_SHOWN_CHARS:
        return masked
    return masked[:HIDDEN_SHOWN_CHARS] + "…"


def _redact(text: str) -> str:
    """Mask what the rules recognise, then long digit runs and key-like tokens."""
    try:
        text = redact(text, scan_rules(text))
    except Exception:  # redaction must never lose the result; fall back to masking
        log.exception("rules.redact failed on an excerpt")
    return fallback_redact(text)


def _clamp(start: int, end: int, length: int) -> tuple[int, int]:
    start = max(0, min(start, length))
    return start, max(start, min(end, length))


def _model_hit(
    label: str, p: float, source: str, start: int, end: int, excerpt: str, note: str = ""
) -> Evidence:
    """Evidence for a model score of ``label`` over ``[start, end)`` (visible or hidden text)."""
    cat = Category.from_label(label)
    score = round(p, 4)  # one value for the message and the confidence, so every place rounds it alike
    return Evidence(
        category=cat,
        source=source,
        start=start,
        end=end,
        message=f"model score {score:.2f} for {cat.info.display_name.lower()}{note}",
        severity=POLICY[cat].severity,
        rule_id=MODEL_RULE_ID,
        confidence=score,
        excerpt=excerpt,
    )
