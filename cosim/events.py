"""Fault events of a run (relaxed SPICE retries, failed points), collected per work item and summarised
in the table's provenance.

A worker records into its own process-local list; :func:`cosim.parallel.run_parallel` takes each item's
events back with its result, so the main process sees every event whatever ran where.
"""

from __future__ import annotations

_EVENTS: list[tuple[str, str]] = []
#: Every event of the current run, gathered in the main process by run_parallel.
collected: list[tuple[str, str]] = []


def record(kind: str, detail: str) -> None:
    """Note one event (``kind``: "relaxed" or "failed")."""
    _EVENTS.append((kind, detail))


def pending() -> list[tuple[str, str]]:
    """The events recorded since the last drain (kept: the caller only looks)."""
    return list(_EVENTS)


def drain() -> list[tuple[str, str]]:
    """The events recorded since the last drain (and forget them)."""
    out = list(_EVENTS)
    _EVENTS.clear()
    return out


def summary(events: list[tuple[str, str]]) -> dict:
    """Counts per kind and the first few details, for a table's attributes."""
    out: dict = {}
    for kind, detail in events:
        d = out.setdefault(kind, {"count": 0, "examples": []})
        d["count"] += 1
        if len(d["examples"]) < 5:
            d["examples"].append(detail)
    return out
