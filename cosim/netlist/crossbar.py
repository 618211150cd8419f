"""Crossbar netlists: parameters, analyses and rendering.

Every rendered netlist carries its analysis cards and absolute include paths, so it runs by hand
with ``ngspice -b circuit.cir``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np

from ..errors import ConfigError, NetlistError, UnknownNameError
from ..resources import netlists_dir

#: Array kinds: name -> (memristor law, access device).
KINDS: dict[str, tuple[str, str]] = {
    "passive": ("linear", "none"),
    "passive_sinh": ("sinh", "none"),
    "1t1r": ("linear", "1t1r"),
}


@dataclass(frozen=True)
class CrossbarParams:
    """Electrical parameters of a crossbar netlist (SI units)."""

    kind: str = "passive"
    """Array kind: one of :data:`KINDS` (passive, passive_sinh, 1t1r)."""
    r_row: float = 1.0
    """Row-line resistance per cell segment, ohm (REFERENCE.md §3: 0.73 Ω at 32 nm for a 2F cell)."""
    r_col: float = 1.0
    """Column-line resistance per cell segment, ohm."""
    c_row: float = 22.4e-18
    """Row-line capacitance per segment, F: NeuroSim's 0.2 fF/µm (SubArray.cpp) × a 2F cell, F = 56 nm
    (NeuroSim V1.3 Param.cpp wire width at the 32 nm node)."""
    c_col: float = 22.4e-18
    """Column-line capacitance per segment, F (as c_row)."""
    v_read: float = 0.5
    """Full-scale read voltage, V (NeuroSim V1.3 Param.cpp: 0.5 V); the chord-conductance reference."""
    v0: float = 0.25
    """sinh I–V voltage scale, V: I ∝ sinh(v/v0).  Assumption (no published figure): chosen so the
    chord/small-signal conductance ratio at v_read is sinh(2)/2 ≈ 1.8, a strongly nonlinear cell."""
    v_gate: float = 0.9
    """1T1R word-line (gate) voltage, V: the PTM 32 nm HP card's nominal Vdd."""
    fet_model: str = "ptm32n"
    """Access nMOS model name inside ``fet_lib``."""
    fet_lib: str = "models/ptm32_hp_nmos.lib"
    """Model card file, relative to ``netlists/``."""
    fet_w: float = 320e-9
    """Access transistor width, m (design choice: 10 L)."""
    fet_l: float = 32e-9
    """Access transistor drawn length, m (the card's nominal length)."""
    reltol: float = 1e-7
    """ngspice relative convergence tolerance (tightened from the default 1e-3)."""
    vntol: float = 1e-10
    """ngspice absolute voltage tolerance, V."""
    abstol: float = 1e-15
    """ngspice absolute current tolerance, A."""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise UnknownNameError("crossbar kind", self.kind, KINDS)
        for name in ("r_row", "r_col", "c_row", "c_col"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0, got {v!r}")
        for name in ("v_read", "v0", "v_gate", "fet_w", "fet_l", "reltol", "vntol", "abstol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"{name} must be a finite number > 0, got {v!r}")

    @property
    def memristor(self) -> str:
        return KINDS[self.kind][0]

    @property
    def access(self) -> str:
        return KINDS[self.kind][1]

    def replace(self, **changes) -> "CrossbarParams":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CrossbarParams":
        return params_from_dict(cls, d, "crossbar parameter")


def params_from_dict(cls, d: dict, what: str):
    """``cls(**d)`` for a parameter dataclass; keys it does not have are a ConfigError listing the valid ones."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ConfigError(f"unknown {what}(s) {sorted(unknown)}; valid: {sorted(names)}")
    return cls(**d)


# --------------------------------------------------------------------------- analyses


@dataclass(frozen=True)
class Op:
    """One operating point with row inputs ``v[rows]`` (V)."""

    v: np.ndarray
    kind: Literal["op"] = "op"


@dataclass(frozen=True)
class Inputs:
    """K input vectors ``v[K, rows]`` (V) in one run (a DC sweep of an index source)."""

    v: np.ndarray
    kind: Literal["inputs"] = "inputs"


@dataclass(frozen=True)
class Tran:
    """A transient read: inputs step from 0 to ``v[rows]`` at ``t_delay`` with edge ``t_rise``."""

    v: np.ndarray
    t_stop: float
    t_rise: float = 10e-12
    t_delay: float = 10e-12
    t_step: float = 1e-12
    t_max: float = 20e-12
    kind: Literal["tran"] = "tran"


# --------------------------------------------------------------------------- rendering


def fmt(x) -> str:
    """Full-precision number for a netlist (repr of a float round-trips exactly)."""
    return repr(float(x))


def _pwl(v: np.ndarray, row: int) -> str:
    """Breakpoints ``k, v[k, row]`` of the index-selected input of one row."""
    return ", ".join(f"{k}, {fmt(x)}" for k, x in enumerate(np.asarray(v)[:, row]))


@cache
def _env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(netlists_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.globals.update(fmt=fmt, pwl=_pwl, sinh=math.sinh)
    return env


def _render(template: str, **ctx) -> str:
    import jinja2

    try:
        return _env().get_template(template).render(**ctx)
    except jinja2.TemplateError as exc:
        raise NetlistError(f"cannot render {template}: {exc}") from None


def _fet_ctx(p: CrossbarParams) -> dict:
    lib = netlists_dir() / p.fet_lib
    if not lib.is_file():
        raise NetlistError(f"model card {lib} not found")
    return {"fet_lib": str(lib), "fet_lib_name": p.fet_lib}


def template_sources(p: CrossbarParams) -> list[str]:
    """Files (relative to ``netlists/``) that a crossbar calibration of kind ``p.kind`` depends on."""
    files = ["_crossbar.j2", "cell_memristor.cir.j2"]
    files.append("crossbar_1t1r.cir.j2" if p.access == "1t1r" else "crossbar_passive.cir.j2")
    if p.access == "1t1r":
        files += ["cell_fet.cir.j2", p.fet_lib]
    return files


def render_crossbar(p: CrossbarParams, G, analysis: Op | Inputs | Tran) -> str:
    """Netlist text of a crossbar with conductances ``G[rows, cols]`` (S) under ``analysis``."""
    G = np.asarray(G, dtype=float)
    if G.ndim != 2 or np.any(~np.isfinite(G)) or np.any(G <= 0):
        raise ConfigError("G must be a 2-D array of positive finite conductances")
    v = np.asarray(analysis.v, dtype=float)
    if v.shape[-1] != G.shape[0]:
        raise ConfigError(f"inputs have {v.shape[-1]} rows, G has {G.shape[0]}")
    if isinstance(analysis, Inputs) and v.shape[0] < 2:
        raise ConfigError("an Inputs analysis needs at least 2 input vectors (use Op for one)")
    ctx = dict(p=p, G=G.tolist(), n_rows=G.shape[0], n_cols=G.shape[1], analysis=analysis)
    if p.access == "1t1r":
        return _render("crossbar_1t1r.cir.j2", **ctx, **_fet_ctx(p))
    return _render("crossbar_passive.cir.j2", **ctx)


def render_cell_memristor(p: CrossbarParams, g: float, v_start: float, v_stop: float, v_step: float) -> str:
    return _render("cell_memristor.cir.j2", p=p, g=g, v_start=v_start, v_stop=v_stop, v_step=v_step)


def render_cell_fet(p: CrossbarParams, vds: tuple[float, float, float], vs: tuple[float, float, float]) -> str:
    return _render("cell_fet.cir.j2", p=p, vds_start=vds[0], vds_stop=vds[1], vds_step=vds[2],
                   vs_start=vs[0], vs_stop=vs[1], vs_step=vs[2], **_fet_ctx(p))
