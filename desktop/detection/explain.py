"""From a result to words a person reads: one sentence, and a longer ``details`` text.

The sentence names what was found and how sure we are ("High-confidence jailbreak
attempt detected: a role-play persona that switches off safety rules (model score
0.97)"), where (rule and hidden-layer spans) and, for model detections, the
technique, spotted with cheap keyword cues per category.

Nothing raw that could be a secret reaches these texts: rule excerpts are
redacted by the rules, and decoded hidden text goes through ``redact`` first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from desktop.detection.categories import CATEGORY_INFO, Category, Severity
from desktop.detection.policy import HIDDEN_ESCALATION, MODEL_RULE_ID
from desktop.detection.types import DetectionResult, Evidence, HiddenLayer

#: Characters of text searched for technique cues (they are cheap, but bounded).
CUE_SCAN_CHARS = 20_000

Redactor = Callable[[str], str]

NOUNS: dict[Category, str] = {
    Category.BENIGN: "nothing",
    Category.COMMAND_INJECTION: "command injection",
    Category.PII_EXPOSURE: "personal or secret data",
    Category.JAILBREAK: "jailbreak attempt",
    Category.PROMPT_INJECTION: "prompt injection",
    Category.DATA_EXFILTRATION: "data-exfiltration attempt",
    Category.BIAS_MANIPULATION: "bias-manipulation prompt",
    Category.HALLUCINATION: "hallucination bait",
}

#: How each hidden-layer kind is named in a sentence.
CARRIERS: dict[str, str] = {
    "tag_chars": "invisible Unicode tag characters",
    "base64": "a base64-encoded block",
    "hex": "a hex-encoded block",
    "url": "URL-encoded text",
    "url_encoding": "URL-encoded text",
    "variation_selectors": "invisible variation selectors",
    "zero_width": "zero-width characters",
    "html_comment": "an HTML comment",
    "bidi": "bidirectional control characters",
    "leetspeak": "text written in leetspeak",
}


#: Classes whose sentence names the rule match first (concrete values and commands);
#: for the others the model's reading, with its technique, comes first.
RULE_FIRST = frozenset(
    {Category.PII_EXPOSURE, Category.COMMAND_INJECTION, Category.DATA_EXFILTRATION}
)


#: A model score for another threat class that is worth naming beside a rule's verdict.
MODEL_SUPPORT_SCORE = 0.5


def confidence_bucket(confidence: float) -> str:
    """``high`` (>= 0.85), ``medium`` (>= 0.6) or ``low``."""
    if confidence >= 0.85:
        return "high"
    if confidence >= 0.6:
        return "medium"
    return "low"


@dataclass(frozen=True)
class Cue:
    pattern: re.Pattern[str]
    phrase: str


def _cues(*pairs: tuple[str, str]) -> tuple[Cue, ...]:
    return tuple(Cue(re.compile(p, re.IGNORECASE), phrase) for p, phrase in pairs)


#: Keyword cues per category, most specific first.
TECHNIQUES: dict[Category, tuple[Cue, ...]] = {
    Category.JAILBREAK: _cues(
        (r"\bDAN\b|do anything now", "a “DAN” persona that claims to have no rules"),
        (
            r"developer mode|dev mode|god mode",
            "a fake “developer mode” that switches off safety rules",
        ),
        (
            r"jailbr(?:oken|eak)\b.{0,500}?\bclassic\b|\bclassic\b.{0,500}?\bjailbr",
            "a two-answer “classic and jailbroken” template",
        ),
        (
            r"(?:never|don'?t|do not) (?:refuse|say (?:you )?can'?t|apologi[sz]e)|without (?:any )?(?:warnings?|disclaimers?|filters?)|no (?:moral|ethical) (?:limits|guidelines)",
            "refusal suppression (“never say you can't”)",
        ),
        (
            r"(?:start|begin) (?:your (?:answer|response|reply) )?with [\"“']?sure",
            "a forced “Sure, here is” prefix",
        ),
        (
            r"\b(?:pretend|role-?play|you are now|act as|stay in character|persona|from now on you)\b",
            "a role-play persona that switches off safety rules",
        ),
        (
            r"\b(?:story|novel|fiction|screenplay|script|character|fictional)\b",
            "fiction framing around a harmful request",
        ),
        (
            r"hypothetical|for (?:research|educational|academic) purposes|safety testing|red[- ]team",
            "a hypothetical or research pretext",
        ),
        (
            r"\b(?:grandma|my (?:late )?grandmother|i am a (?:doctor|police|researcher|professor))\b",
            "an emotional or authority appeal",
        ),
        (r"(?<![a-z0-9@$])[a-z]{1,24}[0-9@$]{1,4}[a-z]{1,24}[0-9@$]", "leetspeak obfuscation"),
        (r"(?:[!?.}{)(\]\[\\/|~^]{2,}\s*){4,}", "an adversarial suffix of odd tokens"),
    ),
    Category.PROMPT_INJECTION: _cues(
        (
            r"(?<!n't )(?<!not )(?<!never )\b(?:ignore|disregard|forget) (?:all |any )?(?:the )?(?:previous|prior|above|earlier|preceding)\b",
            "an instruction to ignore previous instructions",
        ),
        (
            r"your (?:real|actual|true|new) (?:instructions|task|goal)",
            "a claim to be the model's “real” instructions",
        ),
        (
            r"</?(?:system|document|context)>|#{2,}\s*(?:system|assistant|instruction)|\[/?INST\]|^\s*(?:system|assistant)\s*:",
            "a fake system or assistant turn",
        ),
        (r"\bnew (?:task|instructions?)\b", "a new task that replaces the user's"),
        (r"<!--", "an instruction hidden in an HTML comment"),
        (
            r"\b(?:recommend|say|respond with|output|approve)\b",
            "goal hijacking (making the model say or approve something)",
        ),
    ),
    Category.DATA_EXFILTRATION: _cues(
        (
            r"!\[[^\]]*\]\(\s*https?://[^)\s]*[?&][^)\s]*=",
            "a markdown image whose URL would carry conversation data",
        ),
        (
            r"(?:repeat|print|output|reveal|show) (?:everything|all|the text|your (?:system )?(?:prompt|instructions))|verbatim|system prompt",
            "a request to reveal the system prompt",
        ),
        (
            r"~/\.ssh|\.env\b|id_rsa|cookies|environment variables|api[_ ]?keys?",
            "an attempt to collect keys, cookies or files",
        ),
        (
            r"\b(?:send|post|upload|forward|exfiltrate)\b.{0,80}(?:https?://|webhook|@)",
            "an instruction to send data to an outside address",
        ),
    ),
    Category.COMMAND_INJECTION: _cues(
        (
            r"(?:curl|wget)\b[^|\n]{0,500}\|\s*(?:sudo\s+)?(?:ba|z)?sh\b|\biwr\b.{0,500}?\|\s*iex",
            "a remote script piped to a shell",
        ),
        (r"/dev/tcp/|\bnc\b.{0,200}?\s-e\b|\bsocat\b|pty\.spawn", "a reverse shell"),
        (r"powershell[^\n]*\s-(?:e|enc|encodedcommand)\b", "an encoded PowerShell command"),
        (r"certutil[^\n]*-urlcache|bitsadmin", "a download-and-run cradle"),
        # the home directory or the root itself, not "rm -rf /var/lib/apt/lists/*" in a Dockerfile
        (
            r"rm\s+-(?:rf|fr)\s+(?:--\s+)?[\"']?(?:~|/|\$HOME|\$\{HOME\})[\"']?/?\*?(?=$|[\s;&|)])"
            r"|dd\s+if=.{0,300}?of=/dev/|:\(\)\s*\{",
            "a destructive command",
        ),
        (r"crontab|sudoers|chmod\s+u\+s|\\Run\b", "a persistence change"),
        (
            r"\$\(|`[^`]+`|\beval\b|(?<!kubectl )(?<!docker )(?<!podman )(?<!compose )\bexec\b|__import__",
            "code smuggled into a command or interpreter",
        ),
    ),
    Category.BIAS_MANIPULATION: _cues(
        (r"who (?:is|are) more likely", "a loaded forced-choice question about groups"),
        (r"explain why \w+ (?:people )?are", "a stereotype presented as fact"),
        (r"\b(?:joke|funny)\b", "humour that demeans a group"),
    ),
    Category.HALLUCINATION: _cues(
        (
            r"pip install|npm install|package|library|import ",
            "a request for software packages that may not exist",
        ),
        (
            r"\b(?:cite|citations?|sources?|references?|quote|doi)\b",
            "a request for citations that may not exist",
        ),
        (r"\bwhy did\b|\bwhen did\b", "a question resting on a premise that may be false"),
    ),
}


def techniques(category: Category, text: str, limit: int = 2) -> list[str]:
    """Technique phrases whose cue appears in ``text`` (at most ``limit``)."""
    window = text[:CUE_SCAN_CHARS]
    found = [cue.phrase for cue in TECHNIQUES.get(category, ()) if cue.pattern.search(window)]
    return found[:limit]


_DIGITS = re.compile(r"\d[\d \-]{4,}\d")
_TOKENISH = re.compile(r"\b(?=[A-Za-z0-9_\-+/=]{24,}\b)(?=\S*\d)\S+")


def fallback_redact(text: str) -> str:
    """Mask long digit runs and key-like tokens (used when no redactor is given)."""
    text = _DIGITS.sub(lambda m: "•" * len(m.group()), text)
    return _TOKENISH.sub(lambda m: m.group()[:4] + "…", text)


def shorten(text: str, words: int = 4, chars: int = 60) -> str:
    """The first few words, with an ellipsis when cut."""
    clean = " ".join(text.split())
    parts = clean.split(" ")
    out = " ".join(parts[:words])
    if len(out) > chars:
        out = out[:chars].rstrip()
    return out + (" …" if len(out) < len(clean) else "")


def _found(message: str) -> str:
    """``"Payment card number (Visa ending 1111)"`` -> ``"Payment card number found (Visa…)"``."""
    message = message.strip().rstrip(".")
    if " found" in message.lower():
        return message
    head, sep, tail = message.partition(" (")
    return f"{head} found{sep}{tail}" if sep else f"{message} found"


def _lower_first(message: str) -> str:
    """Lower-case an ordinary capitalised first word ("Downloads"), not "PowerShell" or "AWS"."""
    word = message.split(" ", 1)[0]
    if len(word) > 1 and word[0].isupper() and word[1:].islower():
        return message[0].lower() + message[1:]
    return message


def _rule_sentence(cat: Category, e: Evidence, inside: str, extra: str) -> str:
    """PII messages are nouns ("AWS access key ID"): "… found at characters 0–20".
    Other rules describe an action: "Command injection: downloads a script … (characters 0–37)"."""
    if cat is Category.PII_EXPOSURE:
        return f"{_found(e.message)}{inside} at {_where(e)}{extra}."
    message = _lower_first(e.message.strip().rstrip("."))
    return f"{CATEGORY_INFO[cat].display_name}: {message}{inside} ({_where(e)}){extra}."


def _where(e: Evidence) -> str:
    return f"characters {e.start}–{e.end}"


def _layer_for(e: Evidence, layers: Sequence[HiddenLayer]) -> HiddenLayer | None:
    for layer in layers:
        if layer.start <= e.start and e.end <= layer.end:
            return layer
    return None


def _carrier(layer: HiddenLayer | None) -> str:
    if layer is None:
        return "hidden content"
    return CARRIERS.get(layer.kind, f"hidden {layer.kind.replace('_', ' ')} content")


def explain(
    result: DetectionResult,
    text: str = "",
    *,
    redact: Redactor | None = None,
    model_chars: int | None = None,
    rules_chars: int | None = None,
) -> tuple[str, str]:
    """``(explanation, details)`` for ``result``; ``text`` is searched for technique cues.

    ``model_chars``: how many characters of the original text the model read, when it read
    fewer than the rules (long texts); ``rules_chars``: how many the rules read (default: the
    result's ``scanned_chars``). The sentence and the details say who read how much.
    """
    redact = redact or fallback_redact
    rules = min(result.scanned_chars if rules_chars is None else rules_chars, result.total_chars)
    model = model_chars if model_chars is not None and model_chars < rules else None
    coverage = _Coverage(result.total_chars, rules, model)
    sentence = _sentence(result, text, redact, coverage)
    return sentence, _details(result, text, redact, sentence, coverage)


@dataclass(frozen=True)
class _Coverage:
    """How much of the text the rules and the model read."""

    total: int
    rules: int
    model: int | None  # None: the model read what the rules read (or there is no model)

    def sentence_note(self) -> str:
        """For the one-line explanation of a benign result."""
        if self.rules < self.total:
            return f" in the first {self.rules:,} of {self.total:,} characters"
        if self.model is not None:
            return (
                f" (the AI model read the first {self.model:,} of {self.total:,} characters, "
                "the rules all of them)"
            )
        return ""

    def details_line(self, latency_ms: float) -> str:
        if self.rules < self.total:
            line = (
                f"Only the first {self.rules:,} of {self.total:,} characters were scanned; "
                "the rest was not checked."
            )
            if self.model is not None:
                line += f" The AI model read the first {self.model:,} of them."
            return line
        if self.model is not None:
            return (
                f"The rules checked all {self.total:,} characters; the AI model read the first "
                f"{self.model:,} (it reads a long text in a limited number of windows)."
            )
        return f"Scanned all {self.total:,} characters in {latency_ms:.1f} ms."


def near_miss_note(result: DetectionResult) -> str:
    """``"the model leaned towards prompt injection (score 0.87, alarm at 0.98)"`` for a
    benign result with a near miss, else ``""``. Two decimals, or three or four where two
    would print the score and the threshold alike (half-up, so 0.9295 prints 0.930, never
    lower than it is)."""
    cat = result.near_miss
    if cat is None or result.is_threat:
        return ""
    score = result.scores.get(cat.label, 0.0)
    limit = result.near_miss_threshold
    name = CATEGORY_INFO[cat].display_name.lower()
    if limit is None:
        return (
            f"the model leaned towards {name} (score {_fixed(score, 2)}, under its alarm threshold)"
        )
    digits = next((d for d in (2, 3) if _fixed(score, d) != _fixed(limit, d)), 4)
    return (
        f"the model leaned towards {name} "
        f"(score {_fixed(score, digits)}, alarm at {_fixed(limit, digits)})"
    )


def _fixed(x: float, digits: int) -> str:
    """``x`` with ``digits`` decimals, rounded half-up from its shortest decimal form."""
    return str(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _sentence(result: DetectionResult, text: str, redact: Redactor, coverage: _Coverage) -> str:
    cat = result.category
    if cat is Category.BENIGN:
        base = "No threat found"
        if result.mode == "rules-only":
            base = "No known threat patterns found (rules only: the AI model is not loaded)"
        base += coverage.sentence_note()
        note = near_miss_note(result)
        return base + (f"; {note}." if note else ".")

    evidence = [e for e in result.evidence if e.category is cat]
    carriers = [e for e in evidence if e.source == "hidden" and e.rule_id.startswith("hidden.")]
    rules = [e for e in evidence if e.rule_id != MODEL_RULE_ID and e not in carriers]
    models = [e for e in evidence if e.rule_id == MODEL_RULE_ID]
    noun = NOUNS[cat]

    if carriers:
        top = carriers[0]
        layer = _layer_for(top, result.hidden_content)
        decoded = shorten(redact(layer.decoded)) if layer else ""
        what = "Hidden instructions" if cat is Category.PROMPT_INJECTION else f"Hidden {noun}"
        tail = f": “{decoded}”" if decoded else ""
        return f"{what} found in {_carrier(layer)}{tail}"

    if rules and (cat in RULE_FIRST or not models):
        top = rules[0]
        inside = ""
        if top.source == "hidden":
            inside = f" inside {_carrier(_layer_for(top, result.hidden_content))}"
        extra = f" (and {len(rules) - 1} more)" if len(rules) > 1 else ""
        sentence = _rule_sentence(cat, top, inside, extra)
        if models:  # rule and model agree: say so, the model's view is evidence too
            sentence = (
                f"{sentence.rstrip('.')}; the AI model agrees (score {models[0].confidence:.2f})."
            )
        else:  # the model backs the alarm under another threat class: say that too
            other = [
                e
                for e in result.evidence
                if e.rule_id == MODEL_RULE_ID
                and e.category is not Category.BENIGN
                and e.confidence >= MODEL_SUPPORT_SCORE
            ]
            if other:
                best = max(other, key=lambda e: e.confidence)
                sentence = (
                    f"{sentence.rstrip('.')}; the AI model also flags it as "
                    f"{CATEGORY_INFO[best.category].display_name.lower()} "
                    f"(score {best.confidence:.2f})."
                )
        return sentence

    top = models[0] if models else None
    hints = techniques(cat, text) if text else []
    score = top.confidence if top is not None else result.confidence
    inside = ""
    if top is not None and top.source == "hidden":
        inside = f" inside {_carrier(_layer_for(top, result.hidden_content))}"
    head = f"{confidence_bucket(score).capitalize()}-confidence {noun} detected{inside}"
    if hints:
        head += f": {hints[0]}"
    return f"{head} (model score {score:.2f})."


def _details(
    result: DetectionResult,
    text: str,
    redact: Redactor,
    sentence: str,
    coverage: _Coverage,
) -> str:
    info = CATEGORY_INFO[result.category]
    lines = [sentence, ""]
    if result.is_threat:
        lines.append(
            f"Verdict: {info.display_name}, {result.severity.label} severity, "
            f"confidence {result.confidence:.2f} ({confidence_bucket(result.confidence)})."
        )
        lines.append("")
        lines.append("What was found:")
        for e in result.evidence[:12]:
            lines.append(f"  • {_evidence_line(e, result.hidden_content)}")
        if len(result.evidence) > 12:
            lines.append(f"  • … and {len(result.evidence) - 12} more")
        hints = techniques(result.category, text, limit=3) if text else []
        if hints:
            lines.append("Technique: " + "; ".join(hints) + ".")
        others = sorted(
            {e.category for e in result.evidence if e.category is not result.category},
            key=lambda c: -int(CATEGORY_INFO[c].default_severity),
        )
        if others:
            lines.append(
                "Also flagged: " + ", ".join(CATEGORY_INFO[c].display_name for c in others) + "."
            )
        lines.append("")
        lines.append(f"Why it matters: {info.description}")
        lines.append(f"What to do: {info.remediation}")
    elif result.near_miss is not None:
        lines.append(
            "Nothing reached an alarm threshold, so the text is not flagged. Read it yourself "
            "if it came from a source you do not trust."
        )
    else:
        lines.append("Nothing in this text matched a threat category.")

    if result.hidden_content:
        lines.append("")
        lines.append("Hidden content decoded from the text:")
        for layer in result.hidden_content[:8]:
            lines.append(
                f"  • {_carrier(layer)} at characters {layer.start}–{layer.end}: "
                f"“{shorten(redact(layer.decoded), words=10, chars=120)}”"
            )
    changes = [s for s in result.normalization if s.count]
    if changes:
        lines.append("")
        lines.append(
            "Cleaned before scanning: "
            + "; ".join(
                f"{s.kind.replace('_', ' ')} ×{s.count}" + (f" ({s.note})" if s.note else "")
                for s in changes
            )
            + "."
        )
    lines.append("")
    lines.append(coverage.details_line(result.latency_ms))
    if result.mode == "rules-only":
        reason = f": {result.mode_reason}" if result.mode_reason else ""
        lines.append(
            f"Mode: rules only, the AI model is not loaded{reason}. Only known patterns were checked."
        )
    else:
        lines.append("Mode: AI model and rules, on this device; nothing left the machine.")
    return "\n".join(lines)


def _evidence_line(e: Evidence, layers: Sequence[HiddenLayer]) -> str:
    where = _where(e)
    if e.source == "hidden":
        where += f", inside {_carrier(_layer_for(e, layers))}"
    excerpt = f": “{e.excerpt}”" if e.excerpt else ""
    if e.rule_id == MODEL_RULE_ID:
        label = CATEGORY_INFO[e.category].display_name.lower()
        return f"model: {label} score {e.confidence:.2f} at {where}{excerpt}"
    sev = f" [{e.severity.label}]" if e.severity > Severity.NONE else ""
    if e.source == "hidden" and not (e.rule_id or "").startswith("hidden.") and sev:
        # A rule match inside hidden content counts HIDDEN_ESCALATION levels worse (policy).
        raised = Severity(min(int(Severity.CRITICAL), int(e.severity) + HIDDEN_ESCALATION))
        if raised != e.severity:
            sev = f" [{e.severity.label}, {raised.label} as it was hidden]"
    return f"{e.message.rstrip('.')}{sev} at {where}{excerpt}"
