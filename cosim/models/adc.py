"""Behavioral models of the sense amplifier + mux + flash ADC, from the calibrated table.

numpy only.  Everything is per corner (``nominal``, ``cold``, ``hot``, ``vdd-10%``, ``vdd+10%`` as
calibrated); a corner or resolution that was not calibrated is refused, never extrapolated.

* thresholds of an instance: a fitted function of the instance's per-device threshold shifts ΔV_T
  (the same draw that SPICE receives as DELVTO) — the logarithm of the current the flash sees at the
  threshold, ln((I_th + I_b) / I_lsb), linear in the shifts of the devices a comparator depends on,
  quadratic in those of its mirrors, clamp, references and selected mux switch, cubic in the switch's.  Mirror errors multiply, so in the log
  they add: leave-one-out on 300 instances, the share of uniform inputs whose code the fit's threshold
  errors change is 0.04 % against 0.07 % for the same features on I_th itself at 2 bits (27 °C), and
  0.05 % against 0.09 % at 3 bits (85 °C);
* offsets: the distribution of those thresholds over Monte Carlo draws (sampled, or as σ);
* delay of a decision: the calibrated delay against overdrive from the far start (zero input for a
  rising, full scale for a falling decision), scaled for a start closer to the threshold by the
  calibrated near-start ratio (interpolated in log overdrive and log start distance);
* codes of a sequence of inputs at the conversion period: each comparator's output flips once the
  input has been on the other side of its threshold for that delay (from the last input on the old
  side); a decision not finished within one period carries over to the next;
* energy per conversion: the static supply power at the held input over the period plus a
  transition energy fitted on the input step (up / down, its square, its start) and the toggles;
* area: device areas by the stated layout rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from ..errors import CalibrationError, ModelRangeError, UnknownNameError
from ..store import Table, read_table

SHARED = ("MPB", "M2", "MPL", "M1", "MO", "MS", "MPIN", "MRD")
"""Devices every comparator's threshold depends on (bias, clamp, output mirror, mux, input diode,
reference diode); each comparator adds its own six (MPk, MRk and the two inverters)."""


#: Devices whose mismatch enters a comparator's threshold only weakly (its two inverters sit behind a
#: high-gain node): linear terms only.
WEAK = ("MIN", "MIP", "MJN", "MJP")

#: Devices that also get a cubic term: the selected mux switch carries the whole signal current, and its
#: drop takes headroom from the SA's output mirror — at 3 bits an instance with the switch's ΔV_T at
#: +3.5 σ (+50 mV) put its top threshold 0.064 LSB off a fit with linear switch terms only (300
#: instances, leave-one-out, VDD -10 %); with its products 0.034, with the cube too 0.028.
CUBIC = ("MS",)


def relevant(names: list[str], k: int) -> list[int]:
    own = {f"MP{k}", f"MR{k}", f"MIN{k}", f"MIP{k}", f"MJN{k}", f"MJP{k}"}
    return [i for i, n in enumerate(names) if n in SHARED or n in own]


def features(dvt: np.ndarray, idx: list[int], names: list[str] | None = None) -> np.ndarray:
    """[1, ΔV_T(relevant), products ΔV_T_i·ΔV_T_j (i <= j) of the relevant devices that are not
    :data:`WEAK`, cubes of the relevant :data:`CUBIC` devices] per instance (rows).  Without ``names``
    every relevant device gets products and none a cube."""
    x = np.atleast_2d(dvt)
    main = idx if names is None else [i for i in idx if not names[i].startswith(WEAK)]
    cubic = [] if names is None else [i for i in idx if names[i] in CUBIC]
    xm = x[:, main]
    iu, ju = np.triu_indices(len(main))
    return np.concatenate([np.ones((len(x), 1)), x[:, idx], xm[:, iu] * xm[:, ju], x[:, cubic] ** 3], axis=1)


def log_threshold(th, i_bias: float, lsb: float):
    """The fitted quantity: ln((I_th + I_b) / I_lsb) — the log of the current the flash compares."""
    return np.log((np.asarray(th, dtype=float) + i_bias) / lsb)


def fit_threshold_model(dvt: np.ndarray, thresholds: np.ndarray, names: list[str], n_comp: int, *, i_bias: float,
                        lsb: float):
    """Least-squares fit, per corner and comparator, of :func:`log_threshold` against the features of
    the instance's ΔV_T.  ``thresholds[corner, instance, k]`` (A).  Returns (coef[corner, k, feature],
    feature count per comparator, residual rms of the threshold[corner, k] in A)."""
    n_corner, n_inst, _ = thresholds.shape
    n_feat = [features(dvt[:1], relevant(names, k), names).shape[1] for k in range(1, n_comp + 1)]
    coef = np.zeros((n_corner, n_comp, max(n_feat)))
    resid = np.zeros((n_corner, n_comp))
    for k in range(1, n_comp + 1):
        idx = relevant(names, k)
        F = features(dvt, idx, names)
        if n_inst <= 1.5 * F.shape[1]:  # too few instances for the quadratic terms: linear only
            F = F[:, : 1 + len(idx)]
        for c in range(n_corner):
            y = thresholds[c, :, k - 1]
            sol, *_ = np.linalg.lstsq(F, log_threshold(y, i_bias, lsb), rcond=None)
            coef[c, k - 1, : len(sol)] = sol
            resid[c, k - 1] = float(np.sqrt(np.mean((np.exp(F @ sol) * lsb - i_bias - y) ** 2)))
    return coef, np.array(n_feat), resid


def static_energy(i_grid: np.ndarray, i_supply: np.ndarray, levels: np.ndarray, period: float) -> np.ndarray:
    """Static supply energy (J) of holding each input level for one period (DC supply current,
    interpolated in the calibrated sweep) — at the supply of the corner the sweep was run at."""
    return np.interp(levels, i_grid, i_supply) * period


#: Names of the transition-energy features (per conversion, the first conversion all zeros).
TRANSITION_FEATURES = ("up_lsb", "down_lsb", "toggles", "up_lsb^2", "down_lsb^2", "up_lsb*prev_lsb",
                       "down_lsb*prev_lsb", "static/(i_lsb*vdd*period)")


def transition_features(levels: np.ndarray, bits: np.ndarray, lsb: float, static: np.ndarray,
                        unit: float) -> np.ndarray:
    """Per conversion: the input step up and down (LSB), the comparator toggles, the squared steps,
    the steps times the previous input (LSB²) and the static energy in units of ``unit`` (J; I_lsb ·
    VDD · period) — what the energy on top of the static power is fitted against.  The mirrors'
    settling after a step draws more or less than the static current, by how much depends on the step
    and where it starts; and at a short period the nodes never settle, so the static part itself
    needs a scale (the calibration measured about -20 % at 5 ns)."""
    x = np.asarray(levels, dtype=float) / lsb
    dx = np.concatenate([[0.0], np.diff(x)])
    prev = np.concatenate([[x[0]], x[:-1]])
    tog = np.concatenate([[0], np.abs(np.diff(np.asarray(bits, dtype=int), axis=0)).sum(-1)])
    up, down = np.maximum(dx, 0), np.maximum(-dx, 0)
    return np.stack([up, down, tog, up**2, down**2, up * prev, down * prev, np.asarray(static) / unit], -1)


def fit_transition_energy(levels, bits, energy, static, lsb: float, unit: float) -> np.ndarray:
    """Least-squares coefficients (J per unit of each :data:`TRANSITION_FEATURES` entry) of the measured
    energy above the static part, over one calibration sequence (the first conversion left out)."""
    F = transition_features(levels, bits, lsb, static, unit)[1:]
    y = (np.asarray(energy) - np.asarray(static))[1:]
    sol, *_ = np.linalg.lstsq(F, y, rcond=None)
    return sol


#: Time (s) between the middle of an input edge and the sample at the end of its period in the
#: calibration's sequences (half a 20 ps edge, and the sample 10 ps before the period ends).
SAMPLE_MARGIN = 20e-12


def toggles(bits: np.ndarray) -> int:
    """Comparator output changes between consecutive conversions (thermometer bits[n, k])."""
    b = np.asarray(bits, dtype=int)
    return int(np.abs(np.diff(b, axis=0)).sum())


@dataclass
class FlashAdc:
    """One resolution of the calibrated flash ADC at one corner (see :func:`load`)."""

    bits: int
    corner: str
    lsb: float
    vdd: float
    period: float
    thresholds_nominal: np.ndarray
    devices: list[str]
    sigma_vt: np.ndarray
    coef: np.ndarray
    i_grid: np.ndarray
    i_supply: np.ndarray
    v_clamp: np.ndarray
    overdrive_lsb: np.ndarray
    delay_rise: np.ndarray
    delay_fall: np.ndarray
    near_start_lsb: np.ndarray
    """Start distances (LSB) of the near-start delay grid."""
    near_overdrive_lsb: np.ndarray
    delay_near_rise: np.ndarray
    """Delays (s) from near starts: [comparator, start distance, overdrive]."""
    delay_near_fall: np.ndarray
    e_transition: np.ndarray
    """Coefficients of :data:`TRANSITION_FEATURES` (J per unit)."""
    noise_rms: np.ndarray
    """Input-referred rms noise at each threshold (A), from ngspice .noise."""
    area: float
    area_sa: float
    n_mux: int
    i_bias: float
    validated: bool = True

    @property
    def n_comp(self) -> int:
        return 2**self.bits - 1

    # ---- thresholds and offsets
    def thresholds(self, dvt: np.ndarray | None = None) -> np.ndarray:
        """Thresholds (A) of the instance(s) with per-device shifts ``dvt[..., devices]`` (V);
        ``None`` gives the nominal (mismatch-free) ones."""
        if dvt is None:
            return self.thresholds_nominal.copy()
        dvt = np.atleast_2d(np.asarray(dvt, dtype=float))
        if dvt.shape[-1] != len(self.devices):
            raise ModelRangeError(f"mismatch vector has {dvt.shape[-1]} devices, the {self.bits}-bit ADC has "
                                  f"{len(self.devices)}")
        out = np.empty((len(dvt), self.n_comp))
        for k in range(1, self.n_comp + 1):
            F = features(dvt, relevant(self.devices, k), self.devices)
            c = self.coef[k - 1]
            if not np.any(c[1 + len(relevant(self.devices, k)):]):
                F = F[:, : 1 + len(relevant(self.devices, k))]
            out[:, k - 1] = np.exp(F @ c[: F.shape[1]]) * self.lsb - self.i_bias
        return out

    def draw_dvt(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` Monte Carlo instances' ΔV_T (V), Pelgrom σ per device."""
        return rng.standard_normal((n, len(self.devices))) * self.sigma_vt

    def offsets_lsb(self, rng: np.random.Generator, n: int = 2000) -> np.ndarray:
        """Threshold offsets (LSB) of ``n`` sampled instances relative to the ideal (k - 1/2) LSB."""
        th = self.thresholds(self.draw_dvt(rng, n))
        return th / self.lsb - (np.arange(1, self.n_comp + 1) - 0.5)

    def noise_lsb(self) -> float:
        """The largest input-referred rms noise over the thresholds (LSB) — what a conversion sees at
        worst (thermal + flicker above 1 MHz; drifts below act as offset)."""
        return float(np.max(self.noise_rms) / self.lsb)

    # ---- codes
    def codes(self, i_in, thresholds: np.ndarray | None = None) -> np.ndarray:
        """Static codes (number of thresholds below the input) — DC transfer."""
        th = self.thresholds_nominal if thresholds is None else np.asarray(thresholds)
        x = np.asarray(i_in, dtype=float)
        return (x[..., None] > th).sum(-1)

    def _far_lsb(self, k: int, direction: str, threshold_a: float | None = None) -> float:
        """Distance (LSB) of the calibration's far start from threshold ``k`` (the nominal one, or
        ``threshold_a``, A): zero input for rise, full scale for fall."""
        th = (self.thresholds_nominal[k - 1] if threshold_a is None else threshold_a) / self.lsb
        return float(th if direction == "rise" else 2**self.bits - th)

    def _far_delay(self, od_lsb, k: int, direction: str) -> np.ndarray:
        """The far-start delay (s) at overdrives ``od_lsb`` (LSB, > 0): the calibrated table
        log-interpolated, held above it and ∝ 1/overdrive below it (there the comparator node slews on
        the overdrive current alone)."""
        table = (self.delay_rise if direction == "rise" else self.delay_fall)[k - 1]
        od = np.asarray(od_lsb, dtype=float)
        far = np.exp(np.interp(np.log(od), np.log(self.overdrive_lsb), np.log(table)))
        return far * np.maximum(self.overdrive_lsb[0] / od, 1.0)

    def _delays(self, od_lsb, sd_lsb, k: int, direction: str, far_lsb: float) -> np.ndarray:
        """Delays (s) at overdrives ``od_lsb`` from starts ``sd_lsb`` (LSB, arrays of one shape) on the
        other side of threshold ``k``, whose far start lies ``far_lsb`` away: the far-start delay times
        the near-start ratio, log-interpolated in overdrive over the near grid (held beyond it) and in
        start distance between the grid distances closer than the far start and the far start itself
        (ratio 1; held below the smallest grid distance)."""
        od = np.maximum(np.asarray(od_lsb, dtype=float), 1e-9)
        sd = np.maximum(np.asarray(sd_lsb, dtype=float), 1e-9)
        far = self._far_delay(od, k, direction)
        use = self.near_start_lsb < far_lsb  # grid distances the far start does not cover
        if not np.any(use):
            return far
        near = (self.delay_near_rise if direction == "rise" else self.delay_near_fall)[k - 1][use]
        nods = self.near_overdrive_lsb
        log_ratio = np.log(near / self._far_delay(nods, k, direction))  # [start distance, near overdrive]
        rows = np.array([np.interp(np.log(od), np.log(nods), r) for r in log_ratio] + [np.zeros(od.shape)])
        xs = np.log(np.append(self.near_start_lsb[use], far_lsb))  # increasing
        x = np.clip(np.log(sd), xs[0], xs[-1])
        i = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, len(xs) - 2)
        w = (x - xs[i]) / (xs[i + 1] - xs[i])
        lr = np.take_along_axis(rows, i[None], 0)[0] * (1 - w) + np.take_along_axis(rows, i[None] + 1, 0)[0] * w
        return far * np.exp(lr)

    def delay(self, overdrive_a, k: int, direction: str, start_a: float | None = None,
              threshold_a: float | None = None) -> np.ndarray:
        """Delay (s) of comparator ``k`` for an input step ending ``overdrive`` (A) beyond its threshold
        (``threshold_a``, A: a Monte Carlo instance's; default the nominal one), from ``start_a`` (A;
        default the calibration's far start: zero input for rise, full scale for fall).  The far start
        gives the calibrated table; a nearer one scales it by the calibrated near-start ratio
        (:meth:`_delays`)."""
        od = np.maximum(np.abs(np.asarray(overdrive_a, dtype=float)) / self.lsb, 1e-9)
        if start_a is None:
            return self._far_delay(od, k, direction)
        th = self.thresholds_nominal[k - 1] if threshold_a is None else float(threshold_a)
        sd = np.full(od.shape, abs(float(start_a) - th) / self.lsb)
        return self._delays(od, sd, k, direction, self._far_lsb(k, direction, th))

    def convert(self, levels, thresholds: np.ndarray | None = None, period: float | None = None) -> np.ndarray:
        """Thermometer bits[n, k] sampled at the end of each period for a sequence of input levels (A).

        A comparator's output flips once the input has stayed on the other side of its threshold for the
        decision's :meth:`delay` — at the present overdrive, from the last input on the old side (the
        start distance sets how far the front end swings) — plus the half input edge before sampling; a
        decision that needs more than one period carries its elapsed time over while the input stays on
        that side.  The first conversion is settled."""
        th = self.thresholds_nominal if thresholds is None else np.asarray(thresholds, dtype=float)
        period = self.period if period is None else period
        x = np.asarray(levels, dtype=float)
        out = np.zeros((len(x), self.n_comp), bool)
        if not len(x):
            return out
        for k in range(self.n_comp):
            above = x > th[k]
            # the delay of every fresh attempt (from the previous input), both directions at once
            fresh = np.full(len(x), np.inf)
            od, sd = np.abs(x[1:] - th[k]) / self.lsb, np.abs(x[:-1] - th[k]) / self.lsb
            for direction, m in (("rise", above[1:]), ("fall", ~above[1:])):
                if m.any():
                    fresh[1:][m] = self._delays(od[m], sd[m], k + 1, direction,
                                                self._far_lsb(k + 1, direction, th[k]))
            side, elapsed, start = bool(above[0]), 0.0, None
            for n in range(len(x)):
                if n and above[n] != side:
                    if start is None:
                        start, elapsed, d = x[n - 1], period, fresh[n]
                    else:  # carried over from an unfinished decision: the same start, this overdrive
                        elapsed += period
                        d = float(self.delay(x[n] - th[k], k + 1, "rise" if above[n] else "fall", start, th[k]))
                    if elapsed >= d + SAMPLE_MARGIN:
                        side, start = bool(above[n]), None
                elif n:
                    start = None
                out[n, k] = side
        return out

    # ---- energy, timing, area
    def energy(self, levels, bits: np.ndarray | None = None, period: float | None = None) -> np.ndarray:
        """Supply energy (J) of each conversion in a sequence: static power at the held input over the
        period plus the transition energy (fitted on the input step, its start and the toggles)."""
        period = self.period if period is None else period
        levels = np.asarray(levels, dtype=float)
        bits = self.convert(levels, period=period) if bits is None else np.asarray(bits)
        e = static_energy(self.i_grid, self.i_supply, levels, period)
        unit = self.lsb * self.vdd * period
        return e + transition_features(levels, bits, self.lsb, e, unit) @ self.e_transition

    def energy_per_conversion(self, rng: np.random.Generator | None = None, n: int = 4000) -> float:
        """Mean energy (J) of a conversion of uniformly random inputs over the full range (the default
        draw, ``rng=None`` and ``n=4000``, is computed once per model)."""
        if rng is None and n == 4000:
            return self._default_energy_per_conversion
        rng = rng or np.random.default_rng(0)
        return float(np.mean(self.energy(rng.uniform(0, 2**self.bits * self.lsb, n))))

    @cached_property
    def _default_energy_per_conversion(self) -> float:
        return self.energy_per_conversion(np.random.default_rng(0), 4000)

    def sa_energy_per_read(self, t_active: float) -> float:
        """Energy (J) of one column's sense amplifier held active for ``t_active`` (s): its clamp bias
        current I_b from VDD (its output copy is counted in the ADC's conversions)."""
        return self.i_bias * self.vdd * t_active

    def min_overdrive_lsb(self, period: float | None = None) -> float:
        """Smallest overdrive (LSB) every comparator resolves within ``period``, both directions."""
        period = self.period if period is None else period
        grid = np.geomspace(1e-3, 4, 400)
        worst = np.max([self.delay(grid * self.lsb, k, d) for k in range(1, self.n_comp + 1)
                        for d in ("rise", "fall")], axis=0)
        ok = grid[worst <= period]
        return float(ok[0]) if len(ok) else math.inf


