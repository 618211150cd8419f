"""Crash-safe progress of long sweeps: a journal of finished work items, and an exclusive lock per table.

A calibration writes its table atomically at the end (:func:`cosim.store.write_table`); until then its
finished points live in a SQLite journal next to the table (``PATH.journal``), one committed row per
point, so an interrupted run (Ctrl-C, ``kill -9``, a lost machine) loses only the points in flight.
``--resume`` reads the journal back and runs only what is missing.  HDF5 is not crash-safe for
incremental writes; SQLite commits are.

A point is keyed by the SHA-256 of its pickled work item (the function and all its arguments: the
sweep spec, the corner, the seed-derived inputs), so a journal from a different spec or code path
simply does not match — it is never reused for other work.

The lock (``PATH.lock``, ``fcntl.flock``) is held for the whole run, released by the kernel when the
process ends however it ends; a second run writing the same table gets a :class:`LockedError`.  A run
that fails before finishing any point leaves no journal behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

from .errors import CosimError


class LockedError(CosimError):
    """Another run holds the table's lock."""


class JournalError(CosimError):
    """The journal cannot be used (exists without --resume, corrupt, unwritable)."""


def item_key(fn, args: tuple) -> str:
    """The identity of a work item: SHA-256 of the pickled (function, arguments)."""
    return hashlib.sha256(pickle.dumps((fn, args), protocol=4)).hexdigest()


class Journal:
    """Finished points of one run, one committed SQLite row each."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("CREATE TABLE IF NOT EXISTS points (key TEXT PRIMARY KEY, status TEXT NOT NULL, "
                            "result BLOB, info TEXT, t REAL)")
            self.db.execute("SELECT count(*) FROM points").fetchone()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"journal {self.path}: {exc} (delete it to start over)") from None
        self.reused = 0

    def __len__(self) -> int:
        """Finished points (a failed point's row records its reason; it is run again on --resume)."""
        return int(self.db.execute("SELECT count(*) FROM points WHERE status = 'ok'").fetchone()[0])

    def get(self, key: str) -> tuple[bool, Any, list]:
        """(found, result, the fault events recorded with it) of a finished point."""
        row = self.db.execute("SELECT status, result, info FROM points WHERE key = ?", (key,)).fetchone()
        if row is None or row[0] != "ok":
            return False, None, []
        try:
            events = [tuple(e) for e in json.loads(row[2])] if row[2] else []
            return True, pickle.loads(row[1]), events
        except Exception:  # a row that does not unpickle (a changed class): run the point again
            return False, None, []

    def put(self, key: str, result: Any, *, status: str = "ok", info: str = "", events=()) -> None:
        """Commit one point: its result (status "ok") with its fault events, or a failure and its reason."""
        blob = pickle.dumps(result, protocol=4) if status == "ok" else None
        info = json.dumps([list(e) for e in events]) if status == "ok" else info
        self.db.execute("INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?)", (key, status, blob, info, time.time()))

    def close(self) -> None:
        self.db.close()


_ACTIVE: list[Journal] = []


def active() -> Journal | None:
    """The journal of the run in progress (:func:`journaled`), if any."""
    return _ACTIVE[-1] if _ACTIVE else None


def journal_path(out: str | os.PathLike) -> Path:
    return Path(str(out) + ".journal")


def lock_path(out: str | os.PathLike) -> Path:
    return Path(str(out) + ".lock")


@contextlib.contextmanager
def table_lock(out: str | os.PathLike) -> Iterator[None]:
    """Exclusive lock on writing the table ``out`` for the duration of the block."""
    import fcntl

    p = lock_path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            raise LockedError(f"{out} is being written by {holder} (lock {p}); wait for it or stop it") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}".encode())
        try:
            yield
        finally:
            # removed while still held, so directories do not fill with lock files; a run that opened it
            # in the instant before could then lock the unlinked file beside a newcomer — both would still
            # replace the table atomically, so the worst case is the later table winning, never a torn one
            p.unlink(missing_ok=True)
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def journaled(out: str | os.PathLike, *, resume: bool) -> Iterator[Journal]:
    """Lock the table ``out`` and journal the run's points.  Without ``resume`` an existing journal (an
    interrupted run's) is an error rather than silently discarded; the journal is removed only after the
    block completes (the caller writes the table inside it)."""
    with table_lock(out):
        jp = journal_path(out)
        if jp.exists() and not resume:
            raise JournalError(f"{jp} holds the points of an interrupted run: add --resume to continue it, "
                               "or delete it to start over")
        j = Journal(jp)
        _ACTIVE.append(j)
        try:
            yield j
        except BaseException:
            if len(j) == 0:  # nothing finished: no journal to resume from, nothing left behind
                j.close()
                jp.unlink(missing_ok=True)
            raise
        finally:
            _ACTIVE.pop()
            j.close()
        jp.unlink(missing_ok=True)


@contextlib.contextmanager
def reusing(path: str | os.PathLike) -> Iterator[Journal]:
    """Journal a run's points in ``path`` and reuse the ones it already holds — for runs that write no
    table (a validation): the journal is kept afterwards, so an interrupted or repeated run with the same
    path only runs what is missing.  Points are keyed by their whole work item, so a changed spec, table
    or code path runs afresh.  Locked like a table against a second run on the same path."""
    p = Path(path)
    with table_lock(p):
        j = Journal(p)
        _ACTIVE.append(j)
        try:
            yield j
        finally:
            _ACTIVE.pop()
            j.close()

