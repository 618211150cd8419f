"""``cosim validate crossbar``: held-out random arrays through ngspice, the behavioral model and
the exact solver; a table, a parity plot and checks.

Held-out: cases are drawn from the table's seed + 1 (calibration used the seed itself), with
the per-item derivation of :mod:`cosim.parallel`, so they never coincide with calibration cases.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..calibration.crossbar import random_case, spice_array
from ..config import SpiceSettings
from ..models.crossbar import solve_exact
from ..models.crossbar_model import CrossbarModel, error_metrics, full_scale_current
from ..netlist import CrossbarParams
from ..parallel import item_rng, run_parallel
from .checks import Check


@dataclass
class PointResult:
    kind: str
    n: int
    r: float
    spice_s: float           # ngspice wall time per input vector (one run of `inputs` vectors)
    model_s: float           # behavioral model time per new array + input
    rel_l2: float            # worst case ‖ΔI‖/‖I‖, behavioral vs SPICE
    lsb: float               # worst column error in ADC LSB, behavioral vs SPICE
    exact_rel: float | None  # worst max|ΔI|/max|I|, exact solver vs SPICE (linear passive only)
    validated: bool
    I_spice: np.ndarray = field(repr=False)
    I_model: np.ndarray = field(repr=False)


def _point(model: CrossbarModel, base: CrossbarParams, kind: str, n: int, r: float, cases: int, inputs: int,
           seed: int, g_min: float, g_max: float, spice: SpiceSettings, adc_bits: int) -> PointResult:
    p = base.replace(kind=kind, r_row=r, r_col=r)
    Is, Im, rels, lsbs, ex, ts, tm, valid = [], [], [], [], [], [], [], True
    for c in range(cases):
        G, V = random_case(item_rng(seed, "validate", kind, n, r, c), n, g_min, g_max, p.v_read, inputs)
        I_sp, t_sp = spice_array(p, G, V, spice)
        t0 = time.perf_counter()
        res = model.solve(G, V[0], p)
        tm.append(time.perf_counter() - t0)
        I_mod = model.solve(G, V, p).I
        valid &= res.validated
        m = error_metrics(I_mod, I_sp, full_scale_current(n, g_max, p.v_read), adc_bits)
        rels.append(m["rel_l2"].max()); lsbs.append(m["lsb"].max()); ts.append(t_sp / inputs)
        if kind == "passive":
            I_ex = solve_exact(G, V, r, r)
            ex.append(float(np.max(np.abs(I_ex - I_sp)) / np.max(np.abs(I_sp))))
        Is.append(I_sp); Im.append(I_mod)
    return PointResult(kind, n, r, float(np.mean(ts)), float(np.median(tm)), float(max(rels)), float(max(lsbs)),
                       max(ex) if ex else None, valid, np.concatenate(Is), np.concatenate(Im))


def validate(model: CrossbarModel, *, kinds, sizes, r_wire, cases: int = 2, inputs: int = 4,
             spice: SpiceSettings = SpiceSettings(), n_jobs: int = 1, adc_bits: int = 8, seed: int | None = None,
             progress=None) -> list[PointResult]:
    a = model.attrs
    base = CrossbarParams.from_dict(a["params"])
    seed = (int(a.get("seed", 0)) + 1 if seed is None else seed)  # held out: never the calibration seed
    items = [(model, base, k, n, r, cases, inputs, seed, a["g_min"], a["g_max"], spice, adc_bits)
             for k in kinds for n in sizes for r in r_wire]
    items.sort(key=lambda it: -it[3])
    return run_parallel(_point, items, n_jobs=n_jobs, progress=progress(len(items)) if progress else None)


def checks_for(results: list[PointResult], max_rel: float = 0.01, exact_rel: float = 1e-9) -> list[Check]:
    out = []
    for r in sorted(results, key=lambda r: (r.kind, r.n, r.r)):
        tag = f"{r.kind}/{r.n}x{r.n}/r={r.r:g}"
        out.append(Check.at_most(f"behavioral_vs_spice_rel_l2/{tag}", r.rel_l2, max_rel))
        if r.exact_rel is not None:
            out.append(Check.at_most(f"exact_vs_spice_rel/{tag}", r.exact_rel, exact_rel))
    return out


def format_table(results: list[PointResult], adc_bits: int) -> str:
    head = (f"{'kind':<13}{'size':>9}{'r_wire':>8}{'spice s/in':>12}{'model ms':>10}"
            f"{'rel err':>11}{f'LSB@{adc_bits}b':>10}{'exact err':>11}  range")
    lines = [head, "-" * len(head)]
    for r in sorted(results, key=lambda r: (r.kind, r.n, r.r)):
        ex = f"{r.exact_rel:.1e}" if r.exact_rel is not None else "-"
        lines.append(f"{r.kind:<13}{f'{r.n}x{r.n}':>9}{r.r:>8g}{r.spice_s:>12.4f}{r.model_s * 1e3:>10.3f}"
                     f"{r.rel_l2:>11.2e}{r.lsb:>10.3f}{ex:>11}  {'validated' if r.validated else 'UNVALIDATED'}")
    return "\n".join(lines)


def format_sweep(model: CrossbarModel) -> str:
    """The table's full-array SPICE checks: every kind, size and wire resistance of its sweep."""
    c = model.checks
    if "rel_l2" not in c:
        return "(the table holds no full-array checks)"
    head = f"{'kind':<13}{'size':>9}{'r_wire':>8}{'worst rel err':>15}{'worst LSB':>11}{'spice s/in':>12}"
    lines = [head, "-" * len(head)]
    order = np.lexsort((c["r_wire"], c["n"], c["kind"]))
    for i in order:
        n = int(c["n"][i])
        lines.append(f"{str(c['kind'][i]):<13}{f'{n}x{n}':>9}{c['r_wire'][i]:>8g}{c['rel_l2'][i]:>15.2e}"
                     f"{c['err_lsb'][i]:>11.4f}{c['spice_s_per_input'][i]:>12.3f}")
    worst = int(np.argmax(c["rel_l2"]))
    lines.append(f"worst point: {c['kind'][worst]} {int(c['n'][worst])}x{int(c['n'][worst])} "
                 f"r_wire {c['r_wire'][worst]:g} ohm, rel err {c['rel_l2'][worst]:.2e}")
    return "\n".join(lines)