# --------------------------------------------------------------------------- the row driver (1-bit DAC)


def _dac_features(n, g_total, t_pulse):
    n = np.asarray(n, dtype=float)
    return np.stack([np.ones_like(n), n, np.asarray(g_total, dtype=float) * t_pulse], -1)


def _dac_delay_features(n, g_total):
    n = np.asarray(n, dtype=float)
    return np.stack([np.ones_like(n), n, n**2, np.asarray(g_total, dtype=float) * n], -1)


def fit_dac(n, g_total, e_dac, delay, t_pulse: float) -> tuple[np.ndarray, np.ndarray]:
    """Per corner (rows): energy = a + b·n + c·G_total·t_pulse (switching of the driver, the row's
    charge, and the clamp-level share of the row current) and delay = d0 + d1·n + d2·n² + d3·G·n
    (Elmore-like in the row length, slowed by the cell load).  Least squares over the calibration sizes."""
    ec, dc = [], []
    for c in range(len(n)):
        ec.append(np.linalg.lstsq(_dac_features(n[c], g_total[c], t_pulse), e_dac[c], rcond=None)[0])
        dc.append(np.linalg.lstsq(_dac_delay_features(n[c], g_total[c]), delay[c], rcond=None)[0])
    return np.array(ec), np.array(dc)


