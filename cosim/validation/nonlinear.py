"""Validation of the nonlinear units: held-out SPICE runs against the behavioral models, and the
composed softmax / LayerNorm / GELU against exact numpy."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from ..calibration.nonlinear import NlSpec, _item, exp_sweep, normaliser_dc, score_vectors
from ..config import SpiceSettings
from ..models.nonlinear import (I_FLOOR, gelu_exact, layernorm_exact, load_softmax, softmax_exact, unit_mismatch)
from ..netlist.nonlinear import draw_mismatch
from ..parallel import item_rng, run_parallel
from .checks import Check


def held_out(spec: NlSpec, *, table: str | Path, spice: SpiceSettings = SpiceSettings(), n_jobs: int = 1,
             corners: list[str] | None = None, progress=None) -> list[dict]:
    """Per corner: the exponential unit at gates and source levels half a step off the calibration grid
    (log error), and held-out score vectors through the SPICE normaliser and the model (error / I_tail)."""
    d = spec.design
    cs = [c for c in spec.corners if corners is None or c.name in corners]
    off = dataclasses.replace(d, s_lo=d.s_lo + d.source_step / 2, s_hi=d.s_hi - d.source_step / 2)
    items, keys = [], []
    # held-out Monte Carlo instances: every vector on its own instance, the same draws in SPICE and the model
    mms = {n: draw_mismatch(d, item_rng(spec.seed + 1, "nl-val-mc", n), spec.val_vectors, n) for n in spec.val_sizes}
    for c in cs:
        lo, hi = d.sweep_window()
        items.append((exp_sweep, (off, c, spice, (lo + d.sweep_step / 2, hi - d.sweep_step / 2))))
        keys.append((c.name, "exp", None))
        sm = load_softmax(c.name, table)
        for n in spec.val_sizes:
            x = score_vectors(item_rng(spec.seed + 1, "nl-val", n), spec.val_vectors, n, spec.score_sigma)
            items.append((normaliser_dc, (d, c, sm.gates(x)[0], spice)))
            keys.append((c.name, "dc", n))
            items.append((normaliser_dc, (d, c, sm.gates(x)[0], spice, mms[n])))
            keys.append((c.name, "mc", n))
    res = dict(zip(keys, run_parallel(_item, items, n_jobs=n_jobs, progress=progress(len(items)) if progress else None)))
    out = []
    for c in cs:
        sm = load_softmax(c.name, table)
        u = sm.unit
        r = res[(c.name, "exp", None)]
        s = np.broadcast_to(r["s"][:, None], r["i_ch"].shape)
        v = np.broadcast_to(r["v"][None, :], r["i_ch"].shape)
        ok = (r["i_ch"] >= I_FLOOR) & (u.current(v, s) > 0)
        err = np.abs(np.log(u.current(v[ok], s[ok]) / r["i_ch"][ok]))
        row = {"corner": c.name, "temp_c": c.temp_c, "exp_log_err": float(err.max()), "exp_points": int(ok.sum()),
               "decades": u.decades(d.v_top - d.v_range, d.v_top), "slope_mv": u.slope() * 1e3,
               "n": u.slope_factor(), "softmax_temperature": sm.temperature, "norm": {}, "norm_mc": {},
               "mc_ignored": {}}
        i_tail = d.m_tail * d.i_unit
        for n in spec.val_sizes:
            x = res[(c.name, "dc", n)]
            mo = sm.currents(x["gates"])
            row["norm"][n] = float(np.max(np.abs(mo - x["out"])) / i_tail)
            x, mm = res[(c.name, "mc", n)], mms[n]
            row["norm_mc"][n] = float(np.max(np.abs(sm.currents(x["gates"], mm.branch, mm.tail) - x["out"])) / i_tail)
            # what ignoring the mismatch would cost: the matched model against the same SPICE instances
            row["mc_ignored"][n] = float(np.max(np.abs(sm.currents(x["gates"]) - x["out"])) / i_tail)
        out.append(row)
    return out


def _kl(p, q):
    p = np.clip(p, 1e-12, None)
    q = np.clip(q, 1e-12, None)
    return float(np.mean(np.sum(p * np.log(p / q), axis=-1)))


#: Sentences of the shipped evaluation set whose attention scores and FFN activations are captured.
CAPTURED_SENTENCES = 8


def captured_activations(n_sentences: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Attention scores (one [heads, T, T] array per sentence and layer), FFN pre-activations ([rows,
    1536], the GELU's input) and LayerNorm inputs ([rows, 384]: the residual sums after attention and
    after the FFN) of MiniLM in float on the first evaluation sentences."""
    from ..functional.accuracy import checkpoint, sentences_file
    from ..functional.bert import FloatExecutor, forward

    class Recorder(FloatExecutor):
        def __init__(self):
            self.seen_scores, self.seen_ffn, self.seen_ln = [], [], []
            self.residual = {}

        def softmax(self, key, s):
            self.seen_scores.append(np.asarray(s, dtype=float))
            return super().softmax(key, s)

        def linear(self, key, x, W, b):
            y = super().linear(key, x, W, b)
            name = key.split(".", 1)[1]
            if name in ("query", "ffn_up"):  # the block's input: the residual its output is added to
                self.residual[name] = np.asarray(x, dtype=float)
            if name == "ffn_up":
                self.seen_ffn.append(np.asarray(y, dtype=float))
            if name in ("attn_out", "ffn_down"):
                self.seen_ln.append(self.residual["query" if name == "attn_out" else "ffn_up"] + y)
            return y

    ck = checkpoint("minilm")
    ex = Recorder()
    for ids in ck.tokenize(sentences_file("eval")[:n_sentences]):
        forward(ck, ids, ex)
    return ex.seen_scores, np.concatenate(ex.seen_ffn), np.concatenate(ex.seen_ln)