def format_energy(model: CrossbarModel) -> str:
    e = model.energy
    if "E_spice" not in e:
        return "(the table holds no transient reads)"
    head = (f"{'kind':<13}{'size':>9}{'E spice pJ':>12}{'E model pJ':>12}{'rel err':>10}"
            f"{'Edyn spice fJ':>15}{'Edyn model fJ':>15}{'E gate fJ':>11}{'settle ps':>11}")
    lines = [head, "-" * len(head)]
    for i in np.lexsort((e["n"], e["kind"])):
        n = int(e["n"][i])
        lines.append(f"{str(e['kind'][i]):<13}{f'{n}x{n}':>9}{e['E_spice'][i] * 1e12:>12.4f}{e['E_model'][i] * 1e12:>12.4f}"
                     f"{e['E_model'][i] / e['E_spice'][i] - 1:>10.1e}{e['E_dyn_spice'][i] * 1e15:>15.3f}"
                     f"{e['E_dyn_model'][i] * 1e15:>15.3f}{e['E_gate_spice'][i] * 1e15:>11.3f}"
                     f"{e['t_settle_spice'][i] * 1e12:>11.1f}")
    return "\n".join(lines)


def write_report(model: CrossbarModel, results: list[PointResult], checks, path: str | Path, adc_bits: int,
                 plot: str | Path | None = None) -> Path:
    """A Markdown validation report: held-out cases, the calibration sweep, read energy, checks."""
    a = model.attrs
    failed = [c for c in checks if not c.passed]
    text = [
        "# Crossbar validation report", "",
        f"Table `{model.path}` (created {a.get('created', '?')}, ngspice {a.get('ngspice_version', '?')}, "
        f"seed {a.get('seed')}); held-out cases drawn with seed {int(a.get('seed', 0)) + 1}.",
        f"Validated range: kinds {', '.join(a.get('kinds', []))}; sizes {min(a['sizes'])}..{max(a['sizes'])}; "
        f"r_wire {min(a['r_wire']):g}..{max(a['r_wire']):g} ohm; G {a['g_min']:g}..{a['g_max']:g} S; "
        f"inputs 0..{a['v_read']:g} V.", "",
        "Error: ‖ΔI‖₂/‖I_SPICE‖₂ over the columns, worst case per point; LSB: largest column error in "
        f"LSB of a {adc_bits}-bit ADC spanning the full-scale column current (N · g_max · v_read).", "",
        "## Held-out cases: behavioral model and exact solver vs ngspice", "", "```", format_table(results, adc_bits), "```", "",
        "## Calibration sweep: full-array SPICE checks stored in the table", "", "```", format_sweep(model), "```", "",
        "## Read energy (boundary: " + str(a.get("energy_boundary", "?")) + f"), period {a.get('t_read', 0) * 1e9:g} ns", "",
        "```", format_energy(model), "```", "",
        f"## Checks: {len(checks) - len(failed)} passed, {len(failed)} failed", "",
    ]
    text += [f"- {'PASS' if c.passed else 'FAIL'} `{c.name}`: {c.value:.3e} (target ≤ {c.target:.1e})" for c in checks]
    if plot:
        text += ["", f"![parity plot]({Path(plot).resolve()})"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text) + "\n")
    return path


def parity_plot(results: list[PointResult], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.8))
    lim = 0.0
    for kind in sorted({r.kind for r in results}):
        sp = np.concatenate([r.I_spice.ravel() for r in results if r.kind == kind]) * 1e3
        md = np.concatenate([r.I_model.ravel() for r in results if r.kind == kind]) * 1e3
        ax.scatter(sp, md, s=6, alpha=0.6, label=kind)
        rel = np.abs(md - sp) / np.max(np.abs(sp))
        ax2.scatter(sp, np.maximum(rel, 1e-16), s=6, alpha=0.6, label=kind)
        lim = max(lim, sp.max(), md.max())
    ax.plot([0, lim], [0, lim], "k--", lw=0.8)
    ax.set_xlabel("ngspice column current (mA)")
    ax.set_ylabel("behavioral model (mA)")
    ax.set_title("Crossbar column currents: model vs SPICE")
    ax.legend()
    ax2.set_yscale("log")
    ax2.set_xlabel("ngspice column current (mA)")
    ax2.set_ylabel("|model − SPICE| / max |SPICE|")
    ax2.set_title("Error per column")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
