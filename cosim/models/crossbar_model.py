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

from ..errors import CalibrationError
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

    def solve(self, G, V, p, *, tol: float = 1e-6) -> ModelResult:
        """Column currents for parameters ``p`` (a :class:`~cosim.netlist.CrossbarParams`)."""
        G, V = check_inputs(G, V, p.r_row, p.r_col)
        cells, _ = solve_cells(G, V, p.r_row, p.r_col, self.law(p.kind, G), tol=tol)
        why = self.validity(p.kind, G, V, p.r_row, p.r_col)
        return ModelResult(cells.sum(axis=-2), not why, why, cells)


def read(model: "CrossbarModel", G, V, p) -> ReadResult:
    """A read operation of one input vector: currents, energy and latency.

    Energy: :func:`energy_model` with the table's fitted ``c_cell_eff`` for the kind, over the
    table's read period.  Latency: the read period ``t_read``; the table's transients show the
    array itself settles within it (``energy/t_settle_spice``), so the period, set by the
    periphery, is the latency.  Validity as for :meth:`CrossbarModel.solve`.
    """
    a = model.attrs
    c_cell = float(a.get("c_cell_eff", {}).get(p.kind, 0.0))
    V = np.asarray(V, dtype=float)
    if V.ndim != 1:
        raise ValueError("read() takes one input vector V[rows]")
    res = model.solve(G, V, p)
    e, _ = energy_model(model, G, V, p, a["t_read"], a["t_rise"], c_cell=c_cell)
    why = list(res.reasons)
    if p.kind not in a.get("c_cell_eff", {}):
        why.append(f"no transient energy calibration for kind {p.kind!r}")
    return ReadResult(res.I, e, float(a["t_read"]), not why, why)


def energy_model(model: CrossbarModel, G, V, p, t_read: float, t_rise: float,
                 c_cell: float | None = None) -> tuple[float, float]:
    """Read energy inside the boundary (see cosim.calibration.crossbar) for one input vector.

    Returns ``(E_without_cell_capacitance, Q)`` with ``E = E0 + c_cell·Q`` the model:
    ``E0 = P_static·(t_read − 2/3·t_rise) + c_row·Σ_nodes V_row_node²``, the static power drawn
    from the drivers over the period (a linear ramp of ``t_rise`` delivers a third of it) plus the
    charge drawn into the row-wire capacitance; ``Q = Σ_cells V_row_node²`` multiplies the
    effective switched capacitance per cell fitted from SPICE transients (``c_cell_eff``).
    When ``c_cell`` is given, returns ``(E, Q)`` with it included.
    """
    res = model.solve(G, V, p)
    cells = res.cells
    v_row_node = V[:, None] - row_drop(cells, p.r_row)
    p_static = float(np.sum(V * cells.sum(axis=-1)))
    q = float(np.sum(v_row_node**2))
    e0 = p_static * (t_read - 2.0 / 3.0 * t_rise) + p.c_row * q + p.c_col * float(np.sum(column_node_voltage(cells, p.r_col) ** 2))
    if c_cell is None:
        return e0, q
    return e0 + c_cell * q, q
