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


#: How long a statement waits for another connection's lock before it fails: the history is
#: written from the GUI thread, which must not freeze behind a backup tool or a DB browser.
BUSY_TIMEOUT_S = 0.5


#: How long opening waits for another connection's lock (a backup tool copying the file at
#: login): longer than a statement, since the app is only starting.
OPEN_TIMEOUT_S = 2.0


class History:
    def __init__(
        self,
        path: Path | str,
        *,
        timeout: float = BUSY_TIMEOUT_S,
        open_timeout: float | None = None,
    ):
        wait = timeout if open_timeout is None else open_timeout
        self._db = sqlite3.connect(str(path), timeout=wait)
        try:
            self._db.executescript(SCHEMA)
            self._db.commit()
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        except sqlite3.Error:
            self._db.close()
            raise

    def absorb(self, other: History) -> None:
        """Copy ``other``'s detections and safe marks here (the in-memory history kept while
        the file could not be opened)."""
        cols = "ts, source, category, severity, confidence, text_hash, preview"
        rows = other._db.execute(f"SELECT {cols} FROM detections ORDER BY id").fetchall()
        self._db.executemany(f"INSERT INTO detections ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        safe = other._db.execute("SELECT text_hash, ts FROM safe_hashes").fetchall()
        self._db.executemany(
            "INSERT OR REPLACE INTO safe_hashes (text_hash, ts) VALUES (?, ?)", safe
        )
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

    def forget_safe(self) -> int:
        """Forget every "marked safe" text; returns how many marks went."""
        cur = self._db.execute("DELETE FROM safe_hashes")
        self._db.commit()
        return cur.rowcount

    def is_safe(self, text_hash: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM safe_hashes WHERE text_hash = ?", (text_hash,)
        ).fetchone()
        return row is not None

    def close(self) -> None:
        self._db.close()


def is_corrupt(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the file is damaged or not a database (not merely busy or full)."""
    name = getattr(exc, "sqlite_errorname", None)  # Python >= 3.11
    if name is not None:
        return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
    return type(exc) is sqlite3.DatabaseError


@dataclass(frozen=True)
class Opened:
    """What :func:`open_history` did: ``problem`` is "" (all well), "corrupt" (the file was
    moved to ``moved_to`` and a new one started) or "unavailable" (kept in memory instead),
    with the error type in ``error``."""

    history: History
    problem: str = ""
    moved_to: Path | None = None
    error: str = ""


def open_history(
    path: Path, *, timeout: float = BUSY_TIMEOUT_S, open_timeout: float = OPEN_TIMEOUT_S
) -> Opened:
    """Open the history; a damaged file is moved aside (``<name>.corrupt-<time>``) and replaced
    by a fresh one; a file that cannot be opened at all leaves a history in memory (the
    controller tries the file again later). A lock held by another connection is waited for
    up to ``open_timeout`` seconds."""
    try:
        return Opened(History(path, timeout=timeout, open_timeout=open_timeout))
    except sqlite3.Error as exc:
        error = type(exc).__name__
        if not is_corrupt(exc):
            return Opened(History(":memory:"), "unavailable", error=error)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.replace(aside)
        for suffix in ("-journal", "-wal", "-shm"):  # they belong to the damaged file
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.replace(aside.with_name(aside.name + suffix))
        return Opened(History(path, timeout=timeout), "corrupt", aside, error)
    except (OSError, sqlite3.Error) as exc:
        return Opened(History(":memory:"), "unavailable", error=type(exc).__name__)
