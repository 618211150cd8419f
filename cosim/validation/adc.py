"""``cosim validate adc``: held-out Monte Carlo instances, inputs, overdrives and conversion sequences
through ngspice and the behavioral model, per resolution and corner.

Held out: instances are drawn under the key ``"val"`` (calibration used ``"cal"``), inputs and
sequences under ``"val-*"`` keys of the table's seed, so none coincides with calibration data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..calibration.adc import AdcSpec, conversions, dc_transfer, step_delay
from ..config import SpiceSettings
from ..models.adc import FlashAdc, load
from ..netlist.adc import AdcDesign, Corner, design_for, devices
from ..parallel import item_rng, run_parallel
from .checks import Check


@dataclass
class CornerResult:
    bits: int
    corner: str
    th_err_lsb: float                 # worst |threshold model - SPICE| over held-out instances (LSB)
    code_agree: float                 # fraction of held-out static inputs with equal codes (same instance)
    tran_agree: float                 # fraction of held-out transient conversions with equal codes
    dnl_err_lsb: float                # worst |DNL model - DNL SPICE| (LSB)
    inl_err_lsb: float                # worst |INL model - INL SPICE| (LSB)
    sigma_spice_lsb: np.ndarray       # per threshold, over held-out instances
    sigma_ci_lsb: np.ndarray          # [2, k] 95 % confidence interval of the SPICE sigma
    sigma_model_lsb: np.ndarray       # per threshold, model over 20000 sampled instances
    delay_err: float                  # worst relative delay error, held-out overdrives >= 0.1 LSB
    energy_err: float                 # relative error of the sequence's total energy
    energy_spice: float               # J per conversion (held-out sequence, SPICE)
    energy_model: float
    n_instances: int
    spice_th: np.ndarray = field(repr=False)  # LSB
    model_th: np.ndarray = field(repr=False)  # LSB
    outliers: int = 0                 # held-out instances with a comparator that never switched (excluded from sigma)
    noise_flips: float = math.nan     # fraction of codes a trnoise source of the calibrated density changed
    noise_lsb: float = math.nan       # the model's input-referred noise (largest over thresholds), LSB
    noise_far: float = math.nan       # fraction of conversions trnoise changed although farther from every threshold
                                      # than the period's resolution limit + 4 sigma of the noise
    delay_err_near: float = math.nan  # worst relative delay error from held-out near starts, overdrives >= 0.1 LSB
    n_tran: int = 0                   # held-out transient conversions compared
    tran_agree_far: float = math.nan  # the same for conversions farther from every threshold than th_err_lsb
    n_tran_far: int = 0


def _instance(design: AdcDesign, bits: int, corner: Corner, trim, seed: int, i: int, step: float,
              spice: SpiceSettings) -> tuple[np.ndarray, np.ndarray]:
    from ..netlist.adc import draw_mismatch

    devs = devices(design, bits, trim)
    dvt = draw_mismatch(design, devs, item_rng(seed, "mc", "val", bits, i))
    th = dc_transfer(design, bits, corner, trim=trim, delvto=dvt, step_lsb=step, spice=spice)["thresholds"]
    return np.array([dvt[d.name] for d in devs if d.mismatch]), th


def _delay(design, bits, corner, trim, th, k, od, direction, spice, sd=None):
    from ..calibration.adc import near_start

    start = None if sd is None else near_start(design, bits, float(th[k - 1]), sd, direction)
    return step_delay(design, bits, corner, k, float(th[k - 1]), od * design.i_lsb, direction, trim=trim,
                      start=start, spice=spice)["delay"]


def _tran(design, bits, corner, trim, dvt_vec, names, levels, period, spice, noise=None):
    dvt = dict(zip(names, dvt_vec)) if dvt_vec is not None else None
    return conversions(design, bits, corner, levels, period, trim=trim, delvto=dvt, noise=noise, spice=spice)


def _chi2_ci(s: np.ndarray, n: int, family: int = 1) -> np.ndarray:
    """95 % confidence interval of a normal sigma from ``n`` samples (chi-square), simultaneous over
    ``family`` sigmas (Bonferroni: each at 1 - 0.05/family).  The 2^b - 1 thresholds of a flash are
    checked together: a perfect model's sigma falls outside at least one of seven single 95 % intervals
    of 200 instances in 34 % of draws (measured on the 3-bit model's own samples), outside the
    simultaneous ones in 7 % (the offsets' kurtosis is 3.1-3.3, a little above the normal's 3)."""
    from scipy.stats import chi2

    a = 0.05 / family
    lo = s * math.sqrt((n - 1) / chi2.ppf(1 - a / 2, n - 1))
    hi = s * math.sqrt((n - 1) / chi2.ppf(a / 2, n - 1))
    return np.stack([lo, hi])


def validate(spec: AdcSpec, *, table: str | Path | None = None, spice: SpiceSettings = SpiceSettings(),
             n_jobs: int = 1, progress=None, bits: list[int] | None = None, corners: list[str] | None = None
             ) -> list[CornerResult]:
    from ..models.adc import _table, default_table_path

    t = _table(str(Path(table) if table else default_table_path()))
    seed = int(t.seed)
    names_c = [str(x) for x in t["corners/name"]]
    all_corners = {c.name: c for c in spec.corners}
    bits = bits or [int(b) for b in t.attrs["bits"]]
    corners = corners or names_c
    models = {(b, c): load("flash-current", b, c, t.path) for b in bits for c in corners}
    trims = {b: t[f"b{b}/trim"] for b in bits}
    items, keys = [], []
    n_inst = spec.val_mc_instances
    for b in bits:
        design = design_for(t.attrs["design"], t.attrs.get("design_by_bits"), b)
        for c in corners:
            cor = all_corners.get(c) or Corner(c, float(t["corners/temp_c"][names_c.index(c)]),
                                               float(t["corners/vdd"][names_c.index(c)]) / design.vdd)
            for i in range(n_inst):
                items.append((_call, (_instance, (design, b, cor, trims[b], seed, i, spec.dc_step_lsb, spice))))
                keys.append(("inst", b, c, i))
            m = models[(b, c)]
            for k in range(1, 2**b):
                for direction in ("rise", "fall"):
                    for od in spec.val_overdrive_lsb:
                        items.append((_call, (_delay, (design, b, cor, trims[b], m.thresholds_nominal, k, od, direction,
                                                       spice))))
                        keys.append(("delay", b, c, k, od, direction, None))
                    for sd, od in spec.val_near:  # held-out near starts (closer than the far start only)
                        if sd < m._far_lsb(k, direction):
                            items.append((_call, (_delay, (design, b, cor, trims[b], m.thresholds_nominal, k, od,
                                                           direction, spice, sd))))
                            keys.append(("delay", b, c, k, od, direction, sd))
            for j in range(spec.val_instances_tran):
                rng = item_rng(seed, "val-seq", b, j)
                levels = rng.uniform(0, 2**b * design.i_lsb, spec.val_conversions)
                dvt = None if j == 0 else m.draw_dvt(item_rng(seed, "val-tran-inst", b, j), 1)[0]
                items.append((_call, (_tran, (design, b, cor, trims[b], dvt, m.devices, levels, m.period, spice))))
                keys.append(("tran", b, c, j, levels, dvt))
                if j == 0:
                    # the same sequence with the calibrated input noise as a trnoise source (white up to
                    # 1/(2 dt), the .noise density at 10 MHz): the codes must not change
                    from ..netlist.adc import Noise

                    dt = 5e-12
                    psd = float(t[f"b{b}/noise_psd"][names_c.index(c)].max())
                    nz = Noise(rms=math.sqrt(psd / (2 * dt)), dt=dt)
                    items.append((_call, (_tran, (design, b, cor, trims[b], None, m.devices, levels, m.period, spice,
                                                  nz))))
                    keys.append(("tran-noise", b, c, j, levels, None))
    res = run_parallel(_run, [(it,) for it in items], n_jobs=n_jobs,
                       progress=progress(len(items)) if progress else None)
    out = []
    for b in bits:
        for c in corners:
            m = models[(b, c)]
            lsb = m.lsb
            inst = [(k, r) for k, r in zip(keys, res) if k[0] == "inst" and k[1] == b and k[2] == c]
            dvt = np.stack([r[0] for _, r in inst])
            sp = np.stack([r[1] for _, r in inst])
            mo = m.thresholds(dvt)
            ok = ~np.any(np.isnan(sp), axis=1)  # an outlier whose comparator never switched within 2x full scale
            n_out = int(np.sum(~ok))
            sp_c = np.where(np.isnan(sp), np.inf, sp)
            th_err = float(np.max(np.abs(mo[ok] - sp[ok])) / lsb)
            rng = item_rng(seed, "val-inputs", b, c)
            agree = []
            for i in range(len(sp)):
                x = rng.uniform(0, 2**b * lsb, spec.val_inputs)
                agree.append(np.mean(m.codes(x, sp_c[i]) == m.codes(x, mo[i])))
            ideal = np.arange(1, 2**b) - 0.5
            dnl = lambda th: np.diff(th, axis=-1) / lsb - 1.0 if th.shape[-1] > 1 else np.zeros(th.shape[:-1] + (1,))
            inl = lambda th: th / lsb - ideal
            s_sp = sp[ok].std(0, ddof=1) / lsb
            s_mo = m.offsets_lsb(item_rng(seed, "val-sigma", b, c), 20000).std(0)
            # delays
            derr, derr_near = 0.0, math.nan
            for k_, r in zip(keys, res):
                if k_[0] == "delay" and k_[1] == b and k_[2] == c and k_[4] >= 0.1:
                    _, _, _, k, od, direction, sd = k_
                    th_k = m.thresholds_nominal[k - 1]
                    start = None if sd is None else th_k + (-1 if direction == "rise" else 1) * sd * lsb
                    e = abs(float(m.delay(od * lsb, k, direction, start)) - r) / r
                    if sd is None:
                        derr = max(derr, e)
                    else:
                        derr_near = e if math.isnan(derr_near) else max(derr_near, e)
            # transient conversions: codes and energy; the noisy run against the noiseless one
            noisy = [r for k_, r in zip(keys, res) if k_[0] == "tran-noise" and k_[1] == b and k_[2] == c]
            quiet = [r for k_, r in zip(keys, res) if k_[0] == "tran" and k_[1] == b and k_[2] == c and k_[5] is None]
            noise_flips, noise_far = math.nan, math.nan
            if noisy and quiet:
                changed = noisy[0]["codes"] != quiet[0]["codes"]
                noise_flips = float(np.mean(changed))
                lv = next(k_[4] for k_ in keys if k_[0] == "tran-noise" and k_[1] == b and k_[2] == c)
                dist = np.min(np.abs(lv[:, None] - m.thresholds_nominal[None, :]), axis=1) / lsb
                # noise may only matter where the decision is time-limited: within the smallest overdrive
                # the period resolves plus 4 sigma of the noise (ngspice 39's trnoise takes no seed here,
                # so this one run is a random draw)
                near = m.min_overdrive_lsb() + 4 * m.noise_lsb()
                noise_far = float(np.mean(changed & (dist > near)))
            tr_agree, tr_far, e_sp, e_mo = [], [], 0.0, 0.0
            for k_, r in zip(keys, res):
                if k_[0] == "tran" and k_[1] == b and k_[2] == c:
                    levels, dv = k_[4], k_[5]
                    th_i = m.thresholds(dv[None])[0] if dv is not None else m.thresholds_nominal
                    bits_m = m.convert(levels, th_i)
                    same = bits_m.sum(-1) == r["codes"]
                    tr_agree.append(np.mean(same))
                    # conversions the static model decides: farther from every threshold than its worst error
                    far = np.min(np.abs(levels[:, None] - th_i[None, :]), axis=1) / lsb > th_err
                    tr_far.append(same[far])
                    if dv is None:
                        e_sp = float(r["energy"].sum()) / len(levels)
                        e_mo = float(m.energy(levels, bits_m).sum()) / len(levels)
            out.append(CornerResult(
                b, c, th_err, float(np.mean(agree)), float(np.mean(tr_agree)) if tr_agree else math.nan,
                float(np.max(np.abs(dnl(mo[ok]) - dnl(sp[ok])))), float(np.max(np.abs(inl(mo[ok]) - inl(sp[ok])))),
                s_sp, _chi2_ci(s_sp, int(ok.sum()), len(s_sp)), s_mo, derr, abs(e_mo - e_sp) / e_sp if e_sp else math.nan, e_sp, e_mo,
                int(ok.sum()), sp / lsb, mo / lsb, n_out, noise_flips, m.noise_lsb(), noise_far, derr_near,
                spec.val_conversions * len(tr_agree),
                float(np.mean(np.concatenate(tr_far))) if tr_far and np.concatenate(tr_far).size else math.nan,
                int(sum(len(x) for x in tr_far))))
    return out


def _call(fn, args):
    return fn(*args)


@dataclass
class DacResult:
    corner: str
    energy_err: float   # worst relative energy error, held-out row loads
    delay_err: float    # worst relative delay error
    r_on: float         # driver on-resistance (ohm, SPICE)
    points: int


def validate_dac(spec: AdcSpec, *, table: str | Path | None = None, spice: SpiceSettings = SpiceSettings(),
                 n_jobs: int = 1, corners: list[str] | None = None) -> list[DacResult]:
    """Held-out row loads (sizes and densities not in the calibration, other cell draws) through the
    driver netlist and the behavioral row-driver model."""
    from ..calibration.adc import _item_dac
    from ..models.adc import _table, default_table_path, load_dac

    t = _table(str(Path(table) if table else default_table_path()))
    names = [str(x) for x in t["corners/name"]]
    corners = corners or names
    by = {c.name: c for c in spec.corners}
    items = [(_item_dac, (spec, by.get(c) or Corner(c, float(t["corners/temp_c"][names.index(c)]),
                                                   float(t["corners/vdd"][names.index(c)]) / 0.9),
                          n, dens, "val", spice))
             for c in corners for n in spec.dac_val_sizes for dens in spec.dac_val_densities]
    res = run_parallel(_run, [(it,) for it in items], n_jobs=n_jobs)
    out = []
    for c in corners:
        m = load_dac(c, t.path)
        rs = [r for r in res if r["dac_corner"] == c]
        ee = max(abs(m.energy(r["n"], r["g_total"], spec.dac_t_pulse) - r["e_dac"]) / r["e_dac"] for r in rs)
        de = max(abs(m.delay(r["n"], r["g_total"]) - r["delay"]) / r["delay"] for r in rs)
        out.append(DacResult(c, float(ee), float(de), float(np.median([r["r_on"] for r in rs])), len(rs)))
    return out


def _run(item):
    fn, args = item
    return fn(*args)


def checks_for(results: list[CornerResult]) -> list[Check]:
    out = []
    for r in results:
        tag = f"{r.bits}b/{r.corner}"
        out.append(Check.at_most(f"threshold_err_lsb/{tag}", r.th_err_lsb, 0.05))
        out.append(Check.at_most(f"code_disagreement/{tag}", 1 - r.code_agree, 0.001))
        # sequences at the conversion period, where the static model decides the code: inputs closer to a
        # threshold than its measured worst error go either way (0.001-0.007 LSB from one: the 4 of 360
        # 3-bit codes that differed at 27 C) and are counted by the code check above instead
        out.append(Check.at_most(f"transient_code_disagreement_beyond_th_err/{tag}", 1 - r.tran_agree_far, 0.01))
        out.append(Check.at_most(f"dnl_err_lsb/{tag}", r.dnl_err_lsb, 0.05))
        out.append(Check.at_most(f"inl_err_lsb/{tag}", r.inl_err_lsb, 0.05))
        # model sigma inside the SPICE 95 % intervals (simultaneous over the thresholds): distance outside, target 0
        outside = np.maximum(r.sigma_ci_lsb[0] - r.sigma_model_lsb, 0) + np.maximum(r.sigma_model_lsb - r.sigma_ci_lsb[1], 0)
        out.append(Check.at_most(f"offset_sigma_outside_ci_lsb/{tag}", float(outside.max()), 0.0))
        out.append(Check.at_most(f"delay_rel_err/{tag}", r.delay_err, 0.10))
        if not math.isnan(r.delay_err_near):
            out.append(Check.at_most(f"delay_rel_err_near_start/{tag}", r.delay_err_near, 0.10))
        out.append(Check.at_most(f"energy_rel_err/{tag}", r.energy_err, 0.05))
        # noise (a few thousandths of an LSB) may only change decisions right at a threshold
        out.append(Check.at_most(f"trnoise_changes_away_from_thresholds/{tag}", r.noise_far, 0.0))
    return out


def format_table(results: list[CornerResult]) -> str:
    head = (f"{'bits':>4} {'corner':<8} {'inst':>4} {'th err':>8} {'codes':>8} {'tran':>7} {'tran>e':>7} {'dDNL':>7} {'dINL':>7} "
            f"{'sigma SPICE [95% joint CI] / model (LSB, top threshold)':<50} {'delay':>6} {'near':>6} {'E/conv SPICE':>12} {'model':>9} "
            f"{'noise':>6} {'trnoise':>7}")
    rows = [head, "-" * len(head)]
    for r in results:
        s = (f"{r.sigma_spice_lsb[-1]:.3f} [{r.sigma_ci_lsb[0, -1]:.3f}, {r.sigma_ci_lsb[1, -1]:.3f}] / "
             f"{r.sigma_model_lsb[-1]:.3f}")
        rows.append(f"{r.bits:>4} {r.corner:<8} {r.n_instances:>4} {r.th_err_lsb:>8.4f} {r.code_agree:>8.4%} "
                    f"{r.tran_agree:>7.2%} {r.tran_agree_far:>7.2%} {r.dnl_err_lsb:>7.4f} {r.inl_err_lsb:>7.4f} {s:<50} {r.delay_err:>6.1%} "
                    f"{r.delay_err_near:>6.1%} "
                    f"{r.energy_spice * 1e15:>9.1f} fJ {r.energy_model * 1e15:>6.1f} fJ {r.noise_lsb:>6.4f} "
                    f"{r.noise_flips:>7.2%}")
    return "\n".join(rows)


def plot(results: list[CornerResult], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    for r in results:
        ax.plot(r.spice_th.ravel(), r.model_th.ravel(), ".", ms=2, label=f"{r.bits}b {r.corner}")
    lim = ax.get_xlim()
    ax.plot(lim, lim, "k-", lw=0.5)
    ax.set_xlabel("threshold, SPICE (LSB)")
    ax.set_ylabel("threshold, behavioral model (LSB)")
    ax.set_title("Held-out Monte Carlo instances")
    ax.legend(fontsize=6, markerscale=3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- the whole chain


@dataclass
class ChainResult:
    n: int
    reads: int
    bits: int
    agree: float          # fraction of conversions with equal codes, SPICE chain vs behavioral chain
    codes_spice: np.ndarray
    codes_model: np.ndarray
    i_model: np.ndarray    # column currents of the behavioral crossbar (A), slot order
    clamp_span: float      # peak-to-peak column node voltage in SPICE (V)
    spice_s: float


def chain_check(*, n: int = 16, reads: int = 4, rows_per_conversion: int = 3, bits: int = 2, seed: int = 5,
                r_wire: float = 0.73, variation: float = 0.05, table: str | Path | None = None,
                spice: SpiceSettings = SpiceSettings()) -> ChainResult:
    """One SPICE netlist of an n x n passive crossbar + per-column SA + mux + flash against the
    behavioral chain (exact crossbar solve → column currents → ADC model with its delay rule).

    Cells hold 1 bit: G_on = LSB / v_read or G_on / 150 (the presets' on/off ratio), each times
    (1 + variation·N(0, 1)) so column sums are not exact multiples of the LSB; each read drives one
    group of ``rows_per_conversion`` rows with random bits, the others rest at the clamp level."""
    from ..models.crossbar import solve_exact
    from ..netlist.adc import render_chain
    from ..spice import get_backend

    from ..errors import ConfigError

    if not 1 <= rows_per_conversion <= n:
        raise ConfigError(f"chain check: {rows_per_conversion} rows per conversion do not fit a {n} x {n} array")
    m = load("flash-current", bits, "nominal", table)
    from ..models.adc import _table, default_table_path

    t = _table(str(Path(table) if table else default_table_path()))
    design = design_for(t.attrs["design"], t.attrs.get("design_by_bits"), bits)
    rng = np.random.default_rng(seed)
    v_read = 0.5
    g_on = design.i_lsb / v_read
    G = np.where(rng.random((n, n)) < 0.5, g_on, g_on / 150.0) * (1 + variation * rng.standard_normal((n, n)))
    P = np.zeros((reads, n))
    for r in range(reads):
        g0 = rng.integers(0, n // rows_per_conversion) * rows_per_conversion
        P[r, g0 : g0 + rows_per_conversion] = rng.random(rows_per_conversion) < 0.6
    v_lo = float(np.interp(design.i_lsb, m.i_grid, m.v_clamp))
    text, slots = render_chain(design, bits, G, P, v_read=v_read, v_lo=v_lo, r_row=r_wire, r_col=r_wire,
                               period=m.period, trim=t[f"b{bits}/trim"])
    res = get_backend(spice.backend).run(text, timeout=spice.timeout)
    tt = res["time"]
    ends = (np.arange(len(slots)) + 1) * m.period - min(m.period * 0.01, 10e-12)
    vdd = design.vdd
    codes_spice = np.sum([np.interp(ends, tt, res[f"v(d{k})"]) > vdd / 2 for k in range(1, 2**bits)], axis=0)
    I = solve_exact(G, v_read * P, r_wire, r_wire)  # [reads, cols]
    seq = np.array([I[r, j] for r, j in slots])
    codes_model = m.convert(seq, m.thresholds_nominal).sum(-1)
    clamp = np.stack([res[f"v(x{j})"] for j in range(n)])
    return ChainResult(n, reads, bits, float(np.mean(codes_spice == codes_model)), codes_spice, codes_model, seq,
                       float(np.ptp(clamp[:, tt > m.period])), res.elapsed_s)


# --------------------------------------------------------------------------- published figures


def published_rows(models: dict[int, FlashAdc]) -> list[tuple[str, str, str, str, str]]:
    """(design, bits, energy per conversion, area, note) — ours computed from the table, the others
    the published figures of shared/REFERENCE.md, with the Walden-rule scalings derived from them."""
    kull_fom = 1.67e-12 / 2**8
    rows = []
    for b, m in sorted(models.items()):
        e = m.energy_per_conversion()
        rows.append((f"cosim flash-current (SPICE, {1 / m.period / 1e6:.0f} MS/s)", str(b), f"{e * 1e15:.1f} fJ",
                     f"{(m.area - m.area_sa) * 1e12:.1f} um^2 (+ {m.area_sa * 1e12:.1f} um^2 SA per column)",
                     f"{e / 2**b * 1e15:.1f} fJ/step"))
        rows.append(("Kull FoM x 2^bits (Walden rule; the presets' former stand-in)", str(b),
                     f"{kull_fom * 2**b * 1e15:.1f} fJ", f"{1200 * 2.0 ** (b - 8):.1f} um^2 (2^bits rule)",
                     f"ours / this = {e / (kull_fom * 2**b):.1f}x"))
        rows.append(("best Walden FoM (Harpe 2013) x 2^bits", str(b), f"{2.2e-15 * 2**b * 1e15:.1f} fJ", "-",
                     f"ours / this = {e / (2.2e-15 * 2**b):.1f}x"))
    rows += [
        ("ISAAC ADC: Kull et al. ISSCC 2013, 8-bit SAR 1.2 GS/s (R2)", "8", "1670 fJ", "1200 um^2",
         "6.5 fJ/step; our 8-bit SAR is the sar-cdac kind (cosim validate adc --kind sar-cdac)"),
        ("NeuroSim SAR model, 32 nm, fixed term (R3)", "5 / 8", "76 / 142 fJ", "-", "derived in REFERENCE.md"),
    ]
    return rows


def why_text(m: FlashAdc) -> str:
    """Why our flash sits far above the figure-of-merit rows, with this table's own figures."""
    i_static = float(np.mean(m.i_supply))
    d01 = max(float(m.delay(0.1 * m.lsb, k, d)) for k in range(1, m.n_comp + 1) for d in ("rise", "fall"))
    return (f"Our flash is far above the figure-of-merit rows because its comparators are continuous-time current "
            f"comparators: the SA output copy, the flash input diode, every comparator branch and the reference "
            f"branch draw static current (mean {i_static * 1e6:.0f} uA at {m.vdd:g} V over the input range, "
            f"{m.bits}-bit) for the whole {m.period * 1e9:g} ns period, so the energy is about I·VDD·T "
            f"({i_static * m.vdd * m.period * 1e15:.0f} fJ) and grows with the period; a latched or SAR converter "
            f"draws charge only when it switches.  The period is set by the comparators' slow resolution of small "
            f"overdrives ({d01 * 1e9:.2f} ns at 0.1 LSB, worst comparator and direction; the mux line carries "
            f"{m.n_mux - 1} idle switches).  The published figures also include their reference and clock "
            f"circuits, which our boundary leaves out (ideal bias and reference sources).")


def write_report(results: list[CornerResult], checks: list[Check], path: str | Path, *, chain: list[ChainResult],
                 models: dict[int, FlashAdc], plot_path: str | None = None, dac: list | None = None) -> Path:
    lines = ["# ADC validation: behavioral model vs ngspice", "",
             "Current-mode sense amplifier (flipped-voltage-follower clamp + output mirror) per column, a 128:1 "
             "column mux and a current-mode flash (netlists/adc_flash.cir.j2, PTM 32 nm HP), calibrated by "
             "`cosim calibrate adc` (calibration/adc.h5).  Held-out Monte Carlo instances, inputs, overdrives and "
             "conversion sequences.", "", "```", format_table(results), "```", "",
             "Columns: th err, the worst |model - SPICE| threshold over the held-out instances (LSB); codes, equal "
             "codes of random inputs per instance (thresholds from the DC sweeps); tran, equal codes of the held-out "
             "conversion sequences at the conversion period, and tran>e the same for conversions farther from every "
             "threshold than th err (closer ones go either way within the static model's error); sigma, the top "
             "threshold's offset sigma with its 95 % confidence interval, simultaneous over the 2^b - 1 thresholds "
             "(Bonferroni; every threshold below); delay and near, the worst delay error at overdrives >= 0.1 LSB "
             "from the far and from held-out near starts; noise, the input-referred rms (LSB); trnoise, the codes a "
             "trnoise source of that density changed.", ""]
    lines += ["## Offset sigma per threshold", "",
              "SPICE sigma of the held-out instances [simultaneous 95 % interval] / the model's (LSB), threshold 1 first.",
              "", "| bits | corner | per threshold |", "| --- | --- | --- |"]
    lines += [f"| {r.bits} | {r.corner} | " + "; ".join(
        f"{a:.3f} [{lo:.3f}, {hi:.3f}] / {mo:.3f}"
        for a, lo, hi, mo in zip(r.sigma_spice_lsb, r.sigma_ci_lsb[0], r.sigma_ci_lsb[1], r.sigma_model_lsb)) + " |"
              for r in results]
    lines += [""]
    failed = [c for c in checks if not c.passed]
    lines += [f"Checks: {len(checks) - len(failed)} passed, {len(failed)} failed."]
    lines += [f"- FAILED {c.name}: {c.value:.3e} > {c.target:.1e}" for c in failed]
    if chain:
        lines += ["", "## Whole chain", "",
                  "One SPICE netlist of an n x n passive crossbar + a sense amplifier per column + mux + flash against "
                  "the behavioral chain (exact crossbar solve → ADC model); each read drives one group of 2^bits - 1 "
                  "rows (the rows one conversion resolves exactly) with random bits.", ""]
        lines += [f"- {c.bits}-bit, {c.n} x {c.n}: codes agree on {c.agree:.2%} of {len(c.codes_spice)} conversions "
                  f"({c.reads} reads x {c.n} columns); ngspice {c.spice_s:.1f} s." for c in chain]
    if dac:
        lines += ["", "## Row driver (1-bit DAC)", "", "| corner | energy error | delay error | on-resistance |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| {r.corner} | {r.energy_err:.1%} | {r.delay_err:.1%} | {r.r_on:.1f} ohm |" for r in dac]
    lines += ["", "## Energy and area next to published ADCs", "",
              "| design | bits | energy / conversion | area | note |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in published_rows(models)]
    lines += ["", why_text(models[max(models)]), ""]
    if plot_path:
        lines += [f"![thresholds]({Path(plot_path).name})", ""]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path
