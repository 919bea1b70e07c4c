"""Work-arounds for Qt binding bugs, each probed at import so a fixed release turns it off.

Import this module before anything else touches Qt (``desktop.app.main`` does, first thing in
each entry point): the probes run at import.

``None``: in PySide6 6.12 on Python < 3.12, every wrapped C++ method that returns ``void``
(``QTimer.start``, ``setText``, ``setIcon``, ``processEvents``, ``QTimer.singleShot``, ...)
returns ``None`` without taking a reference, so each call drops the interpreter's count on
``None`` by one; after a few thousand copies the app aborts with "none_dealloc: deallocating
None". The calls are everywhere (Qt's own bindings, pytest-qt, our code), so they cannot be
compensated one by one: when the probe finds the leak, ``None`` is made effectively immortal
by adding 2**40 to its count (what Python 3.12 does for every singleton, PEP 683); at one leaked
reference per call that lasts for centuries.

``emit``: in the same build, ``SignalInstance.emit()`` returns ``True``/``False`` without
taking a reference, so each Python-side emit drops the interpreter's count on the bool
singleton by one ("bool_dealloc: deallocating True or False"). Every emit in the app goes
through :func:`emit`, which gives the reference back when, and only when, the probe found the
leak.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

#: What is added to None's reference count when void calls leak it.
NONE_REFS_HEADROOM = 1 << 40


class _Probe(QObject):
    sig = Signal()


def _void_calls_drop_none_refs(rounds: int = 200) -> bool:
    """Whether a Qt method returning ``void`` costs ``None`` a reference (needs no QApplication)."""
    if sys.version_info >= (3, 12):  # None is immortal (PEP 683): nothing can leak
        return False
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(rounds):
        probe.setObjectName("raxe-probe")
    lost = before - sys.getrefcount(None)
    return lost >= rounds // 2


def _refcount_field(obj: object) -> ctypes.c_ssize_t | None:
    """``obj``'s ``ob_refcnt`` as a ctypes view, after checking that the field is where we
    think (the first field of ``PyObject`` on CPython builds without ``Py_TRACE_REFS``)."""
    if sys.implementation.name != "cpython" or hasattr(sys, "getobjects"):
        return None
    field = ctypes.c_ssize_t.from_address(id(obj))
    was = field.value
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
    moved = field.value - was
    ctypes.pythonapi.Py_DecRef(ctypes.py_object(obj))
    return field if moved == 1 else None


def _immortalize_none() -> bool:
    try:
        field = _refcount_field(None)
    except (AttributeError, OSError):  # no usable Python C API through ctypes
        return False
    if field is None:
        return False
    field.value += NONE_REFS_HEADROOM
    return True


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


def _apply() -> tuple[str, ...]:
    applied = []
    if _void_calls_drop_none_refs():
        if _immortalize_none():
            applied.append("none_refs")
        else:
            log.warning("Qt void calls leak references to None and the work-around cannot apply")
    if EMIT_DROPS_BOOL_REFS:
        applied.append("emit_bool_refs")
    if applied:
        log.info("Qt binding work-arounds applied: %s", ", ".join(applied))
    return tuple(applied)


EMIT_DROPS_BOOL_REFS = _emit_drops_bool_refs()
#: The work-arounds this process needed (for the event log): "none_refs", "emit_bool_refs".
APPLIED: tuple[str, ...] = _apply()


def emit(signal: Any, *args: Any) -> None:
    """``signal.emit(*args)``, compensating the bool reference the binding drops."""
    result = signal.emit(*args)
    if EMIT_DROPS_BOOL_REFS and isinstance(result, bool):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
