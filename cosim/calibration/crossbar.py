"""Crossbar calibration: SPICE characterises the cells, physics composes the array, SPICE checks it.

Work items (run in parallel with joblib, one ngspice run each):

* ``memristor`` — DC sweep of one memristor: the unit I–V table ``i_unit(v)`` (I at G = 1 S).
* ``fet`` — 2-D DC sweep of the access transistor: ``I_d(v_ds, v_s)`` at the word-line voltage.
* ``array`` — full-array SPICE of random arrays (``inputs`` vectors per ngspice run, one matrix
  reorder), compared with the behavioral model built on the two tables above.
* ``energy`` — transient read of a random array: energy inside the boundary and settling time.

Energy boundary: the energy delivered by the ideal row-driver sources over one read period —
ohmic loss in the cells (and access transistors) and in the row and column wires, and the charge
drawn into wire and device capacitances. Outside it: the drivers' own circuits, the virtual-ground
(TIA) amplifiers, ADCs, and the word-line (gate) supply, whose only draw is the access transistors'
gate tunnelling current (the PTM card models it); the transients report that energy separately.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import (CalibrationError, ConfigError, ConvergenceError, ModelRangeError, SimulationError,
                      UnknownNameError)
from ..models.crossbar_model import (_GL_W, CrossbarModel, energy_model, error_metrics, full_scale_current,
                                     ramp_power)
from ..netlist import (KINDS, CrossbarParams, Inputs, Op, Tran, render_cell_fet, render_cell_memristor,
                       render_crossbar, template_sources)
from ..parallel import Failed, item_rng, run_parallel
from ..config import SpiceSettings
from . import read_sweep_spec, stamp_sources
from ..spice import get_backend
from ..store import Table

log = logging.getLogger(__name__)

SPEC_NAME = "crossbar.toml"


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class CrossbarSpec:
    """The parsed sweep spec (``circuits/crossbar.toml``)."""

    text: str
    seed: int
    params: CrossbarParams
    memristor_v: tuple[float, float, float]
    fet_vds: tuple[float, float, float]
    fet_vs: tuple[float, float, float]
    kinds: tuple[str, ...]
    sizes: tuple[int, ...]
    r_wire: tuple[float, ...]
    g_min: float
    g_max: float
    arrays: int
    inputs: int
    energy_kinds: tuple[str, ...]
    energy_sizes: tuple[int, ...]
    t_read: float
    t_rise: float
    t_sim: float
    settle_tol: float

    def params_for(self, kind: str, r: float | None = None) -> CrossbarParams:
        p = self.params.replace(kind=kind)
        return p if r is None else p.replace(r_row=r, r_col=r)


def load_spec(path: str | Path | None = None, *, quick: bool = False) -> CrossbarSpec:
    """Read and check a crossbar sweep spec; ``quick`` applies its ``[quick]`` overrides."""
    path, text, d = read_sweep_spec(path, SPEC_NAME)
    try:
        sweep, cell, energy = d["sweep"], d["cell"], d["energy"]
        q = d.get("quick", {}) if quick else {}
        params = CrossbarParams.from_dict(d.get("params", {}))
        spec = CrossbarSpec(
            text=text, seed=int(d["seed"]), params=params,
            memristor_v=tuple(map(float, cell["memristor_v"])),
            fet_vds=tuple(map(float, cell["fet_vds"])), fet_vs=tuple(map(float, cell["fet_vs"])),
            kinds=tuple(sweep["kinds"]), sizes=tuple(int(n) for n in q.get("sizes", sweep["sizes"])),
            r_wire=tuple(float(r) for r in q.get("r_wire", sweep["r_wire"])),
            g_min=float(sweep["g_min"]), g_max=float(sweep["g_max"]),
            arrays=int(q.get("arrays", sweep["arrays"])), inputs=int(q.get("inputs", sweep["inputs"])),
            energy_kinds=tuple(energy["kinds"]),
            energy_sizes=tuple(int(n) for n in q.get("energy_sizes", energy["sizes"])),
            t_read=float(energy["t_read"]), t_rise=float(energy["t_rise"]), t_sim=float(energy["t_sim"]),
            settle_tol=float(energy["settle_tol"]),
        )
    except KeyError as exc:
        raise ConfigError(f"sweep spec {path} lacks {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"sweep spec {path}: bad value ({exc})") from None
    for name in ("memristor_v", "fet_vds", "fet_vs"):
        grid = getattr(spec, name)
        if len(grid) != 3 or not (grid[0] < grid[1] and grid[2] > 0):
            raise ConfigError(f"sweep spec {path}: [cell] {name} must be [start, stop, step] with start < stop, step > 0")
    if any(not (r >= 0) for r in spec.r_wire):
        raise ConfigError(f"sweep spec {path}: r_wire values must be >= 0 ohm")
    if not (0 < spec.t_rise < spec.t_sim < spec.t_read):
        raise ConfigError(f"sweep spec {path}: need 0 < t_rise < t_sim < t_read")
    for k in spec.kinds + spec.energy_kinds:
        if k not in KINDS:
            raise UnknownNameError("crossbar kind", k, KINDS)
    if not (0 < spec.g_min < spec.g_max):
        raise ConfigError("need 0 < g_min < g_max")
    if any(n < 2 or n > 256 for n in spec.sizes + spec.energy_sizes):
        raise ConfigError("array sizes must lie in 2..256")
    if spec.inputs < 2 or spec.arrays < 1:
        raise ConfigError("need inputs >= 2 and arrays >= 1")
    if spec.memristor_v[0] > 0 or spec.memristor_v[1] < params.v_read:
        raise ConfigError("memristor_v must span 0 .. v_read")
    return spec


# --------------------------------------------------------------------------- work items


def random_case(rng: np.random.Generator, n: int, g_min: float, g_max: float, v_read: float, k: int):
    """One random array (``G`` uniform in [g_min, g_max]) and ``k`` input vectors uniform in [0, v_read]."""
    G = rng.uniform(g_min, g_max, size=(n, n))
    V = rng.uniform(0.0, v_read, size=(k, n))
    return G, V


def column_currents(res, n_cols: int, n_points: int | None = None) -> np.ndarray:
    """Stack ``i(vsense<j>)`` into ``I[points, cols]`` (A, positive into the virtual ground).

    With ``n_points``, a result with another number of points (a sweep cut short) is an error."""
    I = np.stack([np.atleast_1d(res[f"i(vsense{j})"]) for j in range(n_cols)], axis=-1)
    if n_points is not None and I.shape[0] != n_points:
        raise SimulationError(f"ngspice returned {I.shape[0]} points, expected {n_points}", log=res.log)
    if not np.all(np.isfinite(I)):
        raise SimulationError("ngspice returned non-finite column currents", log=res.log)
    return I


def spice_array(p: CrossbarParams, G, V, spice: SpiceSettings) -> tuple[np.ndarray, float]:
    """Column currents of the full array in ngspice for every input vector in ``V[k, rows]``."""
    V = np.atleast_2d(V)
    analysis = Op(V[0]) if V.shape[0] == 1 else Inputs(V)
    res = get_backend(spice.backend).run(render_crossbar(p, G, analysis), timeout=spice.timeout)
    return column_currents(res, G.shape[1], V.shape[0]), res.elapsed_s


def _item_memristor(spec: CrossbarSpec, spice: SpiceSettings) -> dict:
    p = spec.params_for("passive_sinh")
    g = 1e-4  # any G: the table is divided by it
    lo, hi, step = spec.memristor_v
    res = get_backend(spice.backend).run(render_cell_memristor(p, g, lo, hi, step), timeout=spice.timeout)
    return {"v": res["v(v-sweep)"], "i_unit": -res["i(vcell)"] / g}


def _item_fet(spec: CrossbarSpec, spice: SpiceSettings) -> dict:
    p = spec.params_for("1t1r")
    res = get_backend(spice.backend).run(render_cell_fet(p, spec.fet_vds, spec.fet_vs), timeout=spice.timeout)
    sweep = res["v(v-sweep)"]  # inner sweep (v_ds), repeated for every outer value (v_s)
    n_vds = int(np.argmax(np.diff(sweep) < 0)) + 1
    n_vs = len(sweep) // n_vds
    if n_vs * n_vds != len(sweep):
        raise CalibrationError(f"unexpected 2-D sweep shape from ngspice ({len(sweep)} points)")
    vds = sweep[:n_vds]
    vs = spec.fet_vs[0] + spec.fet_vs[2] * np.arange(n_vs)
    ids = -res["i(vds)"].reshape(n_vs, n_vds)
    return {"vds": vds, "vs": vs, "ids": ids}


def _item_array(spec: CrossbarSpec, kind: str, n: int, r: float, a: int, spice: SpiceSettings, seed: int) -> dict:
    rng = item_rng(seed, "array", kind, n, r, a)
    G, V = random_case(rng, n, spec.g_min, spec.g_max, spec.params.v_read, spec.inputs)
    I, t = spice_array(spec.params_for(kind, r), G, V, spice)
    return {"kind": kind, "n": n, "r": r, "G": G, "V": V, "I_spice": I, "spice_s": t}


def transient_read(p: CrossbarParams, G, V, *, t_read: float, t_rise: float, t_sim: float, settle_tol: float,
                   g_max: float, spice: SpiceSettings) -> dict:
    """ngspice transient of one read: inputs step 0 → ``V`` with edge ``t_rise`` at ``t_delay = t_rise``.

    Returns the read energy inside the boundary over ``t_read`` from the edge (the simulated window
    ``t_sim`` integrated, then the final power held for the rest of the period — the array has
    settled by then, which ``t_settle`` shows), the final driver power, the gate energy over the
    period (1T1R; outside the boundary), the settling time (every column within
    ``settle_tol`` of full scale of its final value; ``inf`` if not settled in the window) and the
    final column currents.
    """
    if t_sim >= t_read + t_rise:
        raise ConfigError(f"t_sim ({t_sim:g} s) must end before the read period does ({t_read + t_rise:g} s)")
    n = G.shape[0]
    # t_max = t_rise/40: the trapezoid sum of the driver power over the edge is then good to 1e-4 of
    # the edge energy, well below the capacitive part it is compared with
    tr = Tran(v=V, t_stop=t_sim, t_rise=t_rise, t_delay=t_rise, t_step=t_rise / 40, t_max=t_rise / 40)
    res = get_backend(spice.backend).run(render_crossbar(p, G, tr), timeout=spice.timeout)
    t = res["time"]
    vin = np.stack([res[f"v(in{i})"] for i in range(n)], -1)
    iin = np.stack([-res[f"i(vin{i})"] for i in range(n)], -1)
    P = np.sum(vin * iin, axis=-1)
    Icol = column_currents(res, G.shape[1])
    dev = np.max(np.abs(Icol - Icol[-1]), axis=-1)
    unsettled = np.nonzero(dev > settle_tol * full_scale_current(n, g_max, p.v_read))[0]
    if len(unsettled) == 0:
        t_settle = 0.0
    elif unsettled[-1] + 1 >= len(t):
        t_settle = math.inf
    else:
        t_settle = float(t[unsettled[-1] + 1] - tr.t_delay)
    mask = t >= tr.t_delay
    e_read = float(np.trapezoid(P[mask], t[mask])) + P[-1] * (tr.t_delay + t_read - t[-1])
    e_gate = float(p.v_gate * -res["i(vgate)"][-1] * t_read) if p.access == "1t1r" else 0.0
    return {"E_spice": e_read, "P_end": float(P[-1]), "E_gate": e_gate, "t_settle": t_settle, "I_end": Icol[-1]}


def _item_energy(spec: CrossbarSpec, kind: str, n: int, spice: SpiceSettings, seed: int) -> dict:
    G, V = random_case(item_rng(seed, "energy", kind, n), n, spec.g_min, spec.g_max, spec.params.v_read, 1)
    out = transient_read(spec.params_for(kind), G, V[0], t_read=spec.t_read, t_rise=spec.t_rise, t_sim=spec.t_sim,
                         settle_tol=spec.settle_tol, g_max=spec.g_max, spice=spice)
    return {"kind": kind, "n": n, "G": G, "V": V[0], **out}


def dynamic_energy_spice(model: CrossbarModel, r: dict, p: CrossbarParams, t_read: float, t_rise: float) -> float:
    """The capacitive part of a SPICE read energy: total minus the quasi-static part, the latter from
    SPICE's own final power and the model's ramp shape ``∫P(sV)ds / P(V)``."""
    s, P, _ = ramp_power(model, r["G"], r["V"], p)
    kappa = float(np.dot(_GL_W, P[:-1]) / P[-1])
    return r["E_spice"] - r["P_end"] * ((t_read - t_rise) + kappa * t_rise)


# --------------------------------------------------------------------------- driver


def calibrate(spec: CrossbarSpec, *, spice: SpiceSettings = SpiceSettings(), n_jobs: int = 1, progress=None,
              adc_bits: int = 8, spec_path: Path | None = None) -> Table:
    """Run the whole calibration and return the table (not yet written)."""
    t0 = time.perf_counter()
    seed = spec.seed
    items: list[tuple] = [(_item_memristor, (spec, spice)), (_item_fet, (spec, spice))]
    for kind in spec.kinds:
        for n in spec.sizes:
            for r in spec.r_wire:
                for a in range(spec.arrays):
                    items.append((_item_array, (spec, kind, n, r, a, spice, seed)))
    for kind in spec.energy_kinds:
        for n in spec.energy_sizes:
            items.append((_item_energy, (spec, kind, n, spice, seed)))
    # biggest first so the pool is not left waiting on one long item at the end
    order = sorted(range(len(items)), key=lambda i: -_cost(items[i]))
    results = run_parallel(_call, [(items[i],) for i in order], n_jobs=n_jobs,
                           progress=progress(len(items)) if progress else None, failures="record")
    out = [None] * len(items)
    for i, r in zip(order, results):
        out[i] = r
    # a device characterisation that failed leaves no model to build; a failed array or energy point is
    # left out, listed in failed_points (and its reason in the table's faults), and the sweep goes on
    for what, r in zip(("memristor", "fet"), out[:2]):
        if isinstance(r, Failed):
            raise CalibrationError(f"crossbar calibration: the {what} characterisation failed: {r.reason}")
    lost, lost_arrays = [], []
    for (fn, args), r in zip(items[2:], out[2:]):
        if isinstance(r, Failed):
            if fn is _item_array:
                lost_arrays.append((args[1], args[2], args[3], r.reason))
            what = (f"array {args[1]}/{args[2]}/{args[3]:g}/{args[4]}" if fn is _item_array
                    else f"energy {args[1]}/{args[2]}")
            lost.append(f"{what}: {r.reason}")
            log.warning("crossbar calibration: %s failed (%s); left out", what, r.reason)
    mem, fet, rest = out[0], out[1], [r for r in out[2:] if not isinstance(r, Failed)]

    table = Table(schema="cosim.crossbar", spec=spec.text, seed=seed)
    table.put("memristor/v", mem["v"], "V")
    table.put("memristor/i_unit", mem["i_unit"], "A/S")
    table.put("fet/vds", fet["vds"], "V")
    table.put("fet/vs", fet["vs"], "V")
    table.put("fet/ids", fet["ids"], "A")
    table.attrs.update(
        params=spec.params.to_dict(), kinds=list(spec.kinds), sizes=list(spec.sizes),
        r_wire=list(spec.r_wire), g_min=spec.g_min, g_max=spec.g_max, v_read=spec.params.v_read,
        t_read=spec.t_read, t_rise=spec.t_rise, adc_bits=adc_bits, energy_kinds=list(spec.energy_kinds),
        energy_boundary=__doc__.split("Energy boundary:")[1].strip().replace("\n", " "),
    )
    model = CrossbarModel.from_tables(table)

    # array checks: behavioral model vs full-array SPICE, per point
    worst: dict[tuple, list] = {}  # one row per (kind, n, r): worst error over its arrays, mean SPICE time
    failed: list[str] = []  # points the model refused: recorded, never silently validated
    for r in (r for r in rest if "I_spice" in r):
        p = spec.params_for(r["kind"], r["r"])
        acc = worst.setdefault((r["kind"], r["n"], r["r"]), [0.0, 0.0, 0.0])
        try:
            I_model = model.solve(r["G"], r["V"], p).I
        except (ModelRangeError, ConvergenceError) as exc:
            # keep the run's SPICE work: mark the point failed instead of discarding everything
            failed.append(f"{r['kind']}/{r['n']}/{r['r']:g}: {exc}")
            log.warning("calibration check %s %dx%d r=%g refused by the model: %s", r["kind"], r["n"], r["n"], r["r"], exc)
            acc[0] = acc[1] = math.inf
            continue
        m = error_metrics(I_model, r["I_spice"], full_scale_current(r["n"], spec.g_max, p.v_read), adc_bits)
        acc[0] = max(acc[0], float(m["rel_l2"].max()))
        acc[1] = max(acc[1], float(m["lsb"].max()))
        acc[2] += r["spice_s"] / spec.inputs / spec.arrays
    for kind, n, rw, why in lost_arrays:  # a point with a failed array is not validated: its row says so,
        acc = worst.setdefault((kind, n, rw), [0.0, 0.0, 0.0])  # and the model marks the region unvalidated
        acc[0] = acc[1] = math.inf
        failed.append(f"{kind}/{n}/{rw:g}: SPICE point failed: {why}")
    rows = [(*key, *vals) for key, vals in worst.items()]
    table.attrs["failed_checks"] = sorted(set(failed))
    table.attrs["failed_points"] = lost
    _put_columns(table, "check", rows, [("kind", "1"), ("n", "1"), ("r_wire", "ohm"), ("rel_l2", "1"),
                                        ("err_lsb", "1"), ("spice_s_per_input", "s")])

    # energy: model vs transient, total and capacitive parts (no fitted factors)
    erows = []
    for r in (r for r in rest if "E_spice" in r):
        p = spec.params_for(r["kind"])
        e = energy_model(model, r["G"], r["V"], p, spec.t_read, spec.t_rise)
        erows.append((r["kind"], r["n"], r["E_spice"], e.total, dynamic_energy_spice(model, r, p, spec.t_read, spec.t_rise),
                      e.dynamic, r["E_gate"], r["t_settle"]))
    _put_columns(table, "energy", erows, [("kind", "1"), ("n", "1"), ("E_spice", "J"), ("E_model", "J"),
                                          ("E_dyn_spice", "J"), ("E_dyn_model", "J"), ("E_gate_spice", "J"),
                                          ("t_settle_spice", "s")])
    stamp_sources(table, spice.backend, {f for kind in spec.kinds for f in template_sources(spec.params_for(kind))}, spec_path, SPEC_NAME)
    table.attrs["elapsed_s"] = round(time.perf_counter() - t0, 2)
    table.attrs["backend"] = spice.backend
    log.info("crossbar calibration done in %.1f s", table.attrs["elapsed_s"])
    return table


def _put_columns(table: Table, group: str, rows: list[tuple], columns: list[tuple[str, str]]) -> None:
    """Store a list of row tuples as one dataset per column, ``group/name`` with its units."""
    for k, (name, units) in enumerate(columns):
        if rows:
            table.put(f"{group}/{name}", np.array([r[k] for r in rows]), units)


def _call(item):
    fn, args = item
    return fn(*args)


def _cost(item) -> float:
    fn, args = item
    if fn is _item_array:
        return args[2] ** 2.5 * (3 if args[1] == "1t1r" else 1)
    if fn is _item_energy:
        return 4 * args[2] ** 2.5
    return 1.0
