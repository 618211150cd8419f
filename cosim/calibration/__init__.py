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


def read_corners(sweep: dict, quick: dict, path: Path):
    """The ``[sweep]`` corners (temperature / supply corners), narrowed to ``[quick] corners`` when
    given; a quick corner not in the sweep is a ConfigError."""
    from ..netlist.adc import Corner

    corners = tuple(Corner(str(c["name"]), float(c["temp_c"]), float(c.get("vdd_scale", 1.0)))
                    for c in sweep["corners"])
    if "corners" in quick:
        by = {c.name: c for c in corners}
        unknown = [n for n in quick["corners"] if n not in by]
        if unknown:
            raise ConfigError(f"sweep spec {path}: [quick] corners {unknown} not in [sweep] corners")
        corners = tuple(by[n] for n in quick["corners"])
    return corners


def per_bits(value, bits: tuple[int, ...], what: str, cast=float) -> dict:
    """A spec value for every resolution: one value for all, or a table {bits: value} that names each
    of ``bits`` (a missing one is a ValueError, which the spec readers report as a bad value)."""
    if isinstance(value, dict):
        out = {int(k): cast(v) for k, v in value.items()}
        missing = [b for b in bits if b not in out]
        if missing:
            raise ValueError(f"{what} names no value for {missing} bits")
        return out
    return {b: cast(value) for b in bits}


def stamp_sources(table, backend: str, templates, spec_path: str | Path | None, spec_name: str) -> None:
    """Provenance: the ngspice version, the SHA-256 of every template / model card (paths under
    netlists/) and of the sweep spec (project-relative, or absolute for a spec outside the project)."""
    from ..resources import netlists_dir
    from ..spice import get_backend
    from ..store import sha256_file

    table.ngspice_version = get_backend(backend).version()
    table.sources = {f"netlists/{f}": sha256_file(netlists_dir() / f) for f in templates}
    spec_file = Path(spec_path) if spec_path else circuits_dir() / spec_name
    try:
        table.sources[str(spec_file.resolve().relative_to(circuits_dir().parent))] = sha256_file(spec_file)
    except ValueError:  # a spec outside the project: recorded by absolute path
        table.sources[str(spec_file.resolve())] = sha256_file(spec_file)