@dataclass
class RowDriver:
    """The calibrated 1-bit DAC / row driver at one corner."""

    corner: str
    energy_coef: np.ndarray
    delay_coef: np.ndarray
    area: float
    r_on: float
    sizes: tuple[int, int]
    v_read: float = 0.5
    """Row swing the driver was calibrated for (V)."""

    def energy(self, n: int, g_total: float, t_pulse: float) -> float:
        """Energy (J) of one input pulse of ``t_pulse`` driving ``n`` cells of total conductance
        ``g_total`` (S), inside the DAC boundary (see netlists/dac_driver.cir.j2)."""
        self._check(n)
        return float(_dac_features(n, g_total, t_pulse) @ self.energy_coef)

    def delay(self, n: int, g_total: float) -> float:
        """Delay (s) from the input edge to half swing at the far end of the row."""
        self._check(n)
        return float(_dac_delay_features(n, g_total) @ self.delay_coef)

    def _check(self, n: int) -> None:
        if not self.sizes[0] <= n <= self.sizes[1]:
            raise ModelRangeError(f"row driver calibrated for {self.sizes[0]}..{self.sizes[1]} cells per row, "
                                  f"not {n}")


def load_dac(corner: str = "nominal", path: str | Path | None = None) -> RowDriver:
    t = _table(str(Path(path) if path else default_table_path()))
    names = [str(x) for x in t["corners/name"]]
    if corner not in names:
        raise UnknownNameError("DAC corner", corner, names)
    c = names.index(corner)
    try:
        sizes = [int(x) for x in t.attrs["dac_load"]["sizes"]]
    except KeyError:
        raise CalibrationError(f"ADC table {t.path} has no row-driver calibration; regenerate it with "
                               "'cosim calibrate adc'") from None
    return RowDriver(corner, t["dac/energy_coef"][c], t["dac/delay_coef"][c], float(t["dac/area"]),
                     float(np.nanmedian(t["dac/r_on"][c])), (min(sizes), max(sizes)),
                     float(t.attrs.get("dac_design", {}).get("v_read", 0.5)))


