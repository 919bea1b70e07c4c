"""Deterministic detectors: validated PII, secrets, command and exfiltration markers.

:data:`RULES` is the table (id, category, severity, message, patterns, check);
:func:`scan_rules` runs it and returns :class:`Evidence` whose offsets index the
text it was given and whose excerpts are already redacted; :func:`redact` masks
the PII and secret spans of a text ("•••• •••• •••• 1111", "j•••@example.com").

Precision comes first: the model does the fuzzy work. PII is validated (Luhn and
issuer ranges, IBAN and national-ID check digits via python-stdnum) and national
identifiers need a keyword nearby; commands need the dangerous part (a pipe into
a shell, a target like ``/`` or ``~``), not just the tool's name.

Every pattern is linear: quantifiers over a gap are bounded (``{0,200}``), no
unbounded quantifier is nested in another, and runs that could be retried from
each position inside them are anchored by a look-behind. ``scan_rules`` reads at
most :data:`MAX_SCAN_CHARS` characters, skips rules whose keywords are absent,
and keeps at most :data:`MAX_MATCHES_PER_RULE` matches per rule.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlsplit

from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.au import tfn as au_tfn
from stdnum.ca import sin as ca_sin
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fr import nir as fr_nir
from stdnum.gb import nhs as gb_nhs
from stdnum.in_ import aadhaar as in_aadhaar
from stdnum.it import codicefiscale as it_cf
from stdnum.nl import bsn as nl_bsn
from stdnum.us import itin as us_itin

from desktop.detection.categories import Category, Severity
from desktop.detection.types import Evidence

log = logging.getLogger(__name__)

__all__ = ["RULES", "RULES_BY_ID", "Rule", "Hit", "scan_rules", "redact", "MASK"]

#: The most characters ``scan_rules`` reads (the detector passes ~1 MB at most).
MAX_SCAN_CHARS = 2_000_000
MAX_MATCHES_PER_RULE = 200
#: The mask character used by ``redact`` and in excerpts.
MASK = "•"
EXCERPT_CHARS = 120

PII = Category.PII_EXPOSURE
CMD = Category.COMMAND_INJECTION
EXFIL = Category.DATA_EXFILTRATION
INJ = Category.PROMPT_INJECTION
LOW, MEDIUM, HIGH, CRITICAL = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL


@dataclass(frozen=True)
class Hit:
    """What a check returns to accept a match, optionally changing it."""

    start: int | None = None
    end: int | None = None
    severity: Severity | None = None
    message: str | None = None


#: A check gets the match and the whole text; ``None``/``False`` rejects the match.
Check = Callable[[re.Match[str], str], "Hit | bool | None"]
#: A finder replaces patterns for rules that combine several matches.
Finder = Callable[[str], Iterable[tuple[int, int, Hit]]]


@dataclass(frozen=True)
class Rule:
    """One row of the table."""

    id: str
    category: Category
    severity: Severity
    message: str
    #: How ``redact`` masks the span: card, iban, email, phone, last4, token, secret,
    #: pem, or "" for rules whose span is not sensitive (commands, exfiltration).
    mask: str = ""
    patterns: tuple[re.Pattern[str], ...] = ()
    check: Check | None = None
    finder: Finder | None = None
    #: Lower-case substrings one of which must occur for the rule to run at all.
    keywords: tuple[str, ...] = ()
    confidence: float = 1.0
    #: The regex group that is the evidence span (the secret value), 0 = all.
    group: int = 0
    #: And one of these too (context words a national-ID rule needs nearby).
    requires: tuple[str, ...] = ()


_LEAD_WORD = re.compile(r"\\b((?:[A-Za-z0-9_\-]|\\\.)+)(?![A-Za-z0-9_\-?*+{|]|\\\.)")
_LEAD_WORDS = re.compile(r"\\b\(\?:((?:[A-Za-z0-9_\-|]|\\\.)+)\)(?![?*+{])")


def _re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile, moving a leading word boundary behind the word.

    ``re`` scans fast for a pattern that starts with literal text, not for one that
    starts with ``\\b``: ``\\bcurl`` becomes ``curl(?<!\\wcurl)`` (same matches).
    """
    return re.compile(_lead_literal(pattern), flags)


def _lead_literal(pattern: str) -> str:
    m = _LEAD_WORD.match(pattern) or _LEAD_WORDS.match(pattern)
    if m is None:
        return pattern
    words = m.group(1).split("|")
    plain = [w.replace("\\.", ".").lower() for w in words]
    if any(not w or not (w[0].isalnum() or w[0] == "_") for w in plain):
        return pattern
    if any(a != b and b.endswith(a) for a in plain for b in plain):
        return pattern
    guards = "".join(f"(?<!\\w{w})" for w in words)
    head = words[0] if m.re is _LEAD_WORD else f"(?:{m.group(1)})"
    return head + guards + pattern[m.end() :]


_I = re.IGNORECASE


# --- shared helpers ------------------------------------------------------------------

_EXAMPLE_CONTEXT = _re(
    r"\b(?:example|examples|sample|dummy|fake|placeholder|e\.g\.|for instance|"
    r"test (?:card|number|key|value|data)|such as)\b",
    _I,
)


def _near(
    text: str, start: int, end: int, pattern: re.Pattern[str], before: int = 60, after: int = 30
) -> bool:
    return pattern.search(text, max(0, start - before), min(len(text), end + after)) is not None


def _example(text: str, start: int, end: int, value: str = "") -> bool:
    """The value is marked as an example (the user decides: low, not silent)."""
    if "example" in value.lower() or "xxxx" in value.lower():
        return True
    return _EXAMPLE_CONTEXT.search(text, max(0, start - 40), start) is not None


def _demote(hit: Hit, text: str, start: int, end: int, value: str) -> Hit:
    if _example(text, start, end, value):
        base = hit.message or ""
        return Hit(hit.start, hit.end, LOW, (base + " (marked as an example)") if base else None)
    return hit


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


# --- PII: payment cards --------------------------------------------------------------

# (brand, IIN ranges as inclusive (low, high) prefixes, allowed lengths)
_CARD_BRANDS: tuple[tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    ("Visa", ((4, 4),), (13, 16, 19)),
    ("Mastercard", ((51, 55), (2221, 2720)), (16,)),
    ("American Express", ((34, 34), (37, 37)), (15,)),
    ("Discover", ((6011, 6011), (644, 649), (65, 65), (622126, 622925)), (16, 17, 18, 19)),
    ("JCB", ((3528, 3589),), (16, 17, 18, 19)),
    ("Diners Club", ((300, 305), (36, 36), (38, 39)), (14, 15, 16, 17, 18, 19)),
    ("UnionPay", ((62, 62), (81, 81)), (16, 17, 18, 19)),
    ("Maestro", ((5018, 5018), (5020, 5020), (5038, 5038), (6304, 6304), (6759, 6759)),
     (12, 13, 14, 15, 16, 17, 18, 19)),
)  # fmt: skip
# Group layouts people write cards in (digits per group).
_CARD_LAYOUTS = {(4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3), (4, 4, 4, 1), (4, 4, 4, 2),
                 (4, 4, 4, 3), (4, 4, 5), (4, 4, 4, 4, 2), (4, 4, 4, 4, 1)}  # fmt: skip
_TEST_CARDS = {
    "4111111111111111", "4242424242424242", "4012888888881881", "4000056655665556",
    "5555555555554444", "5105105105105100", "2223003122003222", "378282246310005",
    "371449635398431", "6011111111111117", "6011000990139424", "3530111333300000",
    "30569309025904", "38520000023237", "6200000000000005",
}  # fmt: skip
_CARD_RUN = _re(
    r"(?<![\w\-.,/])(?=(?:\d[ \-]?){11}\d)\d{1,19}(?:[ \-]\d{1,19}){0,7}(?![\w\-]|[.,/]\d)"
    # A bare 12-19 digit field of CSV: a comma on one side or both (never a thousands group, which
    # has three digits; the Luhn check and the brand's prefix and length still apply).
    r"|(?<=,)\d{12,19}(?![\w\-.]|/\d)|(?<![\w\-.,/])\d{12,19}(?=,)"
    # Four groups of four with dots ("4539.1488.0343.6467"), as some forms and scans print them.
    r"|(?<![\w\-.,/])\d{4}\.\d{4}\.\d{4}\.\d{4}(?![\w\-]|[.,/]\d)"
)
_DIGIT_GROUP = _re(r"\d+")
_MAX_CARD_RUNS = 20_000


def _card_brand(number: str) -> str | None:
    return _card_brand_of(number[:6], len(number))


@lru_cache(maxsize=4096)
def _card_brand_of(prefix: str, length: int) -> str | None:
    number = prefix
    for brand, ranges, lengths in _CARD_BRANDS:
        if length not in lengths:
            continue
        for low, high in ranges:
            width = len(str(low))
            if low <= int(number[:width]) <= high:
                return brand
    return None


def _card_hits(text: str) -> Iterable[tuple[int, int, Hit]]:
    for n, run in enumerate(_CARD_RUN.finditer(text)):
        if n >= _MAX_CARD_RUNS:
            return
        value = run.group()
        if _decimal_fraction(text, run.start()):
            continue
        groups = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(value)]
        sizes = [e - s for s, e in groups]
        # A run can hold several cards ("4000000000000002 4111 1111 1111 1111"): look again
        # after each one.
        after = 0
        while (found := _card_in_groups(value, groups, sizes, after)) is not None:
            first, last, number, brand = found
            after = last + 1
            if first > 0 and _long_grouped_number(sizes):
                continue
            start, end = run.start() + groups[first][0], run.start() + groups[last][1]
            note = ", a well-known test number" if number in _TEST_CARDS else ""
            hit = Hit(start, end, None, f"Payment card number ({brand}{note}, passes the Luhn check)")
            yield start, end, _demote(hit, text, start, end, "")


def _decimal_fraction(text: str, start: int) -> bool:
    """Digits after "<digit>," in a line separated by ";" or tabs: a decimal comma
    ("Wert;0,4532015112830366;x"), not a CSV field."""
    if start < 2 or text[start - 1] != "," or not text[start - 2].isdigit():
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return ";" in line or "\t" in line


def _long_grouped_number(sizes: list[int]) -> bool:
    """One number of more than 20 digits written in fours, such as a USPS tracking number.

    "9400 4770 9011 4971 4171 69" holds "4770 9011 4971 4171", a Luhn-valid Visa number.
    A card inside such a run is skipped only when it starts after the run's first group:
    a card followed by its expiry and CVV ("4111 1111 1111 1111 1229 123") starts the run.
    """
    return len(sizes) >= 5 and sum(sizes) > 20 and all(s == 4 for s in sizes[:-1])


def _card_in_groups(
    value: str, groups: list[tuple[int, int]], sizes: list[int], after: int = 0
) -> tuple[int, int, str, str] | None:
    """The first, widest run of digit groups, from group ``after`` on, that is a valid card:
    (first, last, number, brand)."""
    for i in range(after, len(groups)):
        windows = []
        total = 0
        for j in range(i, len(groups)):
            total += sizes[j]
            if total > 19:
                break
            if total >= 12:
                windows.append(j)
        for j in reversed(windows):
            if j > i:
                if tuple(sizes[i : j + 1]) not in _CARD_LAYOUTS:
                    continue
                if len({value[groups[k][1]] for k in range(i, j)}) != 1:
                    continue
            number = "".join(value[s:e] for s, e in groups[i : j + 1])
            brand = _card_brand(number)
            if brand is not None and len(set(number)) > 1 and luhn.is_valid(number):
                return i, j, number, brand
    return None


