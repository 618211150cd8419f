"""User settings: which SPICE backend, its timeout, how many workers.

Read from (first found): the file named by ``$COSIM_CONFIG``, ``./cosim.toml``,
``~/.config/cosim/config.toml``.  Command-line flags override the file.  Example::

    [spice]
    backend = "pyspice"      # or "subprocess"
    timeout = 1800           # seconds per ngspice run

    [run]
    jobs = 2                 # joblib workers
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ConfigError


@dataclass(frozen=True)
class SpiceSettings:
    """How to run ngspice: backend name (see :data:`cosim.spice.BACKENDS`) and timeout per run (s)."""

    backend: str = "subprocess"
    timeout: float = 3600.0


@dataclass(frozen=True)
class Settings:
    spice: SpiceSettings = SpiceSettings()
    jobs: int = 1
    source: str = "defaults"

    def with_overrides(self, *, backend: str | None = None, timeout: float | None = None,
                       jobs: int | None = None) -> "Settings":
        s = self
        if backend is not None:
            s = replace(s, spice=replace(s.spice, backend=backend))
        if timeout is not None:
            if timeout <= 0:
                raise ConfigError(f"timeout must be > 0 s, got {timeout}")
            s = replace(s, spice=replace(s.spice, timeout=float(timeout)))
        if jobs is not None:
            if jobs == 0 or jobs < -1:
                raise ConfigError(f"jobs must be a positive number of workers or -1 (all cores), got {jobs}")
            s = replace(s, jobs=jobs)
        from .spice import BACKENDS
        from .errors import UnknownNameError

        if s.spice.backend not in BACKENDS:
            raise UnknownNameError("SPICE backend", s.spice.backend, BACKENDS)
        return s


def _candidates() -> list[Path]:
    env = os.environ.get("COSIM_CONFIG")
    if env:
        return [Path(env)]
    return [Path("cosim.toml"), Path.home() / ".config" / "cosim" / "config.toml"]


def load_settings() -> Settings:
    for path in _candidates():
        if path.is_file():
            try:
                d = tomllib.loads(path.read_text())
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
            sp = d.get("spice", {})
            s = Settings(SpiceSettings(str(sp.get("backend", "subprocess")), float(sp.get("timeout", 3600.0))),
                         int(d.get("run", {}).get("jobs", 1)), str(path))
            return s.with_overrides()
        if os.environ.get("COSIM_CONFIG"):
            raise ConfigError(f"config file {path} (from $COSIM_CONFIG) not found")
    return Settings()
