"""Work-arounds for Qt binding bugs, each probed at import so a fixed release turns it off.

``emit``: in PySide6 6.12 on Python < 3.12, ``SignalInstance.emit()`` returns ``True``/``False``
without taking a reference, so each Python-side emit drops the interpreter's count on the bool
singleton by one; a long-running app (or a test session) then aborts with "bool_dealloc:
deallocating True or False". Every emit in the app goes through :func:`emit`, which gives the
reference back when, and only when, the probe found the leak.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    sig = Signal()


def _emit_drops_bool_refs(rounds: int = 16) -> bool:
    probe = _Probe()
    before = sys.getrefcount(True) + sys.getrefcount(False)
    kept = [probe.sig.emit() for _ in range(rounds)]
    after = sys.getrefcount(True) + sys.getrefcount(False)
    leaked = after - before < rounds  # each kept result should have added one reference
    for r in kept:
        if leaked and isinstance(r, bool):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(r))
    return leaked


EMIT_DROPS_BOOL_REFS = _emit_drops_bool_refs()


def emit(signal: Any, *args: Any) -> None:
    """``signal.emit(*args)``, compensating the bool reference the binding drops."""
    result = signal.emit(*args)
    if EMIT_DROPS_BOOL_REFS and isinstance(result, bool):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