def _softmax_stats(sm, arrays, draw=None) -> dict:
    """Max abs error against exact numpy, mean KL (from the currents, before the readout's quantisation)
    and the clipped fraction of the analog softmax over ``arrays``; with ``draw(n)`` → (ΔV_T, tail offset),
    each array runs on its own Monte Carlo instance."""
    err, kls, clip, tot = 0.0, [], 0, 0
    for x in arrays:
        dvt, dt = draw(x.shape[-1]) if draw else (None, 0.0)
        r = sm(x, dvt, dt)
        ex = softmax_exact(x)
        err = max(err, float(np.max(np.abs(r.p - ex))))
        kls.append(_kl(ex, r.currents / r.currents.sum(-1, keepdims=True)))
        clip, tot = clip + r.clipped, tot + r.total
    return {"max_abs": err, "kl": float(np.mean(kls)), "clipped": clip / tot}


def _mismatch(sm, rng, mode):
    return lambda n: unit_mismatch(sm, rng, n, trimmed=mode == "trimmed")


def composed(spec: NlSpec, *, table: str | Path, corners: list[str]) -> list[dict]:
    """Behavioral analog softmax (fixed and PTAT DAC gain; Monte Carlo instances raw and trimmed) and the
    digital unit (exact arithmetic, INT8 output) against exact numpy on random vectors of each length and
    on MiniLM's attention scores; LayerNorm (MiniLM's residual sums, random hidden vectors) and GELU
    (MiniLM's FFN activations, random) on the digital unit (INT8 output)."""
    rows = []
    for c in corners:
        for n in spec.val_lengths:
            x = score_vectors(item_rng(spec.seed + 2, "nl-comp", n), spec.val_random_vectors, n, spec.score_sigma)
            for mode in ("fixed", "ptat"):
                rows.append({"op": "softmax", "unit": f"analog ({mode} gain)", "corner": c, "n": n,
                             **_softmax_stats(load_softmax(c, table, gain_mode=mode), [x])})
            sm = load_softmax(c, table)
            for mode in ("raw", "trimmed"):  # every vector on its own instance of an n-input unit
                rng = item_rng(spec.seed + 2, "nl-comp-mc", n, mode)
                rows.append({"op": "softmax", "unit": f"analog (fixed), MC {mode}", "corner": c, "n": n,
                             **_softmax_stats(sm, [x[k:k + 1] for k in range(len(x))], _mismatch(sm, rng, mode))})
            ex = softmax_exact(x)
            q = np.round(ex * 255) / 255
            rows.append({"op": "softmax", "unit": "digital (INT8 out)", "corner": c, "n": n,
                         "max_abs": float(np.max(np.abs(q - ex))), "kl": 0.0, "clipped": 0.0})
    # activations captured from the real model (MiniLM on the shipped evaluation sentences)
    scores, ffn, ln_in = captured_activations(CAPTURED_SENTENCES)
    n_max = int(max(x.shape[-1] for x in scores))
    for c in corners:
        for mode in ("fixed", "ptat"):
            rows.append({"op": "softmax", "unit": f"analog ({mode} gain), MiniLM", "corner": c, "n": n_max,
                         **_softmax_stats(load_softmax(c, table, gain_mode=mode), scores)})
        sm = load_softmax(c, table)
        for mode in ("raw", "trimmed"):  # one instance per captured layer's scores, as in the functional simulator
            rng = item_rng(spec.seed + 2, "nl-minilm-mc", mode)
            rows.append({"op": "softmax", "unit": f"analog (fixed), MC {mode}, MiniLM", "corner": c, "n": n_max,
                         **_softmax_stats(sm, scores, _mismatch(sm, rng, mode))})
    g = gelu_exact(ffn)
    s_g = float(np.max(np.abs(g))) / 127
    q = np.round(g / s_g) * s_g
    rows.append({"op": "gelu", "unit": "digital LUT, MiniLM", "corner": "-", "n": int(ffn.shape[-1]),
                 "max_abs": float(np.max(np.abs(q - g))), "rms": float(np.sqrt(np.mean((q - g) ** 2)))})
    ln = layernorm_exact(ln_in)
    # MiniLM's outlier channels reach ~20 sigma: INT8 per token (max-abs scale), as the next layer's inputs are quantised
    s_ln = np.abs(ln).max(-1, keepdims=True) / 127
    q = np.round(ln / s_ln) * s_ln
    rows.append({"op": "layernorm", "unit": "digital (INT8/token), MiniLM", "corner": "-", "n": int(ln_in.shape[-1]),
                 "max_abs": float(np.max(np.abs(q - ln))), "rms": float(np.sqrt(np.mean((q - ln) ** 2)))})
    rng = item_rng(spec.seed + 3, "nl-ln")
    for n in (1024,):
        h = rng.normal(0, 1, (spec.val_random_vectors, n)) * rng.uniform(0.5, 3, (spec.val_random_vectors, 1))
        ln = layernorm_exact(h)
        s = 8 / 127  # INT8 output over +-8 sigma
        q = np.clip(np.round(ln / s), -127, 127) * s
        rows.append({"op": "layernorm", "unit": "digital (INT8 out, +-8)", "corner": "-", "n": n,
                     "max_abs": float(np.max(np.abs(q - ln))), "rms": float(np.sqrt(np.mean((q - ln) ** 2)))})
        g = gelu_exact(h)
        s = float(np.max(np.abs(g))) / 127
        q = np.round(g / s) * s
        rows.append({"op": "gelu", "unit": "digital LUT (INT8 out)", "corner": "-", "n": n,
                     "max_abs": float(np.max(np.abs(q - g))), "rms": float(np.sqrt(np.mean((q - g) ** 2)))})
    return rows


