"""The calibrated behavioral crossbar model: cell laws from the SPICE tables + the fast array solver.

``CrossbarModel.load()`` reads ``calibration/crossbar.h5`` (or any table) and answers, for an
array kind, conductances ``G[rows, cols]`` (S) and inputs ``V[rows]`` or ``V[batch, rows]`` (V):
column currents (A), read energy (J) and read latency (s), each with a validity flag.  Inside the
calibrated range (kinds, sizes, wire resistances, conductances, voltages that the table's full-array
SPICE checks covered) an answer is *validated*; outside it still answers, with ``validated=False``
and the reasons, and every report marks it "unvalidated".  Cell voltages outside the SPICE device
tables are refused (:class:`~cosim.errors.ModelRangeError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .crossbar import check_inputs, column_node_voltage, row_drop, solve_cells
from .device import MemristorIV, TransistorTable, one_t_one_r_law

DEFAULT_TABLE = "crossbar.h5"


def full_scale_current(n_rows: int, g_max: float, v_read: float) -> float:
    """Ideal full-scale column current: every cell at g_max and every input at v_read (A)."""
    return n_rows * g_max * v_read


def error_metrics(I_model, I_ref, full_scale: float, adc_bits: int) -> dict[str, np.ndarray]:
    """Per case: ``rel_l2`` = ‖ΔI‖₂/‖I_ref‖₂ over columns; ``lsb`` = largest column error in LSB of an
    ``adc_bits`` ADC spanning ``full_scale``."""
    I_model, I_ref = np.atleast_2d(I_model), np.atleast_2d(I_ref)
    d = I_model - I_ref
    rel = np.linalg.norm(d, axis=-1) / np.maximum(np.linalg.norm(I_ref, axis=-1), 1e-300)
    lsb = np.max(np.abs(d), axis=-1) / (full_scale / 2**adc_bits)
    return {"rel_l2": rel, "lsb": lsb}


@dataclass
class ReadResult:
    """One read operation: column currents (A), energy inside the boundary (J), latency (s)."""

    I: np.ndarray
    energy_j: float
    latency_s: float
    validated: bool
    reasons: list[str] = field(default_factory=list)


@dataclass
class ModelResult:
    """Column currents ``I`` (A) and whether the answer lies inside the validated range."""

    I: np.ndarray
    validated: bool
    reasons: list[str] = field(default_factory=list)
    cells: np.ndarray | None = None  # cell currents, A


class CrossbarModel:
    """Behavioral crossbar model built on a calibration table (see module docstring)."""

    def __init__(self, memristor: MemristorIV | None, fet: TransistorTable | None, attrs: dict,
                 checks: dict[str, np.ndarray] | None = None, path: Path | None = None,
                 energy: dict[str, np.ndarray] | None = None):
        self.memristor, self.fet, self.attrs = memristor, fet, attrs
        self.checks = checks or {}  # full-array SPICE checks of the calibration sweep (check/*)
        self.energy = energy or {}  # transient read points (energy/*)
        self.path = path

    @classmethod
    def from_tables(cls, table) -> "CrossbarModel":
        mem = MemristorIV(table["memristor/v"], table["memristor/i_unit"])
        fet = TransistorTable(table["fet/vds"], table["fet/vs"], table["fet/ids"])
        group = lambda g: {k.split("/", 1)[1]: v for k, v in table.data.items() if k.startswith(g + "/")}
        attrs = dict(table.attrs, seed=table.seed, created=table.created, ngspice_version=table.ngspice_version)
        return cls(mem, fet, attrs, group("check"), table.path, group("energy"))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "CrossbarModel":
        from ..resources import calibration_dir
        from ..store import read_table

        return cls.from_tables(read_table(path or calibration_dir() / DEFAULT_TABLE, "cosim.crossbar"))

    # ------------------------------------------------------------------ validity

    def validity(self, kind: str, G: np.ndarray, V: np.ndarray, r_row: float, r_col: float) -> list[str]:
        """Reasons why a case lies outside the validated range (empty list: validated)."""
        a = self.attrs
        why = []
        if kind not in a.get("kinds", []):
            why.append(f"kind {kind!r} not calibrated")
        sizes = a.get("sizes", [])
        n = max(G.shape)
        if not sizes or not (min(sizes) <= min(G.shape) and n <= max(sizes)):
            why.append(f"size {G.shape[0]}x{G.shape[1]} outside validated {min(sizes, default=0)}..{max(sizes, default=0)}")
        rw = a.get("r_wire", [])
        for name, r in (("r_row", r_row), ("r_col", r_col)):
            if not rw or not (min(rw) * (1 - 1e-9) <= r <= max(rw) * (1 + 1e-9)):
                why.append(f"{name}={r:g} ohm outside validated {min(rw, default=0):g}..{max(rw, default=0):g}")
        if G.min() < a.get("g_min", np.inf) * (1 - 1e-9) or G.max() > a.get("g_max", 0) * (1 + 1e-9):
            why.append(f"G outside validated {a.get('g_min', 0):g}..{a.get('g_max', 0):g} S")
        if V.min() < 0 or V.max() > a.get("v_read", 0) * (1 + 1e-9):
            why.append(f"inputs outside validated 0..{a.get('v_read', 0):g} V")
        for f in a.get("failed_checks", []):  # "kind/n/r: reason" — a refused calibration point
            fk, fn, fr = f.split(":", 1)[0].split("/")
            if fk == kind and n >= int(fn) and max(r_row, r_col) >= float(fr):
                why.append(f"calibration check failed at {fk} {fn}x{fn} r={fr} ohm")
        return why

    # ------------------------------------------------------------------ solving

    def law(self, kind: str, G: np.ndarray):
        from ..netlist import KINDS
        from ..errors import UnknownNameError

        if kind not in KINDS:
            raise UnknownNameError("crossbar kind", kind, KINDS)
        memristor, access = KINDS[kind]
        if access == "1t1r":
            return one_t_one_r_law(G, self.fet)
        if memristor == "sinh":
            return self.memristor.law(G)
        return None

    def solve(self, G, V, p, *, tol: float = 1e-5) -> ModelResult:
        """Column currents for parameters ``p`` (a :class:`~cosim.netlist.CrossbarParams`)."""
        G, V = check_inputs(G, V, p.r_row, p.r_col)
        cells, _ = solve_cells(G, V, p.r_row, p.r_col, self.law(p.kind, G), tol=tol)
        why = self.validity(p.kind, G, V, p.r_row, p.r_col)
        return ModelResult(cells.sum(axis=-2), not why, why, cells)


def read(model: "CrossbarModel", G, V, p) -> ReadResult:
    """A read operation of one input vector: currents, energy and latency.

    Energy: :func:`energy_model` over the table's read period ``t_read`` with its input edge
    ``t_rise``.  Latency: the read period; the table's transients show the array itself settles
    well within it (``energy/t_settle_spice``), so the period, set by the periphery, is the
    latency.  Validity as for :meth:`CrossbarModel.solve`.
    """
    a = model.attrs
    V = np.asarray(V, dtype=float)
    if V.ndim != 1:
        raise ValueError("read() takes one input vector V[rows]")
    e = energy_model(model, G, V, p, a["t_read"], a["t_rise"])
    why = list(e.reasons)
    if p.kind not in a.get("energy_kinds", []):
        why.append(f"no transient energy check for kind {p.kind!r}")
    return ReadResult(e.I, e.total, float(a["t_read"]), not why, why)


@dataclass
class EnergyEstimate:
    """Read energy inside the boundary (J), split into its static and capacitive parts."""

    total: float
    static: float
    dynamic: float
    I: np.ndarray
    reasons: list[str]


#: Gauss–Legendre nodes/weights on [0, 1] for the quasi-static energy of the input ramp.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(4)
_GL_X, _GL_W = (_GL_X + 1) / 2, _GL_W / 2


def ramp_power(model: CrossbarModel, G, V, p) -> tuple[np.ndarray, np.ndarray, ModelResult]:
    """Static power drawn from the drivers at input fractions s = Gauss nodes and s = 1 (W)."""
    s = np.append(_GL_X, 1.0)
    res = model.solve(G, s[:, None] * V[None, :], p)
    P = np.einsum("kr,kr->k", s[:, None] * V[None, :], res.cells.sum(axis=-1))
    return s, P, res


def energy_model(model: CrossbarModel, G, V, p, t_read: float, t_rise: float) -> EnergyEstimate:
    """Read energy of one input vector over a period ``t_read`` starting with a linear input edge ``t_rise``.

    Static part: the drivers' quasi-static power integrated over the period — over the edge,
    ``t_rise·∫₀¹ P(s·V) ds`` (Gauss–Legendre on the behavioral solution, exact for nonlinear cells
    too), then ``P(V)·(t_read − t_rise)``.
    Capacitive part: with the edge much slower than the wires' RC (checked: ``t_rise`` ≥ 10× the
    Elmore delay, else flagged), the drivers charge every wire node adiabatically and deliver
    the energy it stores, ``½·Σ C·v_node²`` (Tellegen; the extra resistive loss is of order RC/t_rise).
    Device capacitances (the 1T1R transistor's) are not in the model: the transients show their size.
    """
    V = np.asarray(V, dtype=float)
    s, P, res = ramp_power(model, G, V, p)
    e_static = t_rise * float(np.dot(_GL_W, P[:-1])) + P[-1] * (t_read - t_rise)
    cells = res.cells[-1]
    v_row = V[:, None] - row_drop(cells, p.r_row)
    v_col = column_node_voltage(cells, p.r_col)
    e_dyn = 0.5 * (p.c_row * float(np.sum(v_row**2)) + p.c_col * float(np.sum(v_col**2)))
    why = list(res.reasons)
    n_r, n_c = G.shape
    tau = (p.r_row * p.c_row * n_c * (n_c + 1) + p.r_col * p.c_col * n_r * (n_r + 1)) / 2
    if t_rise < 10 * tau:
        why.append(f"input edge {t_rise:g} s not slow against the wire RC ({tau:g} s): capacitive energy unvalidated")
    return EnergyEstimate(e_static + e_dyn, e_static, e_dyn, res.I[-1], why)
