"""Crossbar benchmark: ngspice vs the behavioral model vs the exact solver, measured in one run.

    .venv/bin/python benchmarks/crossbar.py                 # sizes 16 32 64 128, all kinds (~10 min)
    .venv/bin/python benchmarks/crossbar.py --sizes 16 32 64 --kinds passive

For every size and array kind it measures, on the same random case (G uniform 1–100 µS, inputs
uniform 0–v_read, 1 Ω row and column segments unless --r-wire):

* ngspice: wall time of one operating point (a new array and input: render + run + read back),
  and the per-input time when K inputs share one run (DC sweep of an index source, one reorder);
* behavioral model (calibrated table): time for a new array + input, and its error vs ngspice
  (‖ΔI‖₂/‖I‖₂ over the columns); the exact sparse solver for linear passive arrays likewise;
* throughput of many inputs through one fixed array (column-current vectors per second):
  the exact transfer matrix for linear arrays, the batched behavioral solver for nonlinear ones;
* ratios ngspice / model, and how ngspice's time grows with N (fitted exponent).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosim.calibration.crossbar import random_case, spice_array  # noqa: E402
from cosim.config import SpiceSettings  # noqa: E402
from cosim.models.crossbar import FixedLinearArray, solve_cells, solve_exact  # noqa: E402
from cosim.models.crossbar_model import CrossbarModel  # noqa: E402
from cosim.netlist import CrossbarParams  # noqa: E402
from cosim.parallel import item_rng  # noqa: E402


def timeit(fn, min_time=0.2, min_reps=5):
    """Median wall time of fn() over enough repetitions."""
    times = []
    t_end = time.perf_counter() + min_time
    while len(times) < min_reps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) > 2000:
            break
    return statistics.median(times)


def rel_err(a, b):
    return float(np.max(np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64, 128])
    ap.add_argument("--kinds", nargs="+", default=["passive", "passive_sinh", "1t1r"])
    ap.add_argument("--r-wire", type=float, default=1.0)
    ap.add_argument("--inputs", type=int, default=8, help="inputs per amortised ngspice run")
    ap.add_argument("--batch", type=int, default=20000, help="inputs for the fixed-array throughput")
    ap.add_argument("--table", help="calibration table (default: shipped)")
    ap.add_argument("--backend", default="subprocess")
    args = ap.parse_args()

    model = CrossbarModel.load(args.table)
    base = CrossbarParams.from_dict(model.attrs["params"])
    spice = SpiceSettings(args.backend, 7200)
    rows = []
    print(f"cosim crossbar benchmark — r_wire {args.r_wire} Ω, backend {args.backend}, table {model.path}")
    hdr = (f"{'kind':<13}{'N':>5}{'spice op s':>12}{'spice s/in':>12}{'model ms':>10}{'model err':>11}"
           f"{'exact ms':>10}{'exact err':>11}{'op/model':>11}{'fixed vec/s':>14}  range")
    print(hdr + "\n" + "-" * len(hdr), flush=True)
    for kind in args.kinds:
        p = base.replace(kind=kind, r_row=args.r_wire, r_col=args.r_wire)
        for n in args.sizes:
            G, V = random_case(item_rng(99, "bench", kind, n), n, 1e-6, 100e-6, p.v_read, args.inputs)
            t0 = time.perf_counter()
            I_op, _ = spice_array(p, G, V[:1], spice)
            t_op = time.perf_counter() - t0
            t0 = time.perf_counter()
            I_sw, _ = spice_array(p, G, V, spice)
            t_sw = (time.perf_counter() - t0) / args.inputs
            res = model.solve(G, V[0], p)
            err = rel_err(res.I[None], I_op)
            t_model = timeit(lambda: model.solve(G, V[0], p))
            t_ex = err_ex = None
            if kind == "passive":
                t_ex = timeit(lambda: solve_exact(G, V[0], p.r_row, p.r_col), min_reps=3)
                err_ex = rel_err(solve_exact(G, V[0], p.r_row, p.r_col)[None], I_op)
                fixed = FixedLinearArray(G, p.r_row, p.r_col)
                Vb = np.random.default_rng(0).uniform(0, p.v_read, (args.batch, n))
                t_fix = timeit(lambda: fixed(Vb), min_reps=3)
                vps = args.batch / t_fix
                assert rel_err(fixed(V), I_sw) < 1e-9
            else:
                law = model.law(kind, G)
                nb = max(16, min(512, 200000 // (n * n)))
                Vb = np.random.default_rng(0).uniform(0, p.v_read, (nb, n))
                t_fix = timeit(lambda: solve_cells(G, Vb, p.r_row, p.r_col, law), min_reps=2)
                vps = nb / t_fix
            ratio = t_op / t_model
            rows.append((kind, n, t_op, t_sw, t_model, err, ratio))
            ex = f"{t_ex * 1e3:>10.3f}{err_ex:>11.1e}" if t_ex is not None else f"{'-':>10}{'-':>11}"
            print(f"{kind:<13}{n:>5}{t_op:>12.3f}{t_sw:>12.3f}{t_model * 1e3:>10.3f}{err:>11.1e}{ex}"
                  f"{ratio:>11.0f}{vps:>14,.0f}  {'validated' if res.validated else 'UNVALIDATED'}", flush=True)
    print()
    for kind in args.kinds:
        pts = [(n, t) for k, n, t, *_ in rows if k == kind]
        if len(pts) >= 2:
            ns, ts = np.log([x[0] for x in pts]), np.log([x[1] for x in pts])
            slope = np.polyfit(ns, ts, 1)[0]
            print(f"{kind}: ngspice op time grows as N^{slope:.2f} "
                  f"({pts[0][1]:.3f} s at {pts[0][0]} → {pts[-1][1]:.1f} s at {pts[-1][0]})")
    print("MNSIM 2.0 reports > 7000x faster than SPICE at < 1 % error (REFERENCE.md §8); "
          "compare the op/model column at the same error.")


if __name__ == "__main__":
    main()