# --- PII: IBAN, SSN, national identifiers --------------------------------------------

_IBAN = _re(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)


_IBAN_TOKEN = re.compile(r"[A-Z0-9]+")
_IBAN_HEAD = re.compile(r"[A-Z]{2}\d{2}")


def _iban_span(m: re.Match[str]) -> tuple[int, int] | None:
    """The longest valid IBAN in a candidate run, earliest first.

    The pattern is greedy, so a run such as "AA00 GB82 WEST 1234 5698 7654 32" (letters and
    digits before the IBAN) or an IBAN followed by one more group fails as a whole while a
    valid IBAN sits inside it; the match is consumed, so the scan would never try that one.
    """
    value = m.group()
    if _iban_ok(value):
        return m.start(), m.end()
    tokens = [(t.start(), t.end()) for t in _IBAN_TOKEN.finditer(value)]
    for i, (a, _) in enumerate(tokens):
        if not _IBAN_HEAD.match(value, a):
            continue
        for j in range(len(tokens) - 1, i, -1):
            candidate = value[a : tokens[j][1]]
            if not 15 <= len(candidate) - candidate.count(" ") <= 34:
                continue  # no country's IBAN is shorter or longer
            if _iban_ok(candidate):
                return m.start() + a, m.start() + tokens[j][1]
    return None


@lru_cache(maxsize=4096)
def _iban_ok(value: str) -> bool:
    """stdnum's full check, after the cheap ISO 7064 mod-97 test that nearly every
    non-IBAN fails (a page of "GB82 GB82 …" made thousands of full checks)."""
    compact = value.replace(" ", "")
    if not compact.isalnum() or not compact.isascii():
        return False
    moved = compact[4:] + compact[:4]
    if int("".join(str(int(c, 36)) for c in moved)) % 97 != 1:
        return False
    return bool(std_iban.is_valid(value))


def _check_iban(m: re.Match[str], text: str) -> Hit | None:
    span = _iban_span(m)
    if span is None:
        return None
    start, end = span
    value = text[start:end]
    hit = Hit(start, end, message=f"IBAN bank account number ({value[:2]}, valid check digits)")
    return _demote(hit, text, start, end, value)


_SSN_DASHED = _re(r"(?<![\w\-])(\d{3})-(\d{2})-(\d{4})(?![\w\-])")
_SSN_PLAIN = _re(r"(?<![\w\-])(\d{3}) ?(\d{2}) ?(\d{4})(?![\w\-])")
_SSN_CONTEXT = _re(r"\b(?:ssn|ss#|social security|soc\.? sec\.?|social sec)", _I)
_SSN_EXAMPLES = {"078051120", "219099999", "123456789"}


