"""Local detection history (SQLite, stdlib): metadata and keyed hashes; a redacted preview
only if the user allows it. Also the "marked safe" list (by keyed hash).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from desktop.detection.model import without_surrogates

SCHEMA = """
CREATE TABLE IF NOT EXISTS detections (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    source TEXT NOT NULL,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    confidence REAL NOT NULL,
    text_hash TEXT NOT NULL,
    preview TEXT
);
CREATE INDEX IF NOT EXISTS detections_ts ON detections(ts);
CREATE TABLE IF NOT EXISTS safe_hashes (text_hash TEXT PRIMARY KEY, ts REAL NOT NULL);
"""


@dataclass(frozen=True)
class Entry:
    id: int
    ts: float
    source: str
    category: str
    severity: str
    confidence: float
    text_hash: str
    preview: str | None


class History:
    def __init__(self, path: Path | str):
        self._db = sqlite3.connect(str(path))
        self._db.executescript(SCHEMA)
        self._db.commit()

    def add(
        self,
        *,
        source: str,
        category: str,
        severity: str,
        confidence: float,
        text_hash: str,
        preview: str | None = None,
        ts: float | None = None,
    ) -> int:
        if preview is not None:  # sqlite cannot store lone surrogates: U+FFFD, as the core shows them
            preview = without_surrogates(preview)
        cur = self._db.execute(
            "INSERT INTO detections (ts, source, category, severity, confidence, text_hash, preview)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                time.time() if ts is None else ts,
                source,
                category,
                severity,
                confidence,
                text_hash,
                preview,
            ),
        )
        self._db.commit()
        return int(cur.lastrowid)

    def entries(self, category: str | None = None, limit: int = 1000) -> list[Entry]:
        sql = "SELECT id, ts, source, category, severity, confidence, text_hash, preview FROM detections"
        args: tuple = ()
        if category:
            sql += " WHERE category = ?"
            args = (category,)
        sql += " ORDER BY ts DESC, id DESC LIMIT ?"
        return [Entry(*row) for row in self._db.execute(sql, (*args, limit))]

    def apply_retention(self, days: int, now: float | None = None) -> int:
        """Delete detections older than ``days`` (0 keeps nothing); returns how many went."""
        cutoff = (time.time() if now is None else now) - days * 86400
        cur = self._db.execute("DELETE FROM detections WHERE ts < ?", (cutoff,))
        self._db.commit()
        return cur.rowcount

    def clear(self) -> None:
        self._db.execute("DELETE FROM detections")
        self._db.commit()

    def mark_safe(self, text_hash: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO safe_hashes (text_hash, ts) VALUES (?, ?)",
            (text_hash, time.time()),
        )
        self._db.commit()

    def is_safe(self, text_hash: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM safe_hashes WHERE text_hash = ?", (text_hash,)
        ).fetchone()
        return row is not None

    def close(self) -> None:
        self._db.close()
