"""Calibration: sweep circuits in ngspice, fit behavioral models, store tables with provenance."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..errors import ConfigError
from ..resources import circuits_dir


def read_sweep_spec(path: str | Path | None, default_name: str) -> tuple[Path, str, dict]:
    """(path, text, parsed TOML) of a sweep spec — ``circuits/<default_name>`` when ``path`` is None;
    a missing file or bad TOML is a ConfigError naming the file."""
    path = Path(path) if path else circuits_dir() / default_name
    try:
        text = path.read_text()
        return path, text, tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"sweep spec {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sweep spec {path} is not valid TOML: {exc}") from None
