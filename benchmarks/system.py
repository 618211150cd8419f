"""System-simulator benchmark: wall times against the issue's targets, measured in one run.

    .venv/bin/python benchmarks/system.py            # ~1-2 min on 2 cores

* one BERT-Large run (seq 128, batch 1, large-small) and one GPT-3 175B run (prefill 128 + 128
  decoded tokens) as a user runs them — a fresh `cosim run` process, start-up included (best of 3);
* a sweep of 1,000 BERT-Large design points with `cosim sweep -j 2` (fresh process);
* how run time grows with model size: in-process `simulate()` time per built-in model (after the
  first call, which loads the calibration table), beside its MACs and weight count.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COSIM = [sys.executable, "-m", "cosim"]


def wall(cmd: list[str], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    print(f"system simulator benchmark — python {sys.version.split()[0]}, {__import__('os').cpu_count()} cores")
    print("\n1. single runs, fresh process, start-up included (best of 3)")
    rows = [("BERT-Large seq 128 batch 1, large-small", ["run", "--model", "bert-large", "--arch", "large-small"], 2.0),
            ("BERT-Large seq 128 batch 1, multi-bit", ["run", "--model", "bert-large", "--arch", "multi-bit"], 2.0),
            ("GPT-3 175B prefill 128 + decode 128, large-small", ["run", "--model", "gpt3-175b", "--arch",
                                                                  "large-small"], 10.0),
            ("GPT-3 175B prefill 128 + decode 128, multi-bit", ["run", "--model", "gpt3-175b", "--arch",
                                                                "multi-bit"], 10.0)]
    for label, args, target in rows:
        t = wall(COSIM + args)
        print(f"   {label:<52} {t:6.2f} s   target <= {target:g} s   ({target / t:.1f}x inside)")

    print("\n2. sweep of 1,000 BERT-Large design points on large-small, -j 2, fresh process")
    params = ["--param", "compute.rows_per_conversion=1,2,3,5,7,15,31,63,127,128",
              "--param", "compute.adc_bits=1,2,3,4,5",
              "--param", "compute.tiles=4,8,16,32,64",
              "--param", "compute.cell_bits=1,2,4,8"]
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "s.csv"
        t = wall(COSIM + ["sweep", "--model", "bert-large", "--arch", "large-small", *params, "-j", "2", "-q",
                          "--show", "0", "--out", str(out)], repeat=1)
        import csv

        rows = list(csv.DictReader(out.open()))
        n, bad = len(rows), sum(1 for r in rows if r["error"])
    print(f"   {n} points ({bad} impossible, error recorded) in {t:.1f} s ({n / t:.0f} points/s)   "
          f"target <= 60 s   ({60 / t:.1f}x inside)")

    print("\n3. run time against model size (in-process simulate(), large-small and multi-bit)")
    from cosim.system.arch import load_arch
    from cosim.system.simulate import simulate
    from cosim.workloads import available_models, build_workload, load_model

    archs = {a: load_arch(a) for a in ("large-small", "multi-bit")}
    simulate(build_workload(load_model("bert-base"), 8), archs["large-small"])  # loads the table once
    simulate(build_workload(load_model("bert-base"), 8), archs["multi-bit"])
    print(f"   {'model':<18} {'params':>9} {'GMAC':>11} {'ops':>6} {'large-small ms':>15} {'multi-bit ms':>13}")
    for name in sorted(available_models(), key=lambda n: load_model(n).total_params()):
        s = load_model(name)
        w = build_workload(s, 128)
        times = []
        for a in archs.values():
            t = time.perf_counter()
            for _ in range(3):
                simulate(w, a)
            times.append((time.perf_counter() - t) / 3 * 1e3)
        print(f"   {name:<18} {s.total_params() / 1e9:8.3f}B {w.macs / 1e9:11.2f} {len(w.ops):6d} "
              f"{times[0]:15.1f} {times[1]:13.1f}")
    print("   run time follows the number of operations (layers), not the MACs: counts are closed-form.")


if __name__ == "__main__":
    main()
