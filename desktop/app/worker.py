"""One worker thread owns the detector: loaded and warmed there, fed by queued signals.

Requests carry ids; a clipboard (or selection) request older than the newest request from
the same source is dropped unscanned: the newest one is always scanned, and the controller
forgets a dropped text's hash so that copying it again scans it. A result whose request was
superseded while it was being scanned is dropped the same way by the controller. The GUI thread never
waits. An exception in a scan is reported by signal and the worker keeps serving.

The same thread makes "redacted copies" (masking a megabyte of text takes seconds): a
:class:`RedactJob` goes in, ``redacted(job, copy)`` comes back.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from desktop.app.decisions import Source
from desktop.app.qtcompat import emit
from desktop.detection.redaction import WITHHELD, redacted_copy

WARM_UP_TEXT = "Warm-up: please summarise this short paragraph about the weather in Lisbon."


@dataclass(frozen=True)
class ScanRequest:
    id: int
    source: Source
    text: str
    text_hash: str
    truncated: bool = False
    total_chars: int = 0
    submitted: float = 0.0


@dataclass(frozen=True)
class RedactJob:
    id: int
    #: The finding (scan request) the copy is made for.
    request_id: int
    text: str


@dataclass(frozen=True)
class ScanResponse:
    request: ScanRequest
    result: Any  # DetectionResult
    elapsed_ms: float


def default_detector_factory(model_dir=None):
    from desktop.detection import L2ThreatDetector

    return L2ThreatDetector(model_dir=model_dir)


class ScanWorker(QObject):
    ready = Signal(str, str)  # mode, mode_reason
    load_failed = Signal(str)
    finished = Signal(object)  # ScanResponse
    failed = Signal(object, str)  # ScanRequest, error type + message
    dropped = Signal(object)  # ScanRequest
    redacted = Signal(object, str)  # RedactJob, the copy (WITHHELD when none is safe)

    def __init__(self, factory: Callable[[], Any]):
        super().__init__()
        self._factory = factory
        self._detector: Any = None
        #: The newest request id per watched source: written by the GUI thread (a plain
        #: store into a dict whose keys never change), read here.
        self.latest_ids: dict[Source, int] = {Source.CLIPBOARD: 0, Source.SELECTION: 0}

    @Slot()
    def load(self) -> None:
        try:
            self._detector = self._factory()
            warm = self._detector.detect(WARM_UP_TEXT)
        except Exception as exc:  # noqa: BLE001 - reported to the user as the error state
            emit(self.load_failed, f"{type(exc).__name__}: {exc}")
            return
        emit(self.ready, str(getattr(warm, "mode", "")), str(getattr(warm, "mode_reason", "")))

    @Slot(object)
    def scan(self, request: ScanRequest) -> None:
        if request.id < self.latest_ids.get(request.source, 0):
            emit(self.dropped, request)
            return
        if self._detector is None:
            emit(self.failed, request, "DetectorUnavailable: the detector did not load")
            return
        start = time.perf_counter()
        try:
            result = self._detector.detect(request.text)
        except Exception as exc:  # noqa: BLE001 - one bad scan must not kill the worker
            emit(self.failed, request, f"{type(exc).__name__}: {exc}")
            return
        emit(self.finished, ScanResponse(request, result, (time.perf_counter() - start) * 1000))

    @Slot(object)
    def redact(self, job: RedactJob) -> None:
        try:
            copy = redacted_copy(job.text)
        except Exception:  # noqa: BLE001 - documented never to raise; a copy not made is withheld
            copy = WITHHELD
        emit(self.redacted, job, copy)


class ScanService(QObject):
    """GUI-side handle: owns the thread and the worker; ``submit`` returns at once.

    The worker's signals are re-emitted from here, so every handler runs on the GUI thread.
    """

    _request = Signal(object)
    _redact = Signal(object)
    ready = Signal(str, str)
    load_failed = Signal(str)
    finished = Signal(object)
    failed = Signal(object, str)
    dropped = Signal(object)
    redacted = Signal(object, str)

    def __init__(self, factory: Callable[[], Any], parent: QObject | None = None):
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._redact_ids = itertools.count(1)
        self.thread = QThread()
        self.thread.setObjectName("raxe-scan-worker")
        self.worker = ScanWorker(factory)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.load)
        self._request.connect(self.worker.scan)
        self._redact.connect(self.worker.redact)
        for name in ("ready", "load_failed", "finished", "failed", "dropped", "redacted"):
            getattr(self.worker, name).connect(getattr(self, name))
        self.thread.finished.connect(self.worker.deleteLater)

    def start(self) -> None:
        self.thread.start()

    def submit(
        self,
        source: Source,
        text: str,
        text_hash: str,
        *,
        truncated: bool = False,
        total_chars: int = 0,
    ) -> ScanRequest:
        request = ScanRequest(
            next(self._ids),
            source,
            text,
            text_hash,
            truncated,
            total_chars or len(text),
            time.monotonic(),
        )
        if source in self.worker.latest_ids:
            self.worker.latest_ids[source] = request.id
        emit(self._request, request)
        return request

    def redact(self, request_id: int, text: str) -> RedactJob:
        """Make a redacted copy of ``text`` on the worker thread; ``redacted`` answers."""
        job = RedactJob(next(self._redact_ids), request_id, text)
        emit(self._redact, job)
        return job

    def latest_id(self, source: Source) -> int:
        """The newest request id from a watched source (0 for explicit sources: never stale)."""
        return self.worker.latest_ids.get(source, 0)

    def stop(self, timeout_ms: int = 60_000) -> bool:
        """Let the scan in progress finish, then end the thread; False if it is still running.

        A scan is bounded by the clipboard's size limit (a million characters take a few
        seconds), so the default wait is generous: Qt aborts the process when a running
        QThread is destroyed, which a short wait at quit time would risk.
        """
        if self.thread.isRunning():
            self.thread.quit()
            return bool(self.thread.wait(timeout_ms))
        return True
