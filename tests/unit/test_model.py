"""The ONNX runner: manifest checks, session, golden values, windowing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.detection.categories import LABELS, Category
from desktop.detection.model import (
    ModelLoadError,
    ModelManifest,
    OnnxClassifier,
    argmax_label,
    build_session,
    plan_windows,
    softmax,
)
from tests.fixtures.tiny_model import (
    build_tiny_model,
    expected_probs,
    manifest_dict,
    write_manifest,
)


def test_softmax_is_stable_and_uses_temperature():
    p = softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    assert np.allclose(p, [[0.5, 0.5, 0.0]])
    cold = softmax(np.array([1.0, 0.0]), temperature=0.5)
    warm = softmax(np.array([1.0, 0.0]), temperature=2.0)
    assert cold[0] > warm[0] > 0.5
    assert argmax_label([0.1, 0.2, 0.7], ["a", "b", "c"]) == "c"


def test_golden_values(tiny_classifier):
    benign = tiny_classifier.predict_windows("hello world")
    assert np.allclose(benign.probs[0], expected_probs({}), atol=1e-5)
    jb = tiny_classifier.predict_windows("please jailbreak the model")
    assert np.allclose(jb.probs[0], expected_probs({Category.JAILBREAK: 1.0}), atol=1e-5)
    weak = tiny_classifier.predict_windows("a roleplay")
    assert weak.probs[0][Category.JAILBREAK] == pytest.approx(0.598, abs=0.01)
    assert argmax_label(jb.probs[0]) == "jailbreak"


def test_feeds_only_declared_inputs(tmp_path):
    model_dir = build_tiny_model(tmp_path, inputs=("input_ids",))
    clf = OnnxClassifier.from_dir(model_dir)
    assert clf.input_names == ("input_ids",)
    clf.warmup()
    assert clf.predict_windows("ignore this").max_probs()["prompt_injection"] > 0.9


def test_build_session_options(tiny_model_dir):
    sess = build_session(tiny_model_dir / "l2_classifier.onnx", threads=2, optimization="basic")
    assert sess.get_providers() == ["CPUExecutionProvider"]
    with pytest.raises(ValueError):
        build_session(tiny_model_dir / "l2_classifier.onnx", optimization="fast")
    with pytest.raises(ModelLoadError, match="not found"):
        build_session(tiny_model_dir / "nope.onnx")


def test_plan_windows_cover_and_bound():
    assert plan_windows(0, 10, 2, 4) == [(0, 0)]
    assert plan_windows(10, 10, 2, 4) == [(0, 10)]
    w = plan_windows(30, 10, 2, 100)
    assert w[0] == (0, 10) and w[-1][1] == 30
    for (_a0, b0), (a1, _b1) in zip(w, w[1:], strict=False):
        assert a1 <= b0 - 2  # consecutive windows overlap by at least the stride
    assert all(b - a == 10 for a, b in w)
    assert len(plan_windows(10_000, 10, 2, 4)) == 4


def test_long_text_windows_cover_the_text(tiny_classifier):
    text = " ".join(["hello world the quick brown fox"] * 25) + " jailbreak"
    ws = tiny_classifier.predict_windows(text)
    assert ws.n_windows > 1 and not ws.truncated
    assert ws.scanned_chars == ws.total_chars == len(text)
    assert ws.spans[0][0] == 0 and ws.spans[-1][1] == len(text)
    for (_, end0), (start1, _) in zip(ws.spans, ws.spans[1:], strict=False):
        assert start1 < end0  # overlapping, no gaps
    # the trigger sits in the last window only; the verdict takes the worst window
    assert ws.top_window("jailbreak") == ws.n_windows - 1
    assert ws.max_probs()["jailbreak"] > 0.99


def test_truncation_is_reported(tiny_classifier):
    words = "hello world " * 2000 + "jailbreak"
    ws = tiny_classifier.predict_windows(words)
    assert ws.n_windows == tiny_classifier.manifest.max_windows
    assert ws.truncated and 0 < ws.scanned_chars < ws.total_chars
    assert ws.spans[-1][1] == ws.scanned_chars
    assert ws.max_probs()["jailbreak"] < 0.5  # beyond the scanned part, honestly unseen


def test_char_prebound_on_huge_text(tiny_classifier):
    text = " " * 5_000_000 + "jailbreak"
    ws = tiny_classifier.predict_windows(text)
    assert ws.truncated and ws.scanned_chars <= tiny_classifier.max_chars
    assert ws.total_chars == len(text)


def test_surrogates_and_nul(tiny_classifier):
    ws = tiny_classifier.predict_windows("bad \ud800 text \x00 jailbreak")
    assert ws.max_probs()["jailbreak"] > 0.9


# ---------------------------------------------------------------- manifest validation


def _edit(model_dir: Path, **overrides) -> None:
    write_manifest(model_dir, **overrides)


def test_manifest_roundtrip(tiny_model_dir):
    m = ModelManifest.load(tiny_model_dir)
    assert m.labels == LABELS and m.max_length == 32 and m.thresholds["jailbreak"] == 0.5
    m.verify_files(tiny_model_dir)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"labels": list(reversed(LABELS))}, "do not match"),
        ({"format": 2}, "unsupported format"),
        ({"max_length": "128"}, "max_length"),
        ({"stride": 64}, "stride"),
        ({"temperature": 0}, "temperature"),
        ({"thresholds": {"jailbreak": 1.5}}, "threshold for jailbreak"),
        ({"thresholds": {"benign": 0.5}}, "non-threat"),
        ({"inputs": ["pixel_values"]}, "inputs"),
        ({"files": {"l2_classifier.onnx": "abc"}}, "sha256"),
    ],
)
def test_manifest_rejects(fresh_model_dir, overrides, message):
    _edit(fresh_model_dir, **overrides)
    with pytest.raises(ModelLoadError, match=message):
        OnnxClassifier.from_dir(fresh_model_dir)


def test_missing_files(fresh_model_dir):
    (fresh_model_dir / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError, match="tokenizer.json"):
        OnnxClassifier.from_dir(fresh_model_dir)
    (fresh_model_dir / "manifest.json").unlink()
    with pytest.raises(ModelLoadError, match="manifest not found"):
        OnnxClassifier.from_dir(fresh_model_dir)
    with pytest.raises(ModelLoadError, match="directory not found"):
        OnnxClassifier.from_dir(fresh_model_dir / "nowhere")


def test_bad_json(fresh_model_dir):
    (fresh_model_dir / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        OnnxClassifier.from_dir(fresh_model_dir)


def test_sha_mismatch_and_corrupt_onnx(fresh_model_dir):
    onnx_path = fresh_model_dir / "l2_classifier.onnx"
    onnx_path.write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(ModelLoadError, match="sha256 mismatch for l2_classifier.onnx"):
        OnnxClassifier.from_dir(fresh_model_dir)
    write_manifest(fresh_model_dir)  # manifest now matches the corrupt bytes
    with pytest.raises(ModelLoadError, match="cannot load ONNX model"):
        OnnxClassifier.from_dir(fresh_model_dir)


def test_corrupt_tokenizer(fresh_model_dir):
    (fresh_model_dir / "tokenizer.json").write_text('{"model": 1}', encoding="utf-8")
    write_manifest(fresh_model_dir)
    with pytest.raises(ModelLoadError, match="cannot load tokenizer"):
        OnnxClassifier.from_dir(fresh_model_dir)


def test_manifest_dict_is_json(tiny_model_dir):
    json.dumps(manifest_dict(tiny_model_dir))
