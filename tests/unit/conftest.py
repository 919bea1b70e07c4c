"""Fixtures for the core's unit tests (no Qt, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.tiny_model import build_tiny_model

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny) ONNX classifier + tokenizer + manifest; read-only for tests."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture
def fresh_model_dir(tmp_path: Path) -> Path:
    """A tiny model a test may damage."""
    return build_tiny_model(tmp_path / "model")


@pytest.fixture(scope="session")
def tiny_classifier(tiny_model_dir: Path):
    from desktop.detection.model import OnnxClassifier

    clf = OnnxClassifier.from_dir(tiny_model_dir)
    clf.warmup()
    return clf