def checks_for(rows: list[dict]) -> list[Check]:
    out = []
    for r in rows:
        out.append(Check.at_most(f"exp_log_err/{r['corner']}", r["exp_log_err"], 0.01))
        for n, e in r["norm"].items():
            out.append(Check.at_most(f"normaliser_err_fs/n{n}/{r['corner']}", e, 0.01))
        for n, e in r.get("norm_mc", {}).items():
            out.append(Check.at_most(f"normaliser_mc_err_fs/n{n}/{r['corner']}", e, 0.01))
        # the softmax temperature follows kT/q (n constant): model it, do not fit it away
        out.append(Check.at_most(f"slope_factor_drift/{r['corner']}", abs(r["n"] / rows[0]["n"] - 1), 0.02))
    return out


def format_held_out(rows: list[dict]) -> str:
    sizes = sorted({n for r in rows for n in r["norm"]})
    head = (f"{'corner':<8} {'T C':>5} {'n*UT mV':>8} {'n':>6} {'T_soft':>7} {'decades':>7} {'exp err':>9} "
            + " ".join(f"{'norm n=' + str(n):>10}" for n in sizes)
            + " " + " ".join(f"{'MC n=' + str(n):>9} {'(ignored)':>9}" for n in sizes))
    lines = [head]
    for r in rows:
        lines.append(f"{r['corner']:<8} {r['temp_c']:5.0f} {r['slope_mv']:8.2f} {r['n']:6.3f} "
                     f"{r['softmax_temperature']:7.3f} {r['decades']:7.2f} {r['exp_log_err']:9.2e} "
                     + " ".join(f"{r['norm'][n]:10.2%}" for n in sizes) + " "
                     + " ".join(f"{r['norm_mc'][n]:9.2%} {r['mc_ignored'][n]:9.2%}" for n in sizes))
    return "\n".join(lines)


