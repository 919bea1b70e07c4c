"""Emitting through ``qtcompat.emit`` keeps the bool singletons' reference counts intact
(PySide6 6.12 drops one per ``SignalInstance.emit`` on Python < 3.12)."""

from __future__ import annotations

import sys

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
