"""The binding work-arounds in ``desktop.app.qtcompat``: emitting through ``qtcompat.emit``
keeps the bool singletons' reference counts intact, and importing the module keeps ``None``
alive through any number of void Qt calls (PySide6 6.12 on Python < 3.12 drops one reference
to the result of each)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from PySide6.QtCore import QObject, Signal

from desktop.app.qtcompat import emit


class Emitter(QObject):
    plain = Signal()
    with_args = Signal(str, object)


def test_many_emits_leave_bool_refcounts_alone(qtbot):
    e = Emitter()
    got = []
    e.with_args.connect(lambda a, b: got.append(a))
    before = (sys.getrefcount(True), sys.getrefcount(False))
    for i in range(5000):
        emit(e.plain)
        emit(e.with_args, "x", i)
    after = (sys.getrefcount(True), sys.getrefcount(False))
    assert len(got) == 5000
    assert after[0] >= before[0] - 50 and after[1] >= before[1] - 50


#: A fresh interpreter (its None count is a few thousand, as in the app at start) makes 5,000
#: pairs of void calls: without the work-around on a leaking build it aborts ("none_dealloc").
VOID_CALLS = textwrap.dedent(
    """
    import sys
    import desktop.app.qtcompat as qtcompat
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication(["probe"])
    start = sys.getrefcount(None)
    timer, label = QTimer(), QLabel()
    for i in range(5000):
        timer.start(60_000)
        timer.stop()
        label.setText("x")
        QCoreApplication.processEvents()
    low = sys.getrefcount(None)
    print(qtcompat.APPLIED, start, low, flush=True)
    assert low >= 1 << 39 or (low >= start and sys.version_info >= (3, 12)), (start, low)
    del timer, label, app
    """
)


def test_void_qt_calls_do_not_exhaust_none():
    out = subprocess.run(
        [sys.executable, "-c", VOID_CALLS],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "none_dealloc" not in out.stderr


def test_the_none_probe_sees_the_leak_it_guards_against():
    from desktop.app import qtcompat

    # After the import the leak is still there (the work-around does not hide it from the
    # probe); on a build without it the work-around stays off.
    leaks = qtcompat._void_calls_drop_none_refs()
    assert ("none_refs" in qtcompat.APPLIED) == leaks