def format_composed(rows: list[dict]) -> str:
    lines = [f"{'op':<10} {'unit':<34} {'corner':<8} {'n':>5} {'max abs':>9} {'KL / rms':>10} {'clipped':>8}"]
    for r in rows:
        kl = r.get("kl", r.get("rms", math.nan))
        clip = f"{r['clipped']:8.2%}" if "clipped" in r else f"{'-':>8}"
        lines.append(f"{r['op']:<10} {r['unit']:<34} {r['corner']:<8} {r['n']:>5} {r['max_abs']:9.4f} {kl:10.2e} {clip}")
    return "\n".join(lines)


def cost_rows(table: str | Path) -> list[dict]:
    """Energy and delay per softmax of length 128 and per LayerNorm of width 1024, analog vs digital,
    conversions included (the calibrated 8-bit SAR ADC; the score DAC as the SAR's capacitor DAC
    switched once); the digital unit costed per element as in the system simulator (passes over the
    vector: softmax 2, LayerNorm 3, GELU 1)."""
    from ..system.arch import Digital
    from ..system.costs import analog_softmax_row, const, element_energy, softmax_conversions

    n = 128
    dg = Digital(softmax="analog", softmax_inputs=n, softmax_adcs=8)
    e_an, d_an = analog_softmax_row(n, dg, table)
    e_dac, e_adc, _, _ = softmax_conversions()
    e_max = const("add8", "energy_j").value
    core = e_an - n * (e_dac + e_adc + e_max)
    f_clk, lanes = 1e9, 8  # a stated digital unit: 8 lanes, one element per lane per clock

    def digital(op, kind, width, passes):
        c = element_energy(kind)
        return {"op": op, "unit": f"digital ({lanes} lanes, 1 GHz)", "energy_j": width * c.value,
                "delay_s": passes * math.ceil(width / lanes) / f_clk, "note": c.source}

    return [
        {"op": "softmax n=128", "unit": "analog (8 SAR ADCs)", "energy_j": e_an, "delay_s": d_an,
         "note": f"DAC {n} x {e_dac * 1e15:.0f} fJ, ADC {n} x {e_adc * 1e15:.0f} fJ, max {n} x {e_max * 1e12:.2f} pJ, core {core * 1e15:.1f} fJ"},
        digital("softmax n=128", "softmax", n, 2),
        digital("layernorm n=1024", "layernorm", 1024, 3),
        digital("gelu n=1024", "gelu", 1024, 1),
    ]


