"""The redacted copy: what leaves the app through the clipboard or the history preview."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.app.findings import redacted_preview
from desktop.detection.redaction import (
    HIDDEN_PLACEHOLDER,
    MAX_COPY_CHARS,
    WITHHELD,
    redacted_copy,
    sensitive_hits,
)

CARD = "4532015112830366"  # Luhn-valid Visa test number
EMAIL = "alice.smith@corp.com"
KEY = "sk_live_51HxYzAbCdEfGhIjKlMnOpQr"


def _tags(s: str) -> str:
    return "".join(chr(0xE0000 + ord(c)) for c in s)


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def test_visible_values_are_masked_in_place() -> None:
    text = f"Plain card 4532 0151 1283 0366 and key {KEY} and mail {EMAIL} ok"
    out = redacted_copy(text)
    assert out.startswith("Plain card •••• •••• •••• 0366 and key sk_live_")
    assert KEY not in out and EMAIL not in out and out.endswith(" ok")
    assert sensitive_hits(out) == []


def test_card_split_by_zero_width_characters_is_masked_whole() -> None:
    # Found only after clean-up, where offsets do not match the text: the first pass
    # masked the wrong characters and left 12 of the 16 digits.
    text = "My card: " + "\u200b".join(CARD) + " exp 12/29"
    out = redacted_copy(text)
    assert CARD[:12] not in _digits(out)
    assert out == "My card: ••••••••••••0366 exp 12/29"


def test_card_in_a_base64_blob_is_removed_with_its_carrier() -> None:
    blob = base64.b64encode(f"card {CARD} mail {EMAIL}".encode()).decode()
    out = redacted_copy(f"note {blob} end")
    assert out == f"note {HIDDEN_PLACEHOLDER} end"


def test_card_in_tag_characters_is_removed() -> None:
    out = redacted_copy("hi " + _tags(f"card {CARD}") + " there")
    assert CARD not in out and "\U000e0030" not in out
    assert out == f"hi {HIDDEN_PLACEHOLDER} there"


def test_harmless_blob_and_text_stay_as_they_are() -> None:
    blob = base64.b64encode(b"just a harmless note about lunch").decode()
    text = f"see {blob} and \u200bnothing else"
    assert redacted_copy(text) == text


def test_fullwidth_digits_are_masked() -> None:
    out = redacted_copy("Ｃａｒｄ ４５３２０１５１１２８３０３６６")
    assert sensitive_hits(out) == [] and "0366" in out and "４５３２" not in out


def test_lone_surrogates_and_oversized_text() -> None:
    out = redacted_copy(f"lone \ud800 and card {CARD}")
    out.encode("utf-8")
    assert CARD not in out and out.startswith("lone \ufffd and card ")
    assert redacted_copy("x" * (MAX_COPY_CHARS + 1)) == WITHHELD


def test_preview_is_cut_and_redacted() -> None:
    text = f"card {CARD} " + "filler " * 2000
    preview = redacted_preview(text)
    assert len(preview) == 160 and CARD not in preview and preview.startswith("card ••••")


_INVISIBLE = st.sampled_from(["", "\u200b", "\u200c", "\u2060", "\ufeff", "\u00ad"])


@settings(max_examples=150, deadline=None)
@given(
    seps=st.lists(_INVISIBLE, min_size=15, max_size=15),
    before=st.text(alphabet="abc xyz.,\n", max_size=40),
    after=st.text(alphabet="abc xyz.,\n", max_size=40),
    wrap=st.sampled_from(["plain", "base64", "tags", "hex"]),
)
def test_no_wrapping_leaks_the_card(seps, before, after, wrap) -> None:
    card = "".join(d + s for d, s in zip(CARD, seps + [""], strict=True))
    secret = f"card {card} exp 12/29"
    if wrap == "base64":
        secret = base64.b64encode(secret.encode()).decode()
    elif wrap == "hex":
        secret = secret.encode().hex()
    elif wrap == "tags":
        secret = _tags(secret)
    out = redacted_copy(f"{before} {secret} {after}")
    assert sensitive_hits(out) == []
    assert CARD[:12] not in _digits(out)
