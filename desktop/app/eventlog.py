"""The structured event log: JSON lines with event names and metadata, never raw text.

Events go to ``events.jsonl`` in the config dir and, with ``--log-json``, to stderr. Callers
pass only metadata (categories, keyed hashes, lengths, timings); ``log`` refuses a field named
``text`` so that a slip cannot leak clipboard content.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

FORBIDDEN_FIELDS = frozenset({"text", "content", "clipboard", "selection", "preview"})


class EventLog:
    def __init__(
        self, path: Path | None, stream: IO[str] | None = None, max_bytes: int = 5_000_000
    ):
        self._lock = threading.Lock()
        self._stream = stream
        self._path, self._max_bytes = path, max_bytes
        self._fh = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size > max_bytes:
                path.replace(path.with_suffix(".jsonl.1"))
            self._fh = path.open("a", encoding="utf-8")

    def _rotate_if_large(self) -> None:
        """With the lock held: past ``max_bytes``, the file becomes ``events.jsonl.1`` (the
        one before goes) and a new one starts, so a long session cannot grow it unbounded."""
        if self._fh is None or self._path is None or self._fh.tell() <= self._max_bytes:
            return
        self._fh.close()
        self._fh = None
        with contextlib.suppress(OSError):  # else it keeps growing rather than losing events
            self._path.replace(self._path.with_suffix(".jsonl.1"))
        with contextlib.suppress(OSError):
            self._fh = self._path.open("a", encoding="utf-8")

    def log(self, event: str, **fields: Any) -> None:
        bad = FORBIDDEN_FIELDS.intersection(fields)
        if bad:
            raise ValueError(f"event log fields may not carry text: {sorted(bad)}")
        record = {"ts": round(time.time(), 3), "event": event, **fields}
        line = json.dumps(record, default=str, ensure_ascii=True)
        with self._lock:
            for out in (self._fh, self._stream):
                if out is not None:
                    try:
                        out.write(line + "\n")
                        out.flush()
                    except (OSError, ValueError):
                        pass
            with contextlib.suppress(OSError, ValueError):
                self._rotate_if_large()

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def stderr_stream() -> IO[str]:
    return sys.stderr