def plot(rows: list[dict], table, path) -> Path:
    """Two panels: the exponential unit's transfer per corner, and softmax outputs (analog vs exact)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..models.nonlinear import load_exp

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.5))
    for r in rows:
        u = load_exp(r["corner"], table)
        s = float(np.mean(u.source_range))
        j = int(np.argmin(np.abs(u.s - s)))
        a.semilogy(u.v, np.maximum(u.i_ch[j], 1e-13), lw=0.8, label=f"{r['corner']} (n kT/q {r['slope_mv']:.1f} mV)")
        sm = load_softmax(r["corner"], table)
        x = score_vectors(np.random.default_rng(7), 1, 128, 2.5)
        b.plot(softmax_exact(x)[0], sm(x).p[0], ".", ms=3, label=r["corner"])
    a.set_xlabel(f"gate (V), source at {s:.2f} V")
    a.set_ylabel("channel current (A)")
    a.set_title("Exponential unit (SPICE sweep)")
    a.legend(fontsize=6)
    b.plot([0, 1], [0, 1], "k-", lw=0.5)
    b.set_xlabel("exact softmax")
    b.set_ylabel("analog softmax (model, fixed gain)")
    b.set_title("Softmax of 128 scores")
    b.legend(fontsize=6)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(rows, comp, costs, checks, path, *, table, png: str | None = None) -> Path:
    path = Path(path)
    png = Path(png) if png else path.with_suffix(".png")
    plot(rows, table, png)
    failed = [c for c in checks if not c.passed]
    from ..netlist.nonlinear import NlDesign
    from ..store import read_table

    nd = NlDesign.from_dict(dict(read_table(table, "cosim.nonlinear").attrs["design"]))
    design, sig_b, sig_t = nd.to_dict(), nd.sigma_branch(), nd.sigma_tail()
    md = ["# Nonlinear units: validation", "",
          "Subthreshold exponential unit and common-source softmax normaliser (PTM 32 nm HP), calibrated "
          "in ngspice (`cosim calibrate nonlinear`), checked on held-out points (`cosim validate nonlinear`).", "",
          "## Behavioral units vs SPICE (held out)", "", "```", format_held_out(rows), "```", "",
          "`T_soft` is the effective softmax temperature n·kT/(q·gain) with the DAC gain fixed at the nominal "
          "corner's n·kT/q: it follows kT/q (n is constant across corners), so at 85 °C the softmax is that "
          "much softer unless the gain is PTAT (the `ptat` rows below).", "",
          f"Mismatch: every branch gets its own threshold shift, σ(ΔV_T) = {sig_b * 1e3:.2f} mV (Pelgrom A_VT = "
          f"{design['avt_n'] * 1e9:.2f} mV·µm over W·L of the branch), about {sig_b / rows[0]['slope_mv'] * 1e5:.1f} % of its "
          f"current; the tail mirror σ = {sig_t * 1e3:.3f} mV per device.  `MC n=…`: held-out Monte Carlo instances, "
          "the same draws rendered into SPICE (DELVTO) and into the model; `(ignored)`: the matched model against "
          "the same SPICE instances, i.e. what leaving mismatch out would cost.  In the composed rows, `MC raw` is "
          "the unit as fabricated and `MC trimmed` with a per-branch offset code at the score DAC (residual within "
          "half a DAC step; the tail mirror untrimmed).", "",
          "## Composed operations vs exact numpy", "", "```", format_composed(comp), "```", "",
          "Input-range limits: scores more than v_range/gain below the row maximum are clipped at the DAC's "
          "floor (counted in `clipped`); the branch currents leave weak inversion above ~0.1 µA, which "
          "compresses a dominant output (the largest errors).", "",
          "## Cost per operation", "", "| op | unit | energy (pJ) | delay (ns) | note |", "| --- | --- | --- | --- | --- |"]
    md += [f"| {r['op']} | {r['unit']} | {r['energy_j'] * 1e12:.2f} | {r['delay_s'] * 1e9:.1f} | {r['note']} |"
           for r in costs]
    md += ["", "Published analog softmax (../shared/REFERENCE.md §4): Vatalaro et al. 2021, 0.18 µm, 10 inputs, "
           "3 µW, 2570 µm² (cites digital softmax at 0.5–5 mW); Dube et al. 2025, 28 nm, up to 128 inputs.", "",
           f"## Checks: {len(checks) - len(failed)} passed, {len(failed)} failed", ""]
    md += [f"- FAILED {c.name}: {c.value:.3e} > {c.target:.1e}" for c in failed]
    md += ["", f"![transfer and softmax]({png.name})", ""]
    path.write_text("\n".join(md))
    return path
