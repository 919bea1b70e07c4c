"""pytest-qt tests run offscreen: no display needed, and every test here is marked ``gui``."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402

# Before any Qt call of the session: on PySide6 6.12 / Python < 3.12 every void Qt call
# (pytest-qt's included) costs None a reference, which qtcompat's import makes harmless.
import desktop.app.qtcompat  # noqa: E402, F401


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/gui/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.gui)
            # The offscreen plugin cannot raise windows; that is not a failure of ours.
            item.add_marker(
                pytest.mark.qt_log_ignore("This plugin does not support (raise|propagateSizeHints)")
            )


@pytest.fixture
def clipboard(qapp):
    cb = qapp.clipboard()
    cb.clear()
    yield cb
    cb.clear()
