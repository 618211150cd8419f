"""Behavioral model of the charge-redistribution SAR ADC, from the calibrated table.

numpy only.  Per resolution (as calibrated: 4 and 8 bits) and corner; anything else is refused.

* codes: the binary search itself — at cycle j (bit c = bits - 1 - j, MSB first) the input is
  compared with the trial level (code so far + 2^c) LSB plus the decision offset ``s[j]`` of that
  cycle, measured in SPICE (the comparator's kickback, charge sharing and the array's top-plate
  parasitic make it cycle-dependent); a Monte Carlo instance shifts every decision by its
  comparator offset — the bench flip point (a quadratic fit in its devices' ΔV_T, on comparator
  instances driven by ideal sources) referred to the input through the array's attenuation ``a``,
  plus the in-SAR correction (linear in the ΔV_T, fitted per resolution and corner on instances
  converted by the whole SAR: with its top plate floating the latch's mismatch refers to the input
  through a lower gain — without it, 8-bit thresholds of Monte Carlo instances missed by up to
  0.13 LSB);
* thresholds: the input of each code transition k, decided at the cycle of k's lowest set bit;
* energy per conversion: the comparator's VDD energy per decision times the number of decisions,
  plus the capacitor DAC's draw from VREF and the top plate's from VCM, computed from the charge
  on the array along the conversion's own switching path (ideal capacitors, the measured
  attenuation), with one fitted scale per supply;
* delay of a decision against overdrive: the calibrated table (log-interpolated);
* area: device areas by the stated layout rule plus the capacitors at a stated density.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import CalibrationError, ModelRangeError, UnknownNameError
from ..store import Table, read_table


def decisions_from_codes(codes, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Per conversion and cycle j (MSB first): the trial level in LSB and whether the bit was kept."""
    codes = np.asarray(codes, dtype=int)
    trial = np.zeros((len(codes), bits))
    kept = np.zeros((len(codes), bits), bool)
    for j in range(bits):
        c = bits - 1 - j
        above = (codes >> (c + 1)) << (c + 1)
        trial[:, j] = above + 2**c
        kept[:, j] = (codes >> c) & 1 == 1
    return trial, kept


def fit_decision_offsets(vin, codes, bits: int, lsb: float) -> tuple[np.ndarray, np.ndarray]:
    """Decision offset of every cycle (V): the ``s`` that best separates kept (vin > trial + s) from
    dropped decisions over all conversions, and the width of the bracket that pins it (V)."""
    trial, kept = decisions_from_codes(codes, bits)
    m = np.asarray(vin, dtype=float)[:, None] - trial * lsb
    s = np.zeros(bits)
    width = np.zeros(bits)
    for j in range(bits):
        x, k = m[:, j], kept[:, j]
        cand = np.sort(x)
        cand = np.concatenate([[cand[0] - lsb], 0.5 * (cand[1:] + cand[:-1]), [cand[-1] + lsb]])
        err = np.array([np.sum(k & (x <= c)) + np.sum(~k & (x > c)) for c in cand])
        best = np.nonzero(err == err.min())[0]
        s[j] = 0.5 * (cand[best[0]] + cand[best[-1]])
        lo = x[(~k) & (x <= s[j])]
        hi = x[k & (x > s[j])]
        width[j] = (hi.min() if len(hi) else np.inf) - (lo.max() if len(lo) else -np.inf)
    return s, width


def sar_codes(vin, s: np.ndarray, bits: int, lsb: float, shift=0.0) -> np.ndarray:
    """Codes of the binary search with decision offsets ``s[j]`` (V) and an instance ``shift`` (V)."""
    vin = np.asarray(vin, dtype=float)
    code = np.zeros(vin.shape, dtype=int)
    for j in range(bits):
        c = bits - 1 - j
        keep = vin > (code + 2**c) * lsb + s[j] + shift
        code = code + keep * 2**c
    return code


