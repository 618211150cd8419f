"""The check record every ``cosim validate KIND`` writes with ``--json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    """One validation check: ``value`` compared with ``target`` (passed when value <= target)."""

    name: str
    value: float
    target: float
    passed: bool

    @classmethod
    def at_most(cls, name: str, value: float, target: float) -> "Check":
        return cls(name, float(value), float(target), bool(value <= target))


def write_checks(checks: list[Check], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(c) for c in checks], indent=2) + "\n")
