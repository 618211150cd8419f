"""Where the shipped data directories live.

In a checkout (or an editable install) they sit next to the package: ``<repo>/netlists``.
In a wheel they are carried inside the package as ``cosim/_data/netlists`` (see
pyproject.toml).  Paths are resolved relative to this file, never to the working directory.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the directory holding shipped data ``name`` (netlists, circuits, calibration)."""
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cosim data directory {name!r} not found next to {_PKG}")


def netlists_dir() -> Path:
    return data_dir("netlists")


def circuits_dir() -> Path:
    return data_dir("circuits")


def calibration_dir() -> Path:
    return data_dir("calibration")