def switching_charge(vin, codes, bits: int, *, v_ref: float, v_cm: float, c_unit: float, a: float):
    """Charge (C) each conversion draws from VREF and from VCM, from the array's own switching path.

    Bottom plates at v_i (0 or VREF) and the top plate x obey charge conservation on x: x moves by
    a·VREF·C_i/C_array when plate i rises (a = C_array / (C_array + parasitics)).  A rising plate i
    and every plate already at VREF draw C_i·Δ(VREF - x); the top plate's reset to VCM draws the
    change of the charge on x (array plus parasitic) from VCM.  Events per conversion: sampling (the
    plates at the input, x at VCM), hold (plates to 0), then per cycle: the trial plate up, and at
    the decision a dropped plate down."""
    vin = np.asarray(vin, dtype=float)
    codes = np.asarray(codes, dtype=int)
    C = c_unit * 2.0 ** np.arange(bits)
    c_arr = c_unit * 2**bits
    c_tot = c_arr / a
    n = len(vin)
    q_ref = np.zeros(n)
    q_cm = np.zeros(n)
    prev_x, prev_v = v_cm, np.zeros(bits)  # state before the first sampling (after reset)
    prev_in = vin[0]
    for i in range(n):
        # sampling: plates to vin (from the input driver), x to v_cm: VCM supplies the change of x's charge
        q_before = np.sum(C * (prev_x - prev_v)) + c_unit * (prev_x - prev_in) + (c_tot - c_arr) * prev_x
        q_after = (c_arr) * (v_cm - vin[i]) + (c_tot - c_arr) * v_cm
        q_cm[i] = q_after - q_before
        # hold: every plate to 0: x = v_cm - a·vin
        v = np.zeros(bits)
        x = v_cm - a * vin[i]
        for j in range(bits):
            c = bits - 1 - j
            v_new = v.copy()
            v_new[c] = v_ref
            x_new = x + a * v_ref * C[c] / c_arr
            up = v_new == v_ref
            q_ref[i] += np.sum(C[up] * ((v_ref - x_new) - (v[up] - x)))
            v, x = v_new, x_new
            if not (codes[i] >> c) & 1:  # dropped: plate back to 0, the plates at VREF supply the change
                v_new = v.copy()
                v_new[c] = 0.0
                x_new = x - a * v_ref * C[c] / c_arr
                up = v_new == v_ref
                q_ref[i] += np.sum(C[up] * ((v_ref - x_new) - (v_ref - x)))
                v, x = v_new, x_new
        prev_x, prev_v, prev_in = x, v, vin[i]
    return q_ref, q_cm