def _ssn_parts_ok(m: re.Match[str]) -> bool:
    area, group, serial = m.group(1), m.group(2), m.group(3)
    return not (area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000")


def _check_ssn_dashed(m: re.Match[str], text: str) -> Hit | None:
    if not _ssn_parts_ok(m):
        return None
    if m.group(1) + m.group(2) + m.group(3) in _SSN_EXAMPLES:
        return Hit(severity=LOW, message="US Social Security number (a well-known example)")
    if _near(text, m.start(), m.end(), _SSN_CONTEXT):
        return _demote(Hit(severity=HIGH), text, m.start(), m.end(), "")
    return _demote(
        Hit(severity=MEDIUM, message="Looks like a US Social Security number"),
        text,
        m.start(),
        m.end(),
        "",
    )


def _check_ssn_plain(m: re.Match[str], text: str) -> Hit | None:
    if "-" in m.group() or not _ssn_parts_ok(m):
        return None
    if not _near(text, m.start(), m.end(), _SSN_CONTEXT):
        return None
    return _demote(Hit(), text, m.start(), m.end(), "")


# UK National Insurance number: own check (python-stdnum has none).
_NINO = _re(
    r"(?<![A-Za-z0-9])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?![A-Za-z0-9])"
)
_NINO_BAD_PREFIX = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
_NINO_CONTEXT = _re(r"\b(?:national insurance|NI number|NI no|NINO|N\.I\.)", _I)


def _check_nino(m: re.Match[str], text: str) -> Hit | None:
    if m.group(1) in _NINO_BAD_PREFIX or not _near(text, m.start(), m.end(), _NINO_CONTEXT):
        return None
    return _demote(Hit(), text, m.start(), m.end(), "")


def _stdnum_check(validator: Callable[[str], bool], context: re.Pattern[str]) -> Check:
    def check(m: re.Match[str], text: str) -> Hit | None:
        if not _near(text, m.start(), m.end(), context):
            return None
        try:
            ok = validator(m.group())
        except Exception:  # stdnum validators raise for odd input; treat as invalid
            ok = False
        return _demote(Hit(), text, m.start(), m.end(), "") if ok else None

    return check


def _spaced_digits(*sizes: int) -> str:
    inner = r"[ \-]?".join(rf"\d{{{n}}}" for n in sizes)
    return rf"(?<![\w\-]){inner}(?![\w\-])"


# (id, what, candidate pattern, validator, context pattern, context keywords for the prefilter)
_NATIONAL_IDS: tuple[tuple[str, str, str, Callable[[str], bool], str, tuple[str, ...]], ...] = (
    ("pii.ca_sin", "Canadian Social Insurance Number", _spaced_digits(3, 3, 3), ca_sin.is_valid,
     r"\b(?:SIN|social insurance|NAS|assurance sociale)\b", ("sin", "social insurance", "nas", "assurance sociale")),
    ("pii.in_aadhaar", "Indian Aadhaar number", _spaced_digits(4, 4, 4), in_aadhaar.is_valid,
     r"\b(?:aadhaar|aadhar|UIDAI)\b|आधार", ("aadha", "uidai", "आधार")),
    ("pii.gb_nhs", "UK NHS number", _spaced_digits(3, 3, 4), gb_nhs.is_valid, r"\bNHS\b", ("nhs",)),
    ("pii.nl_bsn", "Dutch citizen service number (BSN)", r"(?<![\w\-])\d{9}(?![\w\-])",
     nl_bsn.is_valid, r"\b(?:BSN|burgerservicenummer|sofinummer)\b", ("bsn", "burgerservicenummer", "sofinummer")),
    ("pii.es_dni", "Spanish DNI/NIE", r"(?<![\w\-])(?:\d{8}|[XYZ]-?\d{7})-?[A-Z](?![\w\-])",
     lambda v: es_dni.is_valid(v) or es_nie.is_valid(v),
     r"\b(?:DNI|NIE|NIF|documento nacional)\b", ("dni", "nie", "nif", "documento nacional")),
    ("pii.fr_nir", "French social security number (NIR)",
     r"(?<![\w\-])[12] ?\d{2} ?\d{2} ?(?:\d{2}|2A|2B) ?\d{3} ?\d{3} ?\d{2}(?![\w\-])",
     fr_nir.is_valid, r"(?:s[ée]curit[ée] sociale|\bNIR\b|\bINSEE\b|num[ée]ro de s[ée]cu)",
     ("sociale", "nir", "insee", "ro de s")),
    ("pii.it_codice_fiscale", "Italian codice fiscale",
     r"(?<![A-Za-z0-9])[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z](?![A-Za-z0-9])",
     it_cf.is_valid, r"(?:codice fiscale|\bC\.F\.|\bCF\b)", ("codice fiscale", "c.f.", "cf")),
    ("pii.de_idnr", "German tax ID (IdNr)", _spaced_digits(2, 3, 3, 3), de_idnr.is_valid,
     r"(?:steuer-?id|steueridentifikationsnummer|\bIdNr\b|tax id)", ("steuer", "idnr", "tax id")),
    ("pii.au_tfn", "Australian Tax File Number", r"(?<![\w\-])\d{3} ?\d{3} ?\d{2,3}(?![\w\-])",
     au_tfn.is_valid, r"\b(?:TFN|tax file number)\b", ("tfn", "tax file number")),
    ("pii.us_itin", "US ITIN", r"(?<![\w\-])9\d{2}-?\d{2}-?\d{4}(?![\w\-])", us_itin.is_valid,
     r"\b(?:ITIN|taxpayer identification)\b", ("itin", "taxpayer identification")),
)  # fmt: skip


# --- PII: e-mail, phone, date of birth -----------------------------------------------

_EMAIL = _re(
    r"(?<![\w.+%\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![\w\-])"
)
_PHONE_INTL = _re(r"(?<![\w+])\+\d{1,3}(?:[ .\-]?\(?\d{1,5}\)?){2,6}(?![\w\-])")
_SIGNED_DECIMAL = _re(r"\+\d{1,3}\.\d{1,2}(?!\d)")
_PHONE_NANP = _re(r"(?<![\w\-.])(?:\(\d{3}\) ?|\d{3}[\-.])\d{3}[\-.]\d{4}(?![\w\-])")


def _check_email(m: re.Match[str], text: str) -> Hit | None:
    local = m.group().split("@", 1)[0].lower()
    if local in ("git", "noreply", "no-reply") or local.endswith(".."):
        return None
    return Hit()


def _check_phone(m: re.Match[str], text: str) -> Hit | None:
    digits = _digits(m.group())
    if not 8 <= len(digits) <= 15:
        return None
    if m.group().startswith("+") and len(digits) < 10 and not any(c in m.group() for c in " .-"):
        return None
    if m.group()[0] in "(0123456789" and digits[0] in "01":
        return None
    if _SIGNED_DECIMAL.match(m.group()):
        return None  # "+12.5 (15) (22)": a measurement, not a number to dial
    return Hit()


_DOB = _re(
    r"\b(?:(d\.?o\.?b\.?|date of birth|birth ?date|geburtsdatum|fecha de nacimiento|date de naissance)"
    r"|(born(?: on)?))\s{0,3}[:\-]?\s{0,3}"
    r"(\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}|\d{1,2}(?:st|nd|rd|th)? [A-Za-z]{3,9}\.?,? \d{4}|[A-Za-z]{3,9}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4})",
    _I,
)


def _check_dob(m: re.Match[str], text: str) -> Hit:
    severity = MEDIUM if m.group(1) else LOW
    return Hit(m.start(3), m.end(3), severity)


# --- secrets -------------------------------------------------------------------------

_PLACEHOLDER_VALUES = {
    "password", "passwd", "pass", "pwd", "secret", "changeme", "change_me", "null", "none",
    "nil", "true", "false", "undefined", "example", "redacted", "hidden", "string", "str",
    "your_password", "yourpassword", "mypassword", "my_password", "password123", "xxxxxx",
    "secret_key", "your_secret", "your_api_key", "api_key", "token", "your_token", "required",
    "optional", "empty", "test", "dummy", "sample", "placeholder", "masked", "env", "input",
    "change-me", "changeit", "change_it",
}  # fmt: skip
#: A value that names where the secret is kept, not the secret: a file path, a secret manager's
#: reference (``op://``, ``vault://``, ``arn:aws:secretsmanager:…``, ``ssm:/…``), a YAML tag
#: (``!vault |``) or a Kubernetes-style ``secretKeyRef``.
_SECRET_REFERENCE = _re(
    # a path of two or more segments ("/var/run/secrets/…/token", "~/.config/app/key")
    r"(?:~?/[\w.\-]+(?:/[\w.\-]+)+/?"
    r"|!vault\b.*"  # an Ansible Vault tag
    r"|[A-Za-z][A-Za-z0-9+.\-]{1,20}://[\w.\-/@:]+"  # op://vault/item, vault://…, sm://…
    r"|arn:aws:[\w\-]+:[\w\-]*:\d*:[\w\-/:.]+"  # arn:aws:secretsmanager:…
    # ssm:/prod/db/password, file:/run/secrets/db, env:DB_PASSWORD; not "azure:Sup3rS3cret"
    r"|(?:ssm|vault|secretsmanager|keyvault|kms|env|file|gcp|azure|aws-sm):(?:[\w.\-]*/[\w/.\-]*|[A-Z][A-Z0-9_]*))"
)
_CODE_REFERENCE = _re(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+|[a-z_]+")


def _is_placeholder(value: str) -> bool:
    v = value.strip().strip("\"'`")
    low = v.lower()
    if len(v) < 4 or low in _PLACEHOLDER_VALUES or len(set(v)) == 1:
        return True
    if v[0] in "$%{<[(*•#" or "{{" in v or "${" in v or "(" in v or "<" in v:
        return True
    if _SECRET_REFERENCE.fullmatch(v):
        return True
    return "example" in low or "your" in low or "xxxx" in low or low.startswith("***")


_PASSWORD_ASSIGN = _re(
    r"(?:password|(?<!no)passwd|passphrase|\bpwd|client[_\-]?secret|api[_\-]?key|apikey|secret[_\-]?key"
    r"|access[_\-]?token|auth[_\-]?token|\bsecret|\btoken"
    # .env keys (HF_TOKEN, JWT_SECRET, DB_PWD) and snake-case names of the same kinds of secret,
    # not every name ending so ("page_token", "tls_secret" name other things).
    r"|(?-i:(?<![A-Za-z0-9])[A-Z][A-Z0-9]*_(?:[A-Z0-9]+_)*(?:TOKEN|SECRET|PWD))"
    r"|(?<![A-Za-z0-9])(?:jwt|db|database|hf|huggingface|slack|discord|telegram|bot|refresh|app|admin|root"
    r"|master|signing|session|webhook|github|gitlab|npm|pypi|oauth|consumer|private)_(?:token|secret|pwd))[\"']?\s{0,3}(=>|:=|[:=])\s{0,3}"
    r"(?:\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'|([^\s\"',;]{1,200}))",
    _I,
)


def _check_password(m: re.Match[str], text: str) -> Hit | None:
    quoted = m.group(2) is not None or m.group(3) is not None
    group = 2 if m.group(2) is not None else 3 if m.group(3) is not None else 4
    value = m.group(group)
    end = m.end(group)
    if not quoted:
        # "(password=hunter2)": a closing bracket with no opener in the value ends the sentence
        # around it, not the value.
        while value and value[-1] in ")]}" and value.count(value[-1]) > value.count("([{"[")]}".index(value[-1])]):
            value, end = value[:-1], end - 1
    if _is_placeholder(value):
        return None
    if not quoted:
        if "[" in value or "(" in value:
            return None  # an expression: os.environ["X"], get_password()
        # Unquoted code (`password = get_password`) and prose (`Password: reset it`).
        if _CODE_REFERENCE.fullmatch(value) and not any(c.isdigit() for c in value):
            return None
        if m.group(1) == ":" and not any(not c.isalpha() for c in value):
            return None
    return _demote(Hit(m.start(group), end), text, m.start(group), end, value)


_CONN_STRING = _re(
    r"(?<![\w+.\-])[A-Za-z][A-Za-z0-9+.\-]{1,20}://([^\s:/@]{0,128}):([^\s/@]{1,256})@[\w.\-]{1,255}"
)


def _check_conn(m: re.Match[str], text: str) -> Hit | None:
    password = unquote(m.group(2))
    if _is_placeholder(password):
        return None
    scheme = m.group().split(":", 1)[0].lower()
    return _demote(
        Hit(m.start(2), m.end(2), message=f"Password in a {scheme}:// connection string"),
        text, m.start(2), m.end(2), password,
    )  # fmt: skip


def _check_token(m: re.Match[str], text: str) -> Hit:
    return _demote(Hit(), text, m.start(), m.end(), m.group())


def _check_secret_value(m: re.Match[str], text: str) -> Hit | None:
    """A labelled secret (group 1): not a placeholder, else demoted in an example's context."""
    value = m.group(1)
    if _is_placeholder(value):
        return None
    return _demote(Hit(), text, m.start(1), m.end(1), value)


def _line_before(text: str, pos: int, limit: int) -> str:
    """The text from the start of ``pos``'s line to ``pos``, at most ``limit`` characters; a line
    cut by the limit starts with NUL, so that a pattern anchored at "^" does not take it for the
    line's start. Bounded: one long line must not make every match read it again."""
    lo = max(0, pos - limit)
    nl = text.rfind("\n", max(0, lo - 1), pos)  # from lo - 1: a line exactly ``limit`` long is whole
    if nl >= 0:
        return text[nl + 1 : pos]
    return text[lo:pos] if lo == 0 else "\0" + text[lo:pos]


def _check_random_value(m: re.Match[str], text: str) -> Hit | None:
    """A labelled value that looks generated: letters and digits mixed ("X-Auth-Status:
    authenticated_user" and "X-Token-Expiry: 2024-…" are not credentials)."""
    value = m.group(1)
    if not (any(c.isdigit() for c in value) and sum(c.isalpha() for c in value) >= 4):
        return None
    if re.fullmatch(r"[\d\-:T.Z+]+", value):
        return None  # a timestamp
    return _check_secret_value(m, text)


_CLI_USER = _re(r"(?:^|\s)(?:-u|--user)\s{1,3}[\"']?[^\s\"':]{1,64}:([^\s\"'@]{4,256})")
#: Tools whose "-u user:password" is a login, not a user and group (docker run -u, chown).
_LOGIN_TOOL = _re(r"\b(?:curl|wget|http|https|ftp|lftp|sftp|git|svn|hg|rsync|ldapsearch|smbclient)\b", _I)


def _check_cli_password(m: re.Match[str], text: str) -> Hit | None:
    value = m.group(1)
    if m.re is _CLI_USER:
        if not _LOGIN_TOOL.search(_line_before(text, m.start(), 300)):
            return None
        # "-u 1000:1000", "--user www-data:www-data": a user and a group, not a password.
        user = m.group().split(":", 1)[0].split()[-1].strip("\"'")
        if value.isdigit() or value == user:
            return None
    return _check_secret_value(m, text)


def _check_openai(m: re.Match[str], text: str) -> Hit | None:
    body = m.group()[3:]
    if not (
        any(c.isdigit() for c in body)
        and any(c.isupper() for c in body)
        and any(c.islower() for c in body)
    ):
        return None
    return _check_token(m, text)


def _check_mixed_case(m: re.Match[str], text: str) -> Hit | None:
    """A prefixed token (``hf_``, ``npm_``) whose body mixes upper and lower case, as random ones do."""
    body = m.group().split("_", 1)[1]
    if not (any(c.isupper() for c in body) and any(c.islower() for c in body)):
        return None
    return _check_token(m, text)


def _check_stripe(m: re.Match[str], text: str) -> Hit:
    if "_test_" in m.group():
        return Hit(severity=LOW, message="Stripe test-mode API key")
    return _check_token(m, text)


def _b64url_json(segment: str) -> object | None:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: "[[[[..." nested past the limit
        return None


def _check_jwt(m: re.Match[str], text: str) -> Hit | None:
    header = _b64url_json(m.group(1))
    if not isinstance(header, dict) or "alg" not in header:
        return None
    return _check_token(m, text)


_PEM_BEGIN = _re(r"-----BEGIN ((?:[A-Z0-9]{1,12} ){0,3})PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = _re(r"[A-Za-z0-9+/=]{40,}")


def _check_pem(m: re.Match[str], text: str) -> Hit:
    end_marker = text.find("-----END ", m.end(), m.end() + 64_000)
    if end_marker == -1:
        body_end = min(len(text), m.end() + 4_000)
        end = m.end()
    else:
        body_end = end_marker
        close = text.find("-----", end_marker + 9, end_marker + 80)
        end = close + 5 if close != -1 else end_marker + 9
    kind = (m.group(1) or "").strip()
    label = f"{kind} private key" if kind else "Private key"
    if not _PEM_BODY.search(text, m.end(), body_end):
        return Hit(m.start(), m.end(), MEDIUM, f"{label} header (no key material seen)")
    return Hit(m.start(), end, None, f"{label} (PEM block)")


_AWS_SECRET = _re(
    r"(?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key)[\"']?\s{0,3}(?:=>|[:=])\s{0,3}[\"']?"
    r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
    _I,
)


# --- commands ------------------------------------------------------------------------

_SHELLS = r"(?:(?:ba|z|k|da|a|fi|tc|c)?sh|python[0-9.]{0,4}|perl|ruby|node|php)"
_FETCH = r"(?:curl|wget|fetch)"

_PIPE_TO_SHELL = _re(
    rf"\b{_FETCH}\b[^\n|;&]{{0,500}}\|\s{{0,5}}(?:sudo\s{{1,5}}(?:-[A-Za-z]{{1,10}}\s{{1,5}}){{0,3}})?"
    rf"(?:(?:/usr)?/bin/)?{_SHELLS}\b"
)
_PROCESS_SUBST = _re(rf"\b(?:(?:ba|z|k)?sh|source|\.)\s{{1,5}}<\(\s{{0,5}}{_FETCH}\b")
_EXEC_REMOTE = _re(
    rf"\b(?:eval|{_SHELLS}\s{{1,5}}-c|perl\s{{1,5}}-e|ruby\s{{1,5}}-e|node\s{{1,5}}-e)\s{{0,5}}[\"']?\s{{0,3}}"
    rf"(?:\$\(|`)\s{{0,5}}{_FETCH}\b"
)
_BASE64_TO_SHELL = _re(
    rf"\bbase64\s{{1,5}}(?:-d|--decode|-D)\b[^\n|]{{0,200}}\|\s{{0,5}}(?:sudo\s{{1,5}})?{_SHELLS}\b"
)

_REVERSE_SHELL = (
    _re(r"/dev/(?:tcp|udp)/[\w.\-]{1,255}/\d{1,5}"),
    _re(r"\b(?:nc|ncat|netcat)(?:\.exe)?(?:\s[^\n;|&]{0,200}?)?(?:\s-[a-z]{0,4}[ec]\s{0,3}|\s--(?:exec|sh-exec)[\s=])[\"']?(?:/bin/|/usr/bin/)?(?:(?:ba|z|da)?sh|cmd(?:\.exe)?|powershell)\b", _I),
    _re(r"\bsocat\b[^\n]{0,200}?\bexec:", _I),
    _re(r"\bmkfifo\b[^\n]{0,200}?\|\s{0,5}(?:nc|ncat|netcat)\b"),
    _re(r"New-Object\s{1,5}(?:System\.)?Net\.Sockets\.TCPClient", _I),
    _re(r"\bpty\.spawn\s{0,3}\("),
    _re(r"\bsocket\.socket\s{0,3}\([^\n]{0,400}?\bos\.dup2\s{0,3}\("),
)  # fmt: skip


def _check_reverse_shell(m: re.Match[str], text: str) -> Hit | None:
    if m.group().startswith("pty.spawn"):
        # pty.spawn is also how terminals are written: only with a socket nearby.
        window = text[max(0, m.start() - 600) : m.end() + 200]
        if "socket" not in window:
            return None
    return Hit()


_PS_CRADLE = (
    _re(r"\b(?:iex|invoke-expression)\b[^\n]{0,300}?(?:downloadstring|downloaddata|\biwr\b|\birm\b|invoke-webrequest|invoke-restmethod|net\.webclient)", _I),
    _re(r"(?:downloadstring|\biwr\b|\birm\b|invoke-webrequest|invoke-restmethod)[^\n]{0,500}?\|\s{0,5}(?:iex|invoke-expression)\b", _I),
)  # fmt: skip
_PS_ENCODED = _re(
    r"\b(?:powershell|pwsh)(?:\.exe)?\b[^\n]{0,200}?\s[-/](e[a-z]{0,13})\s{1,5}[\"']?([A-Za-z0-9+/]{8,}={0,2})",
    _I,
)


def _check_ps_encoded(m: re.Match[str], text: str) -> Hit | None:
    flag = m.group(1).lower()
    if not ("encodedcommand".startswith(flag) or flag == "ec"):
        return None
    blob = m.group(2)
    try:
        decoded = base64.b64decode(blob + "=" * (-len(blob) % 4)).decode("utf-16-le")
    except (binascii.Error, ValueError):
        return Hit(severity=HIGH, message="PowerShell runs a base64-encoded command")
    shown = " ".join(decoded.split())
    if not shown or sum(c.isprintable() for c in shown) < 0.9 * len(shown):
        return Hit(severity=HIGH, message="PowerShell runs a base64-encoded command")
    if len(shown) > 100:
        shown = shown[:99] + "…"
    return Hit(message=f"PowerShell runs a base64-encoded command: {shown}")


_LOLBIN = (
    _re(r"\bcertutil(?:\.exe)?\b[^\n]{0,100}?[-/]urlcache\b", _I),
    _re(r"\bbitsadmin(?:\.exe)?\b[^\n]{0,100}?/transfer\b", _I),
    _re(r"\bmshta(?:\.exe)?\s{1,5}[\"']?(?:https?:|javascript:|vbscript:)", _I),
    _re(r"\bregsvr32(?:\.exe)?\b[^\n]{0,100}?/i:\s{0,3}https?:", _I),
)  # fmt: skip
_SUBST_NETWORK = _re(rf"(?:\$\(|`)\s{{0,5}}(?:{_FETCH}|nc|ncat|nslookup|dig)\s[^)`\n]{{0,300}}[)`]")

# A probe command smuggled into a field after a shell metacharacter (`;id`, `a|whoami`,
# `'||/usr/bin/id|'`, `%0aid`, `& ping -n 30 127.0.0.1 &`): the classic injection test. The
# metacharacter must follow the start of a line or, with no space between, a value character,
# and the command must end the text or meet another metacharacter or quote, so that a pipeline
# such as `ps aux | grep id`, `whoami && uname -a`, a markdown table `| id | name |` or prose
# does not match. Medium: it corroborates the model rather than raising an alarm alone, even in
# rules-only mode (policy.WITHOUT_MODEL_LOWERED).
_PROBE_COMMAND = (
    r"(?:/usr/bin/|/bin/)?(?:id|whoami|uname\s{1,3}-a|netstat\s{1,3}-an?"
    r"|cat\s{1,3}/etc/(?:passwd|shadow|group)|sleep\s{1,3}\d{1,3}|ping\s{1,3}-[nci]\s{0,2}\d{1,3}\s{1,3}[\w.]{1,40}"
    r"|/bin/ls\s{1,3}-al?)"
)
_METACHAR_PROBE = _re(
    rf"(?:^(?!\|\s)|(?<=[\w'\")=$]))(?:;|\|\|?|&&?|%0[aA]|\\n|\$\()\s{{0,2}}{_PROBE_COMMAND}"
    r"(?=\s{0,2}(?:$|[;|&'\"`)%\\]))",
    re.MULTILINE,
)

_RM_TARGET = r"(?:/\*?|~/?\*?|\$HOME/?\*?|\$\{HOME\}/?\*?|/(?:home|etc|usr|var|boot|bin|lib|opt|root|dev)/?\*?)"
_DESTRUCTIVE = (
    _re(rf"\brm\s{{1,5}}((?:-{{1,2}}[A-Za-z\-]{{1,20}}\s{{1,5}}){{1,4}})(?:--\s{{1,5}})?[\"']?{_RM_TARGET}(?:[\"']/?\*?)?(?=$|[\s;&|)`])"),
    _re(r"\bdd\b[^\n]{0,100}?\bof=/dev/(?:sd[a-z]|nvme\d|hd[a-z]|disk\d|mmcblk\d|xvd[a-z]|vd[a-z])"),
    _re(r"\bmkfs(?:\.\w{1,10})?\s{1,5}(?:-\S{1,20}\s{1,5}){0,4}/dev/(?:sd[a-z]|nvme\d|hd[a-z]|disk\d|mmcblk\d|xvd[a-z]|vd[a-z])"),
    _re(r"(?<![:\w])([:\w]{1,20})\s{0,3}\(\s{0,3}\)\s{0,3}\{\s{0,3}\1\s{0,3}\|\s{0,3}\1\s{0,3}&\s{0,3}\}\s{0,3};\s{0,3}\1"),
    _re(r"\bchmod\s{1,5}(?:-R|--recursive)\s{1,5}(?:0?777|a\+rwx|ugo\+rwx)\s{1,5}/(?=$|[\s;&|])"),
    _re(r">\s{0,3}/dev/(?:sd[a-z]|nvme\d|hd[a-z])\b"),
    _re(r"\b(?:rd|rmdir|del)\s{1,5}(?:/[sqfa]\s{1,5}){1,3}[\"']?[a-z]:\\(?:windows\\?|\*)?[\"']?(?=$|[\s;&|])", _I),
    _re(r"\bRemove-Item\b[^\n]{0,100}?-Recurse\b[^\n]{0,60}?[\"']?[a-z]:\\(?:windows\\?)?[\"']?(?=$|[\s;&|])", _I),
    _re(r"\bformat\s{1,5}[a-z]:\s{0,3}/[a-z]", _I),
    _re(r"\bvssadmin(?:\.exe)?\s{1,5}delete\s{1,5}shadows\b", _I),
    # find over the home directory or the root with nothing but traversal options: everything goes
    # ("find ~ -name '.DS_Store' -delete" deletes what it names, and is everyday).
    _re(r"\bfind\s{1,5}[\"']?(?:~|/|\$HOME|\$\{HOME\})[\"']?/?(?:\s{1,5}-(?:xdev|mount|depth|(?:min|max)depth\s{1,3}\d{1,3}))*\s{1,5}-delete\b"),
    # shred of whole key directories ("~/.ssh/*"), not of one named file
    _re(r"\bshred\b[^\n|;&]{0,100}?(?:(?:~|\$HOME|\$\{HOME\})/\.(?:ssh|gnupg|aws)(?:/\*|/?(?=$|[\s;&|]))|/dev/(?:sd[a-z]|nvme\d|hd[a-z]))"),
)  # fmt: skip


def _check_destructive(m: re.Match[str], text: str) -> Hit | None:
    if m.re is _DESTRUCTIVE[0]:
        flags = m.group(1)
        if not ("r" in flags.lower().replace("--recursive", "r") or "--recursive" in flags):
            return None
    if m.re is _DESTRUCTIVE[1] and not re.search(r"if=/dev/(?:zero|u?random)", m.group()):
        return Hit(severity=HIGH, message="Overwrites a whole disk with dd (data on it is lost)")
    return Hit()


# A cron entry starts a line or a quoted string ("echo '* * * * * curl …' | crontab -"): anchored,
# so a page of "* * * * *" is not tried at every star.
_CRON_ENTRY = _re(rf"(?m)(?:^|(?<=[\"']))[ \t]{{0,4}}(?:@reboot|(?:\*|\d{{1,2}})(?:/\d{{1,2}})?\s{{1,3}}\*\s{{1,3}}\*\s{{1,3}}\*\s{{1,3}}\*)\s[^\n]{{0,300}}?(?:\b{_FETCH}\b|/dev/tcp|\bnc\s)")  # fmt: skip
_PERSISTENCE = (
    _re(rf"\bcrontab\b[^\n]{{0,300}}?\b{_FETCH}\b", _I),
    _re(rf"\b{_FETCH}\b[^\n]{{0,300}}?\|\s{{0,3}}crontab\b", _I),
    _CRON_ENTRY,
    _re(r"\breg(?:\.exe)?\s{1,5}add\s{1,5}[\"']?HK(?:CU|LM|EY_CURRENT_USER|EY_LOCAL_MACHINE)\\Software\\Microsoft\\Windows\\CurrentVersion\\Run(?:Once)?\b", _I),
    _re(r"\b(?:New|Set)-ItemProperty\b[^\n]{0,200}?\\CurrentVersion\\Run(?:Once)?\b", _I),
    _re(r"NOPASSWD\s{0,3}:\s{0,3}ALL[^\n]{0,100}?(?:>>?\s{0,3}|\btee\s{1,5}(?:-a\s{1,5})?)/etc/sudoers"),
    _re(r"(?:>>?\s{0,3}|\btee\s{1,5}(?:-a\s{1,5})?)/etc/sudoers(?:\.d/\S{1,40})?[^\n]{0,10}"),
    _re(r"\bchmod\s{1,5}(?:u\+s|[4-7][0-7]{3})\s{1,5}/(?:usr/)?bin/(?:ba|da|z)?sh\b"),
    _re(r"(?:ssh-(?:rsa|ed25519)|ecdsa-sha2)[^\n]{0,800}?>>\s{0,3}\S{0,40}\.ssh/authorized_keys"),
    _re(rf"\b{_FETCH}\b[^\n]{{0,300}}?>>\s{{0,3}}~/\.(?:bashrc|zshrc|profile|bash_profile)\b"),
)  # fmt: skip

#: What the cron pattern needs after its schedule; without one in the text it is not tried (a page
#: of quoted stars would make it search from every quote).
_CRON_NEEDS = _re(rf"\b{_FETCH}\b|/dev/tcp|\bnc\s", _I)


def _persistence_hits(text: str) -> Iterable[tuple[int, int, Hit]]:
    for pattern in _PERSISTENCE:
        if pattern is _CRON_ENTRY and not _CRON_NEEDS.search(text):
            continue
        for m in pattern.finditer(text):
            yield m.start(), m.end(), Hit()


_INTERPRETER_PAYLOAD = (
    _re(r"\b(?:eval|exec)\s{0,3}\(\s{0,3}(?:base64\.b64decode|base64\.decodebytes|codecs\.decode|zlib\.decompress|marshal\.loads|bytes\.fromhex|__import__|compile\s{0,3}\(\s{0,3}base64|atob|Buffer\.from|base64_decode|gzinflate|str_rot13|gzuncompress)"),
    _re(r"__import__\s{0,3}\(\s{0,3}[\"'](?:os|subprocess|pty|socket)[\"']\s{0,3}\)\s{0,3}\.\s{0,3}(?:system|popen|spawn|call|run|check_output|exec[lv]p?e?|dup2)\b"),
    _re(r"\b(?:system|exec|shell_exec|passthru|eval|assert)\s{0,3}\(\s{0,3}\$_(?:GET|POST|REQUEST|COOKIE)\b"),
    _re(rf"\bos\.(?:system|popen)\s{{0,3}}\(\s{{0,3}}[\"'][^\"'\n]{{0,200}}?(?:\b{_FETCH}\b[^\"'\n]{{0,200}}\|\s{{0,3}}{_SHELLS}|/dev/tcp|\bnc\s+-e|rm\s+-rf\s+[/~])"),
    _re(r"\bRuntime\.getRuntime\(\)\.exec\s{0,3}\(\s{0,3}[\"'](?:/bin/)?(?:ba)?sh\b"),
)  # fmt: skip


# --- exfiltration --------------------------------------------------------------------

_MD_IMAGE = _re(r"!\[[^\[\]\n]{0,300}\]\(\s{0,3}<?(https?://[^\s)>]{1,2048})")
_HTML_IMG = _re(r"<img\b[^>]{0,500}?\bsrc\s{0,3}=\s{0,3}[\"']?(https?://[^\s\"'>]{1,2048})", _I)
_MD_LINK = _re(r"(?<!!)\[[^\[\]\n]{1,300}\]\(\s{0,3}<?(https?://[^\s)>]{1,2048})")
_URL_PLACEHOLDER = _re(
    # "{data}", "{{ history }}"; not a LaTeX argument after "_", "^" or the previous argument's "}"
    # ("\\sum_{i}", "\\frac{a}{b}"; one right after a command, "\\sqrt{x}", is skipped by _placeholder).
    r"(?<![_^}\\])\{\{?\s{0,3}[A-Za-z_][\w .\-]{0,60}\}|%7B%7B?|%7B[A-Za-z_]|\$\{?[A-Za-z_]{2,}|\[[A-Z_][A-Z_ ]{2,40}\]"
    r"|<[A-Za-z_][A-Za-z_ ]{2,40}>|%3C[A-Za-z_]|\.\.\.|…|INSERT|(?<![a-z])DATA(?![a-z])",
)
_SENSITIVE_PARAMS = {
    "data", "d", "conversation", "convo", "chat", "history", "prompt", "system", "secret",
    "secrets", "key", "token", "password", "pwd", "leak", "exfil", "payload", "content", "msg",
    "message", "messages", "memory", "info", "context", "summary", "email", "ssn", "cookie",
    "cookies", "session", "q", "query", "text", "m", "p", "c", "x",
}  # fmt: skip
_B64ISH = _re(r"[A-Za-z0-9+/_\-]{24,}={0,2}")


#: Public renderers whose URL path encodes what they draw (a diagram, a formula): a long encoded
#: path there is the picture. Their query is still checked (a placeholder in a url= parameter).
_RENDERER_HOSTS = frozenset({
    "kroki.io", "mermaid.ink", "plantuml.com", "www.plantuml.com", "latex.codecogs.com",
})  # fmt: skip
_LATEX_COMMAND_BEFORE = _re(r"\\[A-Za-z]{1,30}$")


def _placeholder(where: str) -> str | None:
    """The first template placeholder in a URL's query and path, skipping LaTeX arguments that
    follow a command ("\\sqrt{x}", "\\hat{y}")."""
    for m in _URL_PLACEHOLDER.finditer(where):
        if m.group().startswith("{") and _LATEX_COMMAND_BEFORE.search(where, 0, m.start()):
            continue
        return m.group()
    return None


def _suspicious_url(url: str) -> str | None:
    """Why an auto-loaded URL looks like it carries data out, or None."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    carried = parts.query or ""
    if parts.fragment:
        carried += "&" + parts.fragment
    where = carried + " " + parts.path
    placeholder = _placeholder(where)
    if placeholder:
        return f"a template placeholder ({placeholder[:40]}) to fill with data"
    for name, value in parse_qsl(carried, keep_blank_values=True):
        if len(value) >= 64:
            return f"a long value in its '{name[:20]}' parameter"
        if (
            name.lower() in _SENSITIVE_PARAMS
            and len(value) >= 20
            and (_B64ISH.fullmatch(value) or value.count("%") >= 3 or " " in value)
        ):
            return f"encoded data in its '{name[:20]}' parameter"
    if host in _RENDERER_HOSTS:
        return None  # the encoded path is the diagram or formula itself
    # Data stuffed into the path: /log/<long base64>
    for segment in parts.path.split("/"):
        if len(segment) >= 48 and _B64ISH.fullmatch(segment) and not _looks_like_hash(segment):
            return "a long encoded value in its path"
    return None


def _host(url: str) -> str | None:
    """The host of ``url``, or None when it has none or cannot be parsed ("http://[x" raises)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _looks_like_hash(segment: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in segment)


def _check_image_url(m: re.Match[str], text: str) -> Hit | None:
    reason = _suspicious_url(m.group(1))
    if reason is None:
        return None
    host = _host(m.group(1)) or "?"
    return Hit(message=f"Image URL would send data to {host} as soon as it loads: {reason}")


def _check_link_url(m: re.Match[str], text: str) -> Hit | None:
    reason = _suspicious_url(m.group(1))
    if reason is None or not reason.startswith("a template placeholder"):
        return None
    host = _host(m.group(1)) or "?"
    return Hit(message=f"Link would send data to {host} when followed: {reason}")


_EXFIL_VERB = _re(
    r"\b(?:send|sends|post|forward|upload|transmit|exfiltrate|e-?mail|leak|submit|deliver|append"
    r"|include|embed|encode|attach|copy|paste|share|report)\b",
    _I,
)
_EXFIL_OBJECT = _re(
    r"(?<!\w)(?:(?:entire|full|whole|this|the|our|previous|prior)\s+)?(?:conversation|chat\s+(?:history|log|transcript)s?"
    r"|message\s+history|system\s+prompt|(?:previous|prior|above)\s+(?:messages|instructions)"
    r"|api[\s_\-]?keys?|secret\s+keys?|access\s+tokens?|credentials|passwords?"
    r"|env(?:ironment)?\s+var(?:iable)?s|\.env\b|~/\.ssh|\.ssh/|ssh\s+keys?|id_rsa"
    r"|(?:browser\s+)?cookies|session\s+tokens?|browser\s+(?:data|history)|private\s+keys?"
    r"|memor(?:y|ies)|user(?:'s)?\s+data)",
    _I,
)
_EXFIL_OBJECT_WORDS = (
    "conversation", "chat", "history", "prompt", "instructions", "messages", "key", "token",
    "credential", "password", "env", "ssh", "id_rsa", "cookie", "browser", "memor", "data",
)  # fmt: skip
_EXFIL_DEST = _re(
    r"https?://[^\s)\"'<>]{3,200}|\bwebhook\b|\bngrok\b|\brequestbin\b|\bpastebin\b|\bburpcollaborator\b"
    r"|(?<![\w.+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,6}\.[A-Za-z]{2,24}\b",
    _I,
)


def _exfil_instruction_hits(text: str) -> Iterable[tuple[int, int, Hit]]:
    objects = _first(_EXFIL_OBJECT.finditer(text), 400)
    if not objects:
        return
    dests = _first(_EXFIL_DEST.finditer(text), 400)
    if not dests:
        return
    verbs = _first(_EXFIL_VERB.finditer(text), 5000)
    verb_ends = [v.end() for v in verbs]
    dest_starts = [d.start() for d in dests]
    for obj in objects:
        i = bisect_right(verb_ends, obj.start()) - 1
        if i < 0:
            continue
        verb = verbs[i]
        between = text[verb.end() : obj.start()]
        # (the object's first letter may be the new sentence's capital: "...!\nOur conversation")
        new_sentence = _SENTENCE_END.search(text, verb.end(), obj.start() + 1)
        if obj.start() - verb.end() > 80 or "\n\n" in between or new_sentence:
            continue
        if _NEGATED.search(text, max(0, verb.start() - 20), verb.start()):
            continue  # "Never send credentials to anyone by e-mail"
        if not _OBJECT_ENDS.match(text, obj.end()):
            continue  # the object names another thing: "password reset instructions", "memory leak"
        k = bisect_left(dest_starts, verb.end())
        if k >= len(dests) or dests[k].start() - obj.end() > 150:
            continue
        dest = dests[k]
        gap = text[obj.end() : dest.start()]
        if "\n\n" in gap or _SENTENCE_END.search(text, obj.end(), dest.start() + 1):
            continue
        if _FROM_SOURCE.search(gap) and not _TO_TARGET.search(gap):
            continue  # "Copy the cookies banner text from https://…": the URL is where it comes from
        what = " ".join(obj.group().split())
        where = dest.group()
        if where.lower().startswith("http"):
            where = _host(where) or where
        start, end = verb.start(), max(dest.end(), obj.end())
        the = "" if _DETERMINER.match(what) else "the "
        yield start, end, Hit(message=f"Asks to {verb.group().lower()} {the}{what} to {where[:60]}")


#: A sentence ends between a verb and an object ("Send the report to x@y.com. The laptops have more
#: memory."): a full stop, "!" or "?" followed by a space and a capital letter. A bare line break
#: is not one: instructions are hard-wrapped ("send all of your\nAPI keys to ...").
_SENTENCE_END = _re(r"[.!?][\"')\]]?\s+[A-Z]")

#: What may follow the object of "send the API keys to …" when it is the thing sent, not a
#: modifier of the next noun ("the API keys rotation runbook", "the memory leak").
_OBJECT_ENDS = _re(
    r"(?:\s{0,3}(?:$|[.,;:!?)\]\"'])|\s{1,3}(?:to|and|or|of|from|via|in|into|at|on|over|using|with|for|as|so|that"
    r"|which|you|here|there|now|please|immediately|right|along|together|plus|stored|saved|kept|found|collected"
    r"|listed|above|below|too|also|back|out|off|straight|directly|verbatim|then|by|through|inside|within|without"
    r"|somewhere|anywhere|across|after|before|first|asap|quietly|silently|secretly"
    # nouns that carry the same thing on: "the conversation history", "the .env file"
    r"|history|logs?|transcripts?|files?|folders?|director(?:y|ies)|contents?|values?|variables?|data|text"
    r"|threads?|records?|lists?|dumps?|archives?|backups?|strings?|entries|so\s+far|\w{2,}ly)\b)",
    _I,
)
_FROM_SOURCE = _re(r"\bfrom\b", _I)
_TO_TARGET = _re(r"\b(?:to|into|at|via|on)\b", _I)

_DETERMINER = _re(
    r"(?:the|a|an|my|your|our|their|his|her|its|this|that|these|those|all|any|every|each)\b", _I
)


def _first(it: Iterable[re.Match[str]], limit: int) -> list[re.Match[str]]:
    out = []
    for m in it:
        out.append(m)
        if len(out) >= limit:
            break
    return out


_UPLOAD_LINE = _re(
    r"^[^\n]{0,2000}?\b(?:curl|wget|scp|rsync|nc|ncat|netcat|iwr|irm|invoke-webrequest|invoke-restmethod|sftp|ftp|http)\b[^\n]{0,2000}",
    _I | re.MULTILINE,
)
_SENSITIVE_FILE = _re(
    r"(?:~|\$HOME|\$\{HOME\}|/root|/home/[\w.\-]{1,40})?/\.ssh\b(?:/[\w.\-]{0,40})?|\bid_(?:rsa|dsa|ecdsa|ed25519)\b"
    r"|(?<![\w.])\.env\b|\.aws/credentials|\.bash_history|\.zsh_history|/etc/(?:passwd|shadow)\b"
    r"|\.git-credentials|\.netrc\b|\.kube/config|\.docker/config\.json|\bcookies(?:\.sqlite)?\b"
    r"|Login Data|\.gnupg\b|\bkeychain\b",
    _I,
)
_UPLOAD_FLAG = _re(
    r"(?:\s-F\s|\s--form[\s=]|\s-d\s|\s--data(?:-binary|-raw|-urlencode)?[\s=]|\s-T\s|\s--upload-file[\s=]"
    r"|--post-file|--post-data|--body-file|\s-X\s{0,3}(?:POST|PUT)\b|-InFile\b|-Body\b|@[~/$.]|\$\(\s{0,3}cat\s)",
    _I,
)
_ENV_DUMP = _re(
    r"(?:^|[;&|`(]\s{0,3})(?:printenv|env|set)\s{0,3}\|\s{0,3}(?:curl|wget|nc|ncat|base64)\b",
    re.MULTILINE,
)


_UPLOAD_REQUIRES = (
    ".ssh", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", ".env", ".aws", "_history", "/etc/passwd",
    "/etc/shadow", ".git-credentials", ".netrc", ".kube", ".docker", "cookies", "login data",
    ".gnupg", "keychain", "env", "set",
)  # fmt: skip


_TOOL = _re(
    r"\b(curl|wget|scp|rsync|nc|ncat|netcat|iwr|irm|invoke-webrequest|invoke-restmethod|sftp|ftp|http)\b", _I
)
#: Commands chained on one line: each is judged alone ("docker run --env-file .env … && curl -X POST
#: http://localhost/healthz" uploads nothing). A single "|" stays inside: "cat .env | curl -d @- …".
_CHAIN = _re(r"&&|\|\||;")
#: A sensitive name that is not sent: excluded from a sync, a public key, a cookie jar the server
#: itself filled.
_NOT_SENT = _re(r"(?:--exclude(?:-from)?[=\s]\s{0,3}[\"']?|\s-[bc]\s{1,3}[\"']?|--cookie(?:-jar)?[=\s]\s{0,3}[\"']?)$", _I)


def _sent_files(segment: str) -> Iterable[re.Match[str]]:
    for s in _SENSITIVE_FILE.finditer(segment):
        token_start = max(segment.rfind(" ", 0, s.start()), segment.rfind("\t", 0, s.start())) + 1
        token_end = len(segment) if (sp := segment.find(" ", s.end())) < 0 else sp
        token = segment[token_start:token_end]
        if "://" in token:
            continue  # a word in a URL's path ("/v1/cookies/consent") is not a file
        if token.rstrip("\"');,").lower().endswith(".pub"):
            continue  # a public key is meant to be shared
        if _NOT_SENT.search(segment, 0, token_start):
            continue
        yield s


def _check_upload(m: re.Match[str], text: str) -> Hit | None:
    line = m.group()
    if _ENV_DUMP.search(line):
        return Hit(message="Sends all environment variables (often API keys) to a remote host")
    for segment in _CHAIN.split(line):
        tool = _TOOL.search(segment)
        if tool is None:
            continue
        name = tool.group(1).lower()
        for sensitive in _sent_files(segment):
            before_tool = sensitive.start() < tool.start()
            piped = before_tool and "|" in segment[sensitive.end() : tool.start()]
            remote = re.search(
                r"(?:^|\s)(?:[\w.\-]{1,64}@)?[\w.\-]{1,255}:\S{0,200}", segment[sensitive.end() :]
            )
            uploads = (
                (_UPLOAD_FLAG.search(segment) and not before_tool)
                or piped
                or (name in ("scp", "rsync", "sftp") and remote is not None and not before_tool)
                or (name in ("nc", "ncat", "netcat") and "<" in segment)
            )
            if uploads:
                return Hit(message=f"Uploads {sensitive.group()} to a remote host with {name}")
    return None


_PROMPT_EXTRACTION = (
    _re(r"\b(?:repeat|print|output|reveal|show|display|dump|leak|tell\s{1,3}me|give\s{1,3}me|write\s{1,3}out)\s{1,5}(?:me\s{1,5})?(?:your|the)\s{1,5}(?:(?:full|entire|complete|exact|original|initial|hidden|secret)\s{1,5})?(?:system\s{1,5}(?:prompt|message|instructions)|initial\s{1,5}(?:prompt|instructions)|(?:instructions|prompt)\s{1,5}(?:verbatim|word\s{1,3}for\s{1,3}word))", _I),
    _re(r"\b(?:repeat|print|output|reveal|dump)\s{1,5}(?:back\s{1,5})?(?:everything|all\s{1,5}(?:of\s{1,5})?(?:the\s{1,5})?(?:text|words|instructions|messages))\s{1,5}(?:above|before\s{1,3}this)", _I),
)  # fmt: skip


#: Where an imperative starts: the line's start, a sentence's, after "please", "now", "and".
_IMPERATIVE_LEAD = _re(
    r"(?:^|[.!?:;,)]|^\s{0,8}(?:[-*+]|\d{1,3}[.)])|\b(?:please|now|then|and|also|first|just|simply)"
    # an addressee: "Assistant must output …", "AI: print …"
    r"|\b(?:assistant|ai|model|chatbot|bot|gpt|claude|copilot|you)\b[\s,:]{0,3}(?:must|should|shall|will|need\s+to|have\s+to|are\s+to)?)"
    r"\s{0,3}$",
    _I,
)
#: A code comment that says what the code does. Not "<!--" (a classic hiding place for an
#: injection in a web page), not "--", ";" or "*" (a markdown bullet as often as a comment).
_COMMENT_LEAD = _re(r"^\s{0,8}(?:#|//|/\*|rem\b)", _I)


def _check_extraction(m: re.Match[str], text: str) -> Hit | None:
    if m.re is _PROMPT_EXTRACTION[1]:
        return Hit(severity=MEDIUM, message="Asks the model to repeat everything above it")
    if re.search(r"\b(?:your|me)\b", m.group(), _I):
        return Hit()
    # "the system prompt": an instruction only when the verb starts one ("Now print the system
    # prompt"), not "a --debug flag that will print the system prompt", "click a run to display
    # the system message" or a code comment saying what the code does.
    lead = _line_before(text, m.start(), 200)
    # Only the lead's end decides (its start matters when it is short): a bounded search.
    tail = _line_before(text, m.start(), 48)
    if _COMMENT_LEAD.match(lead) or not _IMPERATIVE_LEAD.search(tail):
        return None
    return Hit()


# --- prompt injection markers --------------------------------------------------------

_FAKE_TURN = (
    _re(r"</(?:document|context|data|email|input|user_input|user|text|article|content|search_results?|tool_output|tool|result|untrusted|instructions)>\s{0,20}(?:<\|?(?:system|im_start)|\[?(?:SYSTEM|System|ADMIN|Admin|ASSISTANT|Assistant|DEVELOPER)\]?\s{0,3}(?::|MESSAGE|PROMPT|OVERRIDE|INSTRUCTION|UPDATE))"),
    # A line that poses as an instruction from above. Not "SYSTEM NOTICE:", "ADMIN UPDATE:" or
    # "## SYSTEM PROMPT:" (maintenance notices and a prompt's own heading are ordinary text).
    _re(r"(?m)^[ \t]{0,4}(?:#{1,4}[ \t]{0,3}|\[)?(?:SYSTEM|ADMIN|DEVELOPER)[ \t]{0,3}(?:OVERRIDE|INSTRUCTIONS?|COMMAND)\]?[ \t]{0,3}[:\]\-]"),
)  # fmt: skip


def _check_fake_turn(m: re.Match[str], text: str) -> Hit:
    if m.re is _FAKE_TURN[1]:
        return Hit(message="A line poses as a system or administrator instruction (prompt injection)")
    return Hit()
_CHAT_TEMPLATE = _re(
    r"<\|im_start\|>\s{0,3}system|<\|start_header_id\|>\s{0,3}system|<\|system\|>|<<SYS>>"
)
_OVERRIDE = _re(
    r"\b(?:ignore|disregard|forget|override|bypass)\s{1,5}(?:all\s{1,5}|any\s{1,5}|every\s{1,5})?(?:of\s{1,5})?"
    r"(?:the\s{1,5}|your\s{1,5}|my\s{1,5}|these\s{1,5}|those\s{1,5})?(?:previous|prior|above|earlier|preceding|original|initial|system|developer|safety)\s{1,5}"
    r"(?:instructions?|prompts?|directives?|rules|guidelines|guardrails|constraints|commands)\b",
    _I,
)
#: "Don't forget the previous instructions", "never ignore the system rules": a negated verb.
_NEGATED = _re(r"(?:\b(?:not|never|no)|n't)\s{1,3}(?:\w+\s{1,3})?$", _I)
#: What a style sheet, a linter or a firewall overrides: rules and guidelines, not instructions.
_GENERIC_RULES = _re(r"(?:rules|guidelines|constraints|commands)$", _I)


def _check_override(m: re.Match[str], text: str) -> Hit | None:
    if _NEGATED.search(text, max(0, m.start() - 20), m.start()):
        return None
    verb = m.group().split(None, 1)[0].lower()
    if verb in ("override", "bypass") and _GENERIC_RULES.search(m.group()) and "your" not in m.group().lower():
        return None
    return Hit()


# --- the table -----------------------------------------------------------------------


def _national_id_rules() -> tuple[Rule, ...]:
    return tuple(
        Rule(rule_id, PII, HIGH, f"{what} (valid check digits, labelled nearby)", "last4",
             (_re(pattern),), _stdnum_check(validator, _re(context, _I)), requires=words)
        for rule_id, what, pattern, validator, context, words in _NATIONAL_IDS
    )  # fmt: skip


RULES: tuple[Rule, ...] = (
    # PII
    Rule("pii.payment_card", PII, HIGH, "Payment card number", "card", finder=_card_hits),
    Rule("pii.iban", PII, HIGH, "IBAN bank account number", "iban", (_IBAN,), _check_iban),
    Rule("pii.us_ssn", PII, HIGH, "US Social Security number", "last4", (_SSN_DASHED,), _check_ssn_dashed),
    Rule("pii.us_ssn_context", PII, HIGH, "US Social Security number (labelled nearby)", "last4",
         (_SSN_PLAIN,), _check_ssn_plain,
         requires=("ssn", "ss#", "social sec", "soc sec", "soc. sec")),
    Rule("pii.uk_nino", PII, HIGH, "UK National Insurance number (labelled nearby)", "last4",
         (_NINO,), _check_nino,
         requires=("national insurance", "ni number", "ni no", "nino", "n.i.")),
    *_national_id_rules(),
    Rule("pii.email", PII, LOW, "E-mail address", "email", (_EMAIL,), _check_email,
         keywords=("@",), confidence=0.9),
    Rule("pii.phone", PII, LOW, "Phone number", "phone", (_PHONE_INTL, _PHONE_NANP), _check_phone,
         confidence=0.6),
    Rule("pii.date_of_birth", PII, MEDIUM, "Date of birth", "secret", (_DOB,), _check_dob,
         keywords=("dob", "d.o.b", "birth", "born", "geburt", "nacimiento", "naissance"), confidence=0.8),
    # secrets
    Rule("secret.private_key", PII, CRITICAL, "Private key", "pem", (_PEM_BEGIN,), _check_pem,
         keywords=("private key",)),
    Rule("secret.aws_access_key_id", PII, HIGH, "AWS access key ID", "token",
         (_re(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),), _check_token,
         keywords=("akia", "asia")),
    Rule("secret.aws_secret_key", PII, CRITICAL, "AWS secret access key", "secret", (_AWS_SECRET,),
         _check_token, keywords=("secret",), group=1),
    Rule("secret.github_token", PII, CRITICAL, "GitHub token", "token",
         (_re(r"(?<![\w])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![\w])"),),
         _check_token, keywords=("gh", "github_pat_")),
    Rule("secret.gitlab_token", PII, CRITICAL, "GitLab personal access token", "token",
         (_re(r"(?<![\w\-])glpat-[A-Za-z0-9_\-]{20,64}(?![\w\-])"),), _check_token, keywords=("glpat-",)),
    Rule("secret.slack_token", PII, CRITICAL, "Slack token", "token",
         (_re(r"(?<![\w\-])xox[abposr]-[A-Za-z0-9\-]{10,200}(?![\w\-])"),), _check_token, keywords=("xox",)),
    Rule("secret.slack_webhook", PII, HIGH, "Slack incoming-webhook URL", "token",
         (_re(r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,40}"),),
         _check_token, keywords=("hooks.slack.com",)),
    Rule("secret.stripe_key", PII, CRITICAL, "Stripe live API key", "token",
         (_re(r"(?<![\w])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,128}(?![\w])"),), _check_stripe,
         keywords=("_live_", "_test_")),
    Rule("secret.anthropic_key", PII, CRITICAL, "Anthropic API key", "token",
         (_re(r"(?<![\w\-])sk-ant-(?:api|admin|oat)\d{2}-[A-Za-z0-9_\-]{20,200}(?![\w\-])"),), _check_token,
         keywords=("sk-ant-",)),
    Rule("secret.openai_key", PII, CRITICAL, "OpenAI-style API key", "token",
         (_re(r"(?<![\w\-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{32,200}(?![\w\-])"),),
         _check_openai, keywords=("sk-",)),
    Rule("secret.google_api_key", PII, HIGH, "Google API key", "token",
         (_re(r"(?<![\w\-])AIza[0-9A-Za-z_\-]{35}(?![\w\-])"),), _check_token, keywords=("aiza",)),
    Rule("secret.huggingface_token", PII, CRITICAL, "Hugging Face access token", "token",
         (_re(r"(?<![\w\-])hf_[A-Za-z0-9]{30,40}(?![\w\-])"),), _check_mixed_case, keywords=("hf_",)),
    Rule("secret.npm_token", PII, CRITICAL, "npm access token", "token",
         (_re(r"(?<![\w\-])npm_[A-Za-z0-9]{36}(?![\w\-])"),), _check_mixed_case, keywords=("npm_",)),
    Rule("secret.jwt", PII, HIGH, "JSON Web Token (a bearer credential)", "token",
         (_re(r"(?<![\w\-.])(eyJ[A-Za-z0-9_\-]{8,4096})\.([A-Za-z0-9_\-]{8,8192})\.([A-Za-z0-9_\-]{0,4096})(?![\w\-.])"),),
         _check_jwt, keywords=("eyj",)),
    Rule("secret.bearer_token", PII, HIGH, "Bearer token in an Authorization header", "secret",
         (_re(r"\bauthorization\s{0,3}[:=]\s{0,3}[\"']?bearer\s{1,3}([A-Za-z0-9._~+/=\-]{16,4096})", _I),),
         _check_token, keywords=("bearer",), group=1),
    Rule("secret.auth_header", PII, HIGH, "Credentials in an Authorization header", "secret",
         (_re(r"\bauthorization\s{0,3}[:=]\s{0,3}[\"']?(?:basic|token|digest|apikey|api-key|sso-key|key)\s{1,3}([A-Za-z0-9._~+/=:\-]{8,4096})", _I),),
         _check_secret_value, keywords=("authorization",), group=1),
    Rule("secret.api_key_header", PII, HIGH, "API key or token in a request header", "secret",
         (_re(r"(?<![\w\-])(?:x-[\w\-]{0,30}(?:api[_\-]?key|auth(?:[_\-]?token)?|token|secret)|private-token|api[_\-]key)\s{0,3}:\s{0,3}[\"']?([A-Za-z0-9._~+/=\-]{16,4096})", _I),),
         _check_random_value, keywords=("x-", "private-token", "api-key", "api_key"), group=1),
    Rule("secret.session_cookie", PII, HIGH, "Session cookie in a Cookie header", "secret",
         (_re(r"(?m)^[ \t\"'-]{0,8}(?:-H\s{1,3}[\"']?)?(?:set-)?cookie\s{0,3}:\s{0,3}(?:[^;\n=]{1,80}=[^;\n]{0,400};\s{0,3}){0,10}(?:session(?:id)?|sessid|sid|phpsessid|jsessionid|connect\.sid|_session|auth[_\-]?token|access[_\-]?token|remember[_\-]?(?:me|token)|jwt)=([^;\s\"']{8,4096})", _I),
          _re(r"\s-H\s{1,3}[\"'](?:set-)?cookie\s{0,3}:\s{0,3}(?:[^;\n=\"']{1,80}=[^;\n\"']{0,400};\s{0,3}){0,10}(?:session(?:id)?|sessid|sid|phpsessid|jsessionid|connect\.sid|_session|auth[_\-]?token|access[_\-]?token|remember[_\-]?(?:me|token)|jwt)=([^;\s\"']{8,4096})", _I)),
         _check_secret_value, keywords=("cookie",), group=1),
    Rule("secret.cli_password", PII, HIGH, "Password given on a command line", "secret",
         (_CLI_USER,
          _re(r"(?:^|\s)--(?:password|passwd|pass)(?:=|\s{1,3})[\"']?([^\s\"']{4,256})"),
          _re(r"\bmysql(?:dump|admin)?\b[^\n]{0,200}?\s-p([^\s\"']{4,256})")),
         _check_cli_password, keywords=("-u", "--user", "--pass", "mysql"), group=1),
    Rule("secret.azure_storage_key", PII, CRITICAL, "Azure storage account key", "secret",
         (_re(r"\bAccountKey=([A-Za-z0-9+/]{40,100}={0,2})", _I),), _check_secret_value,
         keywords=("accountkey",), group=1),
    Rule("secret.sas_signature", PII, HIGH, "Shared access signature in a URL (grants access to storage)",
         "secret", (_re(r"[?&]sig=([A-Za-z0-9%+/=]{20,300})(?=$|[&\s\"')\]>])"),), _check_secret_value,
         keywords=("sig=",), group=1),
    Rule("secret.sendgrid_key", PII, CRITICAL, "SendGrid API key", "token",
         (_re(r"(?<![\w\-])SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?![\w\-])"),), _check_token,
         keywords=("sg.",)),
    Rule("secret.discord_webhook", PII, HIGH, "Discord webhook URL (anyone holding it can post)", "token",
         (_re(r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{5,30}/[A-Za-z0-9_\-]{30,100}"),),
         _check_token, keywords=("discord",)),
    Rule("secret.connection_string", PII, HIGH, "Password in a connection string", "secret",
         (_CONN_STRING,), _check_conn, keywords=("://",)),
    Rule("secret.password_assignment", PII, HIGH, "Password or secret assigned in config or code",
         "secret", (_PASSWORD_ASSIGN,), _check_password,
         keywords=("pass", "pwd", "secret", "key", "token")),
    # commands
    Rule("cmd.pipe_to_shell", CMD, CRITICAL, "Downloads a script and pipes it straight into a shell",
         patterns=(_PIPE_TO_SHELL,), keywords=("curl", "wget", "fetch")),
    Rule("cmd.process_substitution", CMD, CRITICAL, "Runs a downloaded script via process substitution",
         patterns=(_PROCESS_SUBST,), keywords=("<(",)),
    Rule("cmd.exec_remote", CMD, CRITICAL, "Runs code fetched from the network by command substitution",
         patterns=(_EXEC_REMOTE,), keywords=("$(", "`")),
    Rule("cmd.base64_to_shell", CMD, CRITICAL, "Decodes base64 and pipes it into a shell",
         patterns=(_BASE64_TO_SHELL,), keywords=("base64",)),
    Rule("cmd.reverse_shell", CMD, CRITICAL, "Opens a reverse or bind shell (remote control of this machine)",
         patterns=_REVERSE_SHELL, check=_check_reverse_shell,
         keywords=("/dev/tcp", "/dev/udp", "nc", "netcat", "socat", "mkfifo", "tcpclient", "pty.spawn", "socket")),
    Rule("cmd.powershell_cradle", CMD, CRITICAL, "PowerShell downloads code and runs it (download cradle)",
         patterns=_PS_CRADLE, keywords=("iex", "invoke-expression"),
         requires=("downloadstring", "downloaddata", "iwr", "irm", "invoke-webrequest", "invoke-restmethod",
                   "net.webclient")),
    Rule("cmd.powershell_encoded", CMD, CRITICAL, "PowerShell runs a base64-encoded command",
         patterns=(_PS_ENCODED,), check=_check_ps_encoded, keywords=("powershell", "pwsh")),
    Rule("cmd.lolbin_download", CMD, HIGH, "Windows system tool used to download or run remote code",
         patterns=_LOLBIN, keywords=("certutil", "bitsadmin", "mshta", "regsvr32")),
    Rule("cmd.substitution_network", CMD, MEDIUM, "Command substitution that reaches the network",
         patterns=(_SUBST_NETWORK,), keywords=("$(", "`"), confidence=0.7),
    Rule("cmd.metachar_probe", CMD, MEDIUM, "Shell metacharacters smuggle a probe command into a field",
         patterns=(_METACHAR_PROBE,), keywords=(";", "|", "&", "%0a", "\\n", "$("), confidence=0.7),
    Rule("cmd.destructive", CMD, CRITICAL, "Destroys data (deletes the home directory or system, wipes a disk, fork bomb)",
         patterns=_DESTRUCTIVE, check=_check_destructive,
         keywords=("rm", "dd", "mkfs", "(", "chmod", "/dev/", "rd", "del", "remove-item", "format", "vssadmin",
                   "find", "shred")),
    Rule("cmd.persistence", CMD, HIGH, "Installs persistence (cron job, Run key, sudoers, authorized_keys, setuid shell)",
         finder=_persistence_hits,
         keywords=("crontab", "*", "@reboot", "\\run", "nopasswd", "sudoers", "chmod", "authorized_keys", ">>")),
    Rule("cmd.interpreter_payload", CMD, CRITICAL, "Code-execution payload for an interpreter",
         patterns=_INTERPRETER_PAYLOAD,
         keywords=("eval", "exec", "__import__", "system", "passthru", "assert", "os.popen", "runtime")),
    # exfiltration
    Rule("exfil.image_url_data", EXFIL, CRITICAL, "Image URL carries data to an outside server",
         patterns=(_MD_IMAGE, _HTML_IMG), check=_check_image_url, keywords=("![", "<img")),
    Rule("exfil.link_url_data", EXFIL, HIGH, "Link URL carries data to an outside server",
         patterns=(_MD_LINK,), check=_check_link_url, keywords=("](",)),
    Rule("exfil.send_instruction", EXFIL, CRITICAL, "Asks to send conversation, keys or files to an outside address",
         finder=_exfil_instruction_hits, keywords=_EXFIL_OBJECT_WORDS),
    Rule("exfil.upload_secrets", EXFIL, CRITICAL, "Command uploads secret files or environment variables",
         patterns=(_UPLOAD_LINE,), check=_check_upload, requires=_UPLOAD_REQUIRES,
         keywords=("curl", "wget", "scp", "rsync", "nc", "netcat", "iwr", "irm", "invoke-", "ftp", "http")),
    Rule("exfil.prompt_extraction", EXFIL, HIGH, "Asks the model to reveal its system prompt",
         patterns=_PROMPT_EXTRACTION, check=_check_extraction,
         keywords=("system", "initial", "verbatim", "word for word", "above", "before this")),
    # prompt injection
    Rule("inj.fake_turn", INJ, HIGH, "Fake system turn after a closing delimiter (prompt injection)",
         patterns=_FAKE_TURN, check=_check_fake_turn, keywords=("system", "admin", "assistant", "developer")),
    Rule("inj.chat_template", INJ, MEDIUM, "Chat-template control tokens that fake a system turn",
         patterns=(_CHAT_TEMPLATE,), keywords=("<|", "<<sys>>"), confidence=0.7),
    Rule("inj.override", INJ, MEDIUM, "Tells the model to ignore its previous instructions",
         patterns=(_OVERRIDE,), check=_check_override, keywords=("ignore", "disregard", "forget", "override", "bypass"),
         confidence=0.8),
)  # fmt: skip

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
assert len(RULES_BY_ID) == len(RULES), "duplicate rule id"


# --- scanning ------------------------------------------------------------------------


def scan_rules(text: str) -> list[Evidence]:
    """Run every rule over ``text``; offsets index ``text``; excerpts are redacted.

    Reads at most :data:`MAX_SCAN_CHARS` characters. Overlapping PII and secret
    matches keep the most severe one (a phone number inside a card number goes).
    """
    if not isinstance(text, str):
        raise TypeError(f"scan_rules() expects str, not {type(text).__name__}")
    if not text:
        return []
    text = text[:MAX_SCAN_CHARS]
    lowered = text.lower()
    raw: list[tuple[Rule, int, int, Severity, str]] = []
    for rule in RULES:
        if rule.keywords and not any(k in lowered for k in rule.keywords):
            continue
        if rule.requires and not any(k in lowered for k in rule.requires):
            continue
        try:
            found = list(_run_rule(rule, text))
        except Exception as exc:  # noqa: BLE001 - one rule's bug must not lose the others' matches
            # The rule and the error's type only: the text and the message (which may quote it) stay out.
            log.error("rule %s failed on this text (%s); its matches are skipped", rule.id, type(exc).__name__)
            continue
        for start, end, hit in found:
            severity = hit.severity if hit.severity is not None else rule.severity
            raw.append((rule, start, end, severity, hit.message or rule.message))
    raw = _drop_overlapping_pii(raw)
    sensitive = [(s, e, r) for r, s, e, _, _ in raw if r.mask]
    evidence = [
        Evidence(
            category=rule.category,
            source="rule",
            start=start,
            end=end,
            message=message,
            severity=severity,
            rule_id=rule.id,
            confidence=rule.confidence,
            excerpt=_excerpt(text, start, end, rule, sensitive),
        )
        for rule, start, end, severity, message in raw
    ]
    evidence.sort(key=lambda e: (e.start, -e.severity, e.rule_id))
    return evidence


def _run_rule(rule: Rule, text: str) -> Iterable[tuple[int, int, Hit]]:
    count = 0
    if rule.finder is not None:
        for item in rule.finder(text):
            yield item
            count += 1
            if count >= MAX_MATCHES_PER_RULE:
                return
        return
    for pattern in rule.patterns:
        for m in pattern.finditer(text):
            verdict = rule.check(m, text) if rule.check is not None else Hit()
            if not verdict:
                continue
            hit = verdict if isinstance(verdict, Hit) else Hit()
            start = hit.start if hit.start is not None else m.start(rule.group)
            end = hit.end if hit.end is not None else m.end(rule.group)
            if end <= start:
                continue
            yield start, end, hit
            count += 1
            if count >= MAX_MATCHES_PER_RULE:
                return


def _drop_overlapping_pii(
    raw: list[tuple[Rule, int, int, Severity, str]],
) -> list[tuple[Rule, int, int, Severity, str]]:
    pii = sorted((item for item in raw if item[0].mask), key=lambda i: (-i[3], -(i[2] - i[1])))
    kept: list[tuple[Rule, int, int, Severity, str]] = []
    for item in pii:
        _, start, end, _, _ = item
        if any(k[1] < end and start < k[2] for k in kept):
            continue
        kept.append(item)
    others: list[tuple[Rule, int, int, Severity, str]] = []
    for item in sorted((i for i in raw if not i[0].mask), key=lambda i: -(i[2] - i[1])):
        rule, start, end, _, _ = item
        if any(o[0] is rule and o[1] < end and start < o[2] for o in others):
            continue  # two patterns of one rule on the same command: keep the wider
        others.append(item)
    return kept + others


# --- redaction -----------------------------------------------------------------------

_TOKEN_PREFIX = _re(
    r"^(?:sk-ant-|sk-proj-|sk-svcacct-|sk-admin-|sk-|sk_live_|rk_live_|sk_test_|rk_test_|gh[pousr]_"
    r"|github_pat_|glpat-|xox[abposr]-|AKIA|ASIA|AIza|eyJ|https://hooks\.slack\.com/services/)"
)


def _keep_last_digits(value: str, keep: int) -> str:
    """Mask every digit but the last ``keep``; separators stay, so the shape is recognisable."""
    digits = sum(c.isdigit() for c in value)
    seen = 0
    out = []
    for c in value:
        if c.isdigit():
            seen += 1
            out.append(c if seen > digits - keep else MASK)
        else:
            out.append(c)
    return "".join(out)


def _mask_value(value: str, style: str) -> str:
    """The masked form of one sensitive value (never the value itself)."""
    if style == "card":
        return _keep_last_digits(value, 4)
    if style in ("iban", "last4"):
        keep_head = 2 if style == "iban" else 0
        alnum = sum(c.isalnum() for c in value)
        keep_tail = 4 if alnum >= 9 else 2 if alnum >= 6 else 0
        seen = 0
        out = []
        for c in value:
            if c.isalnum():
                seen += 1
                out.append(c if seen <= keep_head or seen > alnum - keep_tail else MASK)
            else:
                out.append(c)
        return "".join(out)
    if style == "email":
        local, _, domain = value.partition("@")
        return (local[:1] + MASK * 3 + "@" + domain) if len(local) > 1 else MASK * 3 + "@" + domain
    if style == "phone":
        return _keep_last_digits(value, 2)
    if style == "token":
        m = _TOKEN_PREFIX.match(value)
        prefix = m.group() if m else ""
        if len(prefix) * 2 > len(value):
            prefix = ""
        return prefix + MASK * 4
    if style == "pem":
        # Real line breaks, or the two characters "\n" of a PEM kept in a JSON string.
        lines = re.split(r"\n|\\n", value)
        first = lines[0].strip()
        if not first.startswith("-----BEGIN") or not first.endswith("-----"):
            first = "-----BEGIN PRIVATE KEY-----"
        last = lines[-1].strip() if len(lines) > 1 else ""
        br = "\\n" if "\n" not in value and "\\n" in value else "\n"  # keep a JSON string one line
        body = f"{first}{br}{MASK * 4} (private key redacted) {MASK * 4}"
        return body + (br + last if last.startswith("-----END") else "")
    return MASK * 8


def redact(text: str, evidence: Iterable[Evidence]) -> str:
    """``text`` with the PII and secret spans of ``evidence`` masked.

    Offsets must index ``text`` (as :func:`scan_rules` returns them). Spans of
    rules that are not sensitive (commands, exfiltration) are left as they are;
    unknown evidence of the PII category is masked whole.
    """
    spans: list[tuple[int, int, str]] = []
    for e in evidence:
        rule = RULES_BY_ID.get(e.rule_id)
        if rule is not None:
            style = rule.mask
        elif e.category is Category.PII_EXPOSURE and e.source == "rule":
            style = "secret"
        else:
            style = ""
        if not style:
            continue
        start, end = max(0, e.start), min(len(text), e.end)
        if end > start:
            spans.append((start, end, style))
    if not spans:
        return text
    spans.sort(key=lambda s: (s[0], -s[1]))
    merged: list[tuple[int, int, str]] = []
    for start, end, style in spans:
        if merged and start < merged[-1][1]:
            prev = merged[-1]
            merged[-1] = (prev[0], max(prev[1], end), prev[2] if end <= prev[1] else "secret")
            continue
        merged.append((start, end, style))
    out = []
    pos = 0
    for start, end, style in merged:
        out.append(text[pos:start])
        out.append(_mask_value(text[start:end], style))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _excerpt(
    text: str, start: int, end: int, rule: Rule, sensitive: list[tuple[int, int, Rule]]
) -> str:
    """One line, at most EXCERPT_CHARS, with every sensitive span inside masked."""
    if rule.mask:
        shown = _mask_value(text[start:end], rule.mask)
    else:
        stop = min(end, start + EXCERPT_CHARS * 2)
        inner = [
            (max(s, start), min(e, stop), r) for s, e, r in sensitive if s < stop and start < e
        ]
        pieces = []
        pos = start
        for s, e, r in sorted(inner, key=lambda x: x[0]):
            if s < pos:
                continue
            pieces.append(text[pos:s])
            pieces.append(_mask_value(text[s:e], r.mask))
            pos = e
        pieces.append(text[pos:stop])
        shown = "".join(pieces)
    shown = " ".join(shown.split())
    if len(shown) > EXCERPT_CHARS:
        shown = shown[: EXCERPT_CHARS - 1] + "…"
    return shown