# --------------------------------------------------------------------------- registry and loading


#: ADC kinds: name -> (resolutions calibrated by that kind's table, description).
ADC_KINDS: dict[str, str] = {
    "flash-current": "current-mode SA (FVF clamp + mirror) + column mux + current-mode flash, 1-3 bits (SPICE-calibrated)",
    "sar-cdac": "charge-redistribution SAR: binary capacitor DAC + StrongARM comparator, 4 and 8 bits "
                "(SPICE-calibrated, calibration/adc_sar.h5; cosim.models.sar)",
}


def default_table_path() -> Path:
    from ..resources import calibration_dir

    return calibration_dir() / "adc.h5"


@cache
def _table(path: str) -> Table:
    return read_table(path, "cosim.adc")


def load(kind: str = "flash-current", bits: int = 2, corner: str = "nominal", path: str | Path | None = None) -> FlashAdc:
    """The calibrated model of one ADC kind, resolution and corner; anything not calibrated is refused
    with the valid choices."""
    if kind not in ADC_KINDS:
        raise UnknownNameError("ADC kind", kind, ADC_KINDS)
    if kind == "sar-cdac":
        from . import sar

        return sar.load(bits, corner, path)
    t = _table(str(Path(path) if path else default_table_path()))
    have_bits = [int(b) for b in t.attrs["bits"]]
    if bits not in have_bits:
        raise ModelRangeError(f"{kind} ADC: {bits}-bit not calibrated (table {t.path} has "
                              f"{', '.join(map(str, have_bits))} bits); higher resolutions are not modelled")
    names = [str(x) for x in t["corners/name"]]
    if corner not in names:
        raise UnknownNameError("ADC corner", corner, names)
    c = names.index(corner)
    g = f"b{bits}"
    d = {**t.attrs["design"], **(t.attrs.get("design_by_bits") or {}).get(str(bits), {})}  # this resolution's design
    try:
        return FlashAdc(
            bits=bits, corner=corner, lsb=float(d["i_lsb"]), vdd=float(t["corners/vdd"][c]),
            period=float(t[f"{g}/period"]), thresholds_nominal=t[f"{g}/thresholds"][c],
            devices=[str(x) for x in t[f"{g}/devices"]], sigma_vt=t[f"{g}/sigma_vt"], coef=t[f"{g}/fit_coef"][c],
            i_grid=t[f"{g}/i_in"], i_supply=t[f"{g}/i_supply"][c], v_clamp=t[f"{g}/v_clamp"][c],
            overdrive_lsb=t[f"{g}/overdrive_lsb"], delay_rise=t[f"{g}/delay"][0, c], delay_fall=t[f"{g}/delay"][1, c],
            near_start_lsb=t[f"{g}/near_start_lsb"], near_overdrive_lsb=t[f"{g}/near_overdrive_lsb"],
            delay_near_rise=t[f"{g}/delay_near"][0, c], delay_near_fall=t[f"{g}/delay_near"][1, c],
            e_transition=t[f"{g}/e_transition"][c], noise_rms=t[f"{g}/noise_rms"][c], area=float(t[f"{g}/area"]), area_sa=float(t[f"{g}/area_sa"]),
            n_mux=int(d["n_mux"]), i_bias=float(d["i_bias"]),
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise CalibrationError(f"ADC table {t.path} is incomplete ({exc}); regenerate it with 'cosim calibrate adc'") from None