@dataclass
class SarAdc:
    """One resolution of the calibrated SAR ADC at one corner (see :func:`load`)."""

    bits: int
    corner: str
    v_ref: float
    v_cm: float
    vdd: float
    c_unit: float
    period: float
    s: np.ndarray
    """Decision offset of each cycle (V), MSB first, at the mismatch-free instance."""
    a: float
    """Attenuation of the array at the top plate, C_array / (C_array + parasitics)."""
    f_nominal: float
    """The mismatch-free comparator's flip point (inn - inp, V) on the bench."""
    devices: list[str]
    sigma_vt: np.ndarray
    coef: np.ndarray
    """Comparator flip point against the instance's ΔV_T (features of :func:`offset_features`)."""
    insar_coef: np.ndarray
    """In-SAR correction of the shift (V) against [1, ΔV_T of every device]."""
    e_cmp: float
    """Comparator VDD energy per decision (J)."""
    k_ref: float
    """Scale of the computed VREF energy (SPICE / ideal-capacitor charge, fitted)."""
    k_cm: float
    overdrive_lsb: np.ndarray
    delay: np.ndarray
    area: float
    kt_c_noise: float
    """Sampled kT/C noise referred to the input (V rms)."""
    validated: bool = True

    @property
    def lsb(self) -> float:
        return self.v_ref / 2**self.bits

    def flip(self, dvt=None) -> np.ndarray:
        """Comparator flip points (V) of the instance(s) with ΔV_T ``dvt[..., devices]``."""
        if dvt is None:
            return np.array([self.f_nominal])
        dvt = np.atleast_2d(np.asarray(dvt, dtype=float))
        if dvt.shape[-1] != len(self.devices):
            raise ModelRangeError(f"mismatch vector has {dvt.shape[-1]} devices, the SAR comparator has "
                                  f"{len(self.devices)}")
        return offset_features(dvt, self.devices) @ self.coef

    def bench_shift(self, dvt=None) -> np.ndarray:
        """The comparator's offset on the bench (ideal-source inputs) referred to the SAR's input (V)."""
        return -(self.flip(dvt) - self.f_nominal) / self.a

    def shift(self, dvt=None) -> np.ndarray:
        """Input-referred shift of every decision (V) of the instance(s) in the SAR, relative to the
        mismatch-free one: the bench offset plus the in-SAR correction."""
        if dvt is None:
            return np.zeros(1)
        x = np.atleast_2d(np.asarray(dvt, dtype=float))
        return self.bench_shift(x) + insar_features(x, self.devices) @ self.insar_coef

    def codes(self, vin, dvt=None) -> np.ndarray:
        """Codes of the inputs ``vin`` (V) for one instance (``dvt`` one vector, or None)."""
        sh = 0.0 if dvt is None else float(self.shift(dvt)[0])
        return sar_codes(vin, self.s, self.bits, self.lsb, sh)

    def thresholds(self, dvt=None) -> np.ndarray:
        """Input (V) of every code transition k = 1 .. 2^bits - 1."""
        sh = 0.0 if dvt is None else float(self.shift(dvt)[0])
        k = np.arange(1, 2**self.bits)
        low = np.array([(int(x) & -int(x)).bit_length() - 1 for x in k])  # lowest set bit
        return k * self.lsb + self.s[self.bits - 1 - low] + sh

    def draw_dvt(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.standard_normal((n, len(self.devices))) * self.sigma_vt

    def offsets_lsb(self, rng: np.random.Generator, n: int = 2000) -> np.ndarray:
        """Offsets (LSB) of ``n`` sampled instances: their shift plus the nominal mid-scale offset."""
        mid = self.s[0] / self.lsb
        return self.shift(self.draw_dvt(rng, n)) / self.lsb + mid

    def noise_lsb(self) -> float:
        return self.kt_c_noise / self.lsb

    def energy(self, vin, codes=None) -> np.ndarray:
        """Energy (J) of each conversion of the sequence ``vin``, inside the boundary (VDD, VREF, VCM)."""
        vin = np.asarray(vin, dtype=float)
        codes = self.codes(vin) if codes is None else np.asarray(codes)
        q_ref, q_cm = switching_charge(vin, codes, self.bits, v_ref=self.v_ref, v_cm=self.v_cm, c_unit=self.c_unit,
                                       a=self.a)
        return self.bits * self.e_cmp + self.k_ref * self.v_ref * q_ref + self.k_cm * self.v_cm * q_cm

    def energy_per_conversion(self, rng: np.random.Generator | None = None, n: int = 2000) -> float:
        rng = rng or np.random.default_rng(0)
        return float(np.mean(self.energy(rng.uniform(0, self.v_ref, n))))

    def decision_delay(self, overdrive_v) -> np.ndarray:
        """Clock edge to output crossing VDD/2 (s) at ``overdrive`` (V), log-interpolated."""
        od = np.maximum(np.abs(np.asarray(overdrive_v, dtype=float)) / self.lsb, 1e-9)
        return np.interp(np.log(od), np.log(self.overdrive_lsb), self.delay)


#: Comparator devices whose ΔV_T enter the bench flip point quadratically (products i <= j): the input
#: pair, the latch and the output buffers, which load the latch nodes while they regenerate (without the
#: buffers' products the fit left 12-18 µV rms on 200 instances, one instance 118 µV off at 0 °C — its
#: largest shift an output buffer's; with them 4-10 µV in-sample).
OFFSET_QUADRATIC = ("M1", "M2", "M3", "M4", "M5", "M6", "MBN", "MBP", "MCN", "MCP")


def offset_features(dvt: np.ndarray, names: list[str]) -> np.ndarray:
    """[1, ΔV_T of every device, products of the ΔV_T of the :data:`OFFSET_QUADRATIC` devices (i <= j)]."""
    x = np.atleast_2d(dvt)
    main = [i for i, n in enumerate(names) if n in OFFSET_QUADRATIC]
    xm = x[:, main]
    iu, ju = np.triu_indices(len(main))
    return np.concatenate([np.ones((len(x), 1)), x, xm[:, iu] * xm[:, ju]], axis=1)


def insar_features(dvt: np.ndarray, names: list[str], n_fit: int | None = None) -> np.ndarray:
    """[1, ΔV_T of every device] — or, when fewer than 1.5x as many instances as those features are
    fitted, [1, ΔV_T of the tail, input pair and latch] (the other columns zero)."""
    x = np.atleast_2d(dvt)
    F = np.concatenate([np.ones((len(x), 1)), x], axis=1)
    if n_fit is not None and n_fit <= 1.5 * F.shape[1]:
        keep = [0] + [1 + k for k, nm in enumerate(names) if nm in ("MT", "M1", "M2", "M3", "M4", "M5", "M6")]
        F[:, [k for k in range(F.shape[1]) if k not in keep]] = 0.0
    return F


def default_table_path() -> Path:
    from ..resources import calibration_dir

    return calibration_dir() / "adc_sar.h5"


@cache
def _table(path: str) -> Table:
    return read_table(path, "cosim.sar")


def load(bits: int = 8, corner: str = "nominal", path: str | Path | None = None) -> SarAdc:
    t = _table(str(Path(path) if path else default_table_path()))
    have = [int(b) for b in t.attrs["bits"]]
    if bits not in have:
        raise ModelRangeError(f"sar-cdac ADC: {bits}-bit not calibrated (table {t.path} has "
                              f"{', '.join(map(str, have))} bits)")
    names = [str(x) for x in t["corners/name"]]
    if corner not in names:
        raise UnknownNameError("ADC corner", corner, names)
    c = names.index(corner)
    d = t.attrs["design"]
    g = f"b{bits}"
    try:
        return SarAdc(bits=bits, corner=corner, v_ref=float(d["v_ref"]), v_cm=float(d["v_cm"]),
                      vdd=float(t["corners/vdd"][c]), c_unit=float(d["c_unit"]),
                      period=float(d["t_sample"]) + bits * float(d["t_bit"]), s=t[f"{g}/s"][c], a=float(t[f"{g}/a"][c]),
                      f_nominal=float(t["comparator/f_nominal"][c]), devices=[str(x) for x in t["comparator/devices"]],
                      sigma_vt=t["comparator/sigma_vt"], coef=t["comparator/fit_coef"][c],
                      insar_coef=t[f"{g}/insar_coef"][c],
                      e_cmp=float(t[f"{g}/e_cmp"][c]), k_ref=float(t[f"{g}/k_ref"][c]), k_cm=float(t[f"{g}/k_cm"][c]),
                      overdrive_lsb=t["comparator/overdrive_v"] / (float(d["v_ref"]) / 2**bits),
                      delay=t["comparator/delay"][c], area=float(t[f"{g}/area"]),
                      kt_c_noise=float(t[f"{g}/kt_c_noise"][c]))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise CalibrationError(f"SAR table {t.path} is incomplete ({exc}); regenerate it with "
                               "'cosim calibrate adc --kind sar-cdac'") from None
