"""Crossbar execution of the integer products: explicit (every digit, slice and conversion) and fast.

Operands.  Every product ``a @ b`` keeps one operand in crossbar cells (*stored*, ``S[K, C]``: K
rows summed, C columns) and drives the other into the rows (*streamed*, ``U[R, K]``: R reads), as
the preset says: ``compute.stationary = weights`` stores the weights and streams the layer input;
``activations`` (the seed design as we read it) stores the layer input and streams the weights.
Attention on crossbars stores Kᵀ (for Q·Kᵀ) and V (for scores·V) and streams Q and the scores.

Encoding.  The streamed operand goes in through the DAC ``dac_bits`` per read, least significant
digit first: ``input_sign = two_pass`` streams the magnitudes of the positive values, then of the
negative ones (the second pass subtracted digitally); ``offset`` streams ``u + 2^(b−1)``.  The stored operand is sliced over cells of
``cell_bits``: ``offset`` sign stores ``s + 2^(b−1)`` (one column per slice), ``differential``
stores |s| on a positive or a negative column per slice.  Offsets are removed digitally with exact
operand sums (the digital unit holds both operands).

One conversion.  ``rows_per_conversion`` rows of one array (groups never span arrays of
``compute.rows`` rows) are driven together; the column current, in units of one level step ΔG at
a full DAC input, is

    i = Σ_k v_k · (g_k · γ_k − g_off)  (+ RTN)

with g_k the cell's programmed conductance (level + G_off/ΔG, programming error and device
variation, or its stuck value), γ_k the IR-drop/nonlinearity gain at the cell's position and
g_off the nominal off-state current a reference column cancels.  RTN adds, per cell per read, a
telegraph state ±a·g_k·γ_k; the explicit mode draws the sum over the group's cells as a Gaussian
of that sum's exact variance (a²·Σ v_k² g_k² γ_k²).  The ADC adds its static offset (per ADC, per
stored instance) and its noise (per conversion), both in LSB, and rounds to one of
2^(adc_bits + adc_encoding_bits) codes; its step is one unit when the group's largest possible sum
fits (``adc_range = full`` then and ``clip`` are exact), else ``full`` spreads the codes over that
largest sum (lossy) and ``clip`` saturates.  Digital shift-and-add combines the codes.

Static and per-use draws.  Stored weights are programmed once: their errors, stuck cells and ADC
offsets are drawn from a generator keyed by (seed, product) and kept.  Operands written per use
(activations, K, V) draw them per write from the sentence's generator — the assignment of pool
arrays to writes is not modelled, so their cells are independent draws.

Fast statistical mode: the exact integer product plus, per product, an error
``e = α·y + μ + √(c₀ + c₁·Q)·z`` (``Q = Σ_k u² s²`` of the encoded operands, z standard normal,
drawn per output element), with (α, μ, c₀, c₁) fitted to the explicit mode's errors
(:func:`fit_error_model`).  The fit runs the calibration sentences through the INT8 path and, for
every product, simulates a random sample of ``FIT_READS`` reads × ``FIT_COLS`` stored columns
explicitly (with freshly programmed cells) to collect the errors.
"""

from __future__ import annotations

import math
from functools import cache
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..parallel import item_rng
from ..system.arch import Analog, Arch
from .quant import QuantExecutor


@dataclass(frozen=True)
class XbarSpec:
    """What the functional model needs of a preset (see :func:`spec_of`)."""

    rows: int
    cols: int
    cell_bits: int
    sign: str
    dac_bits: int
    input_sign: str
    adc_levels: int
    rows_per_conversion: int
    adc_range: str
    cols_per_adc: int
    stationary: str
    attention: str
    analog: Analog
    zero_skip: bool = False
    fault_aware: bool = False
    """Stored columns mapped around known stuck cells (:mod:`cosim.mapping.faults`)."""
    spare_cols: int = 0
    gain: np.ndarray | None = field(default=None, compare=False, repr=False)
    """IR-drop/nonlinearity gain per cell position [rows, cols] (None: ideal wires)."""

    @property
    def max_sum(self) -> int:
        return self.rows_per_conversion * (2**self.dac_bits - 1) * (2**self.cell_bits - 1)

    @property
    def step(self) -> float:
        if self.adc_range == "full" and self.max_sum > self.adc_levels - 1:
            return self.max_sum / (self.adc_levels - 1)
        return 1.0

    @property
    def g_off(self) -> float:
        """G_off in units of ΔG = (G_on − G_off)/(2^cell_bits − 1)."""
        return (2**self.cell_bits - 1) / (self.analog.on_off_ratio - 1)


def ir_gain_map(arch: Arch) -> np.ndarray:
    """Cell-current gain (actual / ideal) per position of one array, from the calibrated crossbar model.

    The array holds the mean data (every cell at ``cell_density`` of the conductance range); each
    group of ``rows_per_conversion`` rows is driven at the preset's read voltage in turn (other
    rows at 0 V) and its cells' currents are divided by G·V.  The cell law is the calibrated one of
    ``compute.crossbar_kind`` (linear, sinh, 1T1R), so the gain includes I–V nonlinearity.
    """
    from ..models.crossbar import solve_cells
    from ..models.crossbar_model import CrossbarModel

    c, an = arch.compute, arch.analog
    model = CrossbarModel.load()
    v_read = an.v_read
    g_off = an.g_on_s / an.on_off_ratio
    G = np.full((c.rows, c.cols), g_off + c.cell_density * (an.g_on_s - g_off))
    rpc = c.rows_per_conversion
    starts = list(range(0, c.rows, rpc))
    V = np.zeros((len(starts), c.rows))
    for n, s in enumerate(starts):
        V[n, s : s + rpc] = v_read
    I, _ = solve_cells(G, V, c.r_row_ohm, c.r_col_ohm, model.law(c.crossbar_kind, G))
    gain = np.ones((c.rows, c.cols))
    for n, s in enumerate(starts):
        gain[s : s + rpc] = I[n, s : s + rpc] / (G[s : s + rpc] * v_read)
    return gain


_GAIN_CACHE: dict[tuple, np.ndarray] = {}


def spec_of(arch: Arch) -> XbarSpec:
    c = arch.compute
    gain = None
    if arch.analog.ir_drop:
        key = (c.rows, c.cols, c.rows_per_conversion, c.cell_density, c.crossbar_kind, c.r_row_ohm, c.r_col_ohm,
               arch.analog.g_on_s, arch.analog.on_off_ratio, arch.analog.v_read)
        if key not in _GAIN_CACHE:
            _GAIN_CACHE[key] = ir_gain_map(arch)
        gain = _GAIN_CACHE[key]
        if arch.analog.ir_compensation:
            gain = gain / gain.mean(axis=0, keepdims=True)
        gain = gain.astype(np.float32)
    return XbarSpec(c.rows, c.cols, c.cell_bits, c.sign, c.dac_bits, c.input_sign, 2 ** (c.adc_bits + c.adc_encoding_bits),
                    c.rows_per_conversion, c.adc_range, c.cols_per_adc, c.stationary, c.attention, arch.analog,
                    c.zero_skip, c.fault_aware, c.spare_cols, gain)


# ---------------------------------------------------------------------------------------------- encoding


def digits(x: np.ndarray, bits: int, width: int) -> list[np.ndarray]:
    """Unsigned integers → base-2^width digits, least significant first."""
    xi = x.astype(np.int64)
    return [((xi >> (width * j)) & (2**width - 1)) for j in range(math.ceil(bits / width))]


def stream_cycles(U: np.ndarray, bits: int, spec: XbarSpec) -> tuple[list[tuple[float, np.ndarray]], int]:
    """The streamed operand's read cycles in order — (digital weight, digits[R, K]) each — and the offset
    added to U (``input_sign``: see :mod:`cosim.system.streaming`)."""
    w = spec.dac_bits
    if spec.input_sign == "two_pass":
        return ([(2.0 ** (w * j), d) for j, d in enumerate(digits(np.maximum(U, 0), bits - 1, w))]
                + [(-(2.0 ** (w * j)), d) for j, d in enumerate(digits(np.maximum(-U, 0), bits - 1, w))]), 0
    if spec.input_sign == "offset":
        off = 2 ** (bits - 1)
        return [(2.0 ** (w * j), d) for j, d in enumerate(digits(U + off, bits, w))], off
    # two's complement: the low bits, then the sign bit alone, weighted -2^(bits-1)
    low = U.astype(np.int64) & (2 ** (bits - 1) - 1)
    return ([(2.0 ** (w * j), d) for j, d in enumerate(digits(low, bits - 1, w))]
            + [(-(2.0 ** (bits - 1)), (U < 0).astype(np.int64))]), 0


def stored_planes(S: np.ndarray, bits: int, spec: XbarSpec) -> tuple[list[tuple[int, int, np.ndarray]], int]:
    """(side sign, shift, levels[K, C]) per stored column plane; the offset added to S (0 if differential)."""
    cb = spec.cell_bits
    if spec.sign == "offset":
        off = 2 ** (bits - 1)
        return [(1, cb * i, d) for i, d in enumerate(digits(S + off, bits, cb))], off
    pos, neg = np.maximum(S, 0), np.maximum(-S, 0)
    return ([(1, cb * i, d) for i, d in enumerate(digits(pos, bits - 1, cb))]
            + [(-1, cb * i, d) for i, d in enumerate(digits(neg, bits - 1, cb))]), 0


#: Wan et al. (Nature 2022) write-verify error σ(G) in µS for G normalised to a 40 µS range, as fitted
#: in IBM aihwkit's ReRamWan2022NoiseModel (t = 1 s), ascending powers.
WAN2022_SIGMA_US = (0.348, 16.030, -43.853, 45.393, -16.815)
WAN2022_GMAX_US = 40.0


def wan_sigma(g_norm: np.ndarray) -> np.ndarray:
    """Programming error σ as a fraction of the conductance range at normalised conductance ``g_norm``."""
    return np.polynomial.polynomial.polyval(np.clip(g_norm, 0, 1), WAN2022_SIGMA_US) / WAN2022_GMAX_US


@dataclass
class Programmed:
    """One stored column plane as programmed: conductances in ΔG units, gains applied."""

    shift: int
    side: int
    g: np.ndarray  # [G, rpc, C] effective conductance incl. IR gain (float32); RTN is relative to it
    adc_offset: np.ndarray  # [G, 1, C] in LSB; or thresholds [G, 1, C, levels - 1] (calibrated ADC model)
    flip: np.ndarray | None = None  # [G, 1, C]: column stored complemented (fault-aware mapping)


def _group_layout(K: int, spec: XbarSpec) -> tuple[np.ndarray, int, int]:
    """Padded positions of the K rows: groups of rows_per_conversion inside arrays of ``rows`` rows."""
    rpc = spec.rows_per_conversion
    per_tile = min(spec.rows, K)
    gpt = math.ceil(per_tile / rpc)
    tiles = math.ceil(K / per_tile)
    k = np.arange(K)
    pos = (k // per_tile) * gpt * rpc + (k % per_tile)
    return pos, tiles * gpt, gpt


def _grouped(X: np.ndarray, pos: np.ndarray, n_groups: int, rpc: int) -> np.ndarray:
    """[K, N] → [n_groups, rpc, N] with zero rows for padding."""
    out = np.zeros((n_groups * rpc, X.shape[1]), dtype=np.float32)
    out[pos] = X
    return out.reshape(n_groups, rpc, X.shape[1])


def _calibrated_adc(spec: XbarSpec):
    """The SPICE-calibrated ADC model matching the crossbar's ADC (its resolution must be calibrated)."""
    return _adc_model(int(round(math.log2(spec.adc_levels))))


@cache
def _adc_model(bits: int):
    from ..errors import ConfigError, ModelRangeError
    from ..models.adc import load

    try:
        return load("flash-current", bits, "nominal")
    except ModelRangeError as exc:
        raise ConfigError(f"analog.adc_offsets = calibrated: {exc}") from None


def program(levels: np.ndarray, shift: int, side: int, spec: XbarSpec, rng: np.random.Generator,
            pos: np.ndarray, n_groups: int, gpt: int, mapped=None) -> Programmed:
    """One stored plane as programmed; ``mapped``: (levels held, stuck mask, complement flags per row
    tile) from the fault-aware mapping — the stuck cells are then known and placed, not drawn."""
    an, cb = spec.analog, spec.cell_bits
    top = 2**cb - 1
    K, C = levels.shape
    flip = None
    if mapped is not None:
        levels, stuck, flips = mapped
        flip = np.repeat(flips, gpt, axis=0)[:, None, :]
    g = levels.astype(np.float64) + spec.g_off
    if an.prog_sigma:
        g = g + rng.standard_normal(g.shape) * (an.prog_sigma * top * wan_sigma(levels / top))
    if an.d2d_sigma:
        g = g * (1.0 + an.d2d_sigma * rng.standard_normal(g.shape))
    if mapped is not None:
        g = np.where(stuck, levels + spec.g_off, g)
    elif an.stuck_off_rate or an.stuck_on_rate:
        u = rng.random(g.shape)
        g = np.where(u < an.stuck_off_rate, spec.g_off, g)
        g = np.where((u >= an.stuck_off_rate) & (u < an.stuck_off_rate + an.stuck_on_rate), top + spec.g_off, g)
    g = np.maximum(g, 0.0)
    if spec.gain is not None:
        r = np.arange(K) % spec.rows
        c = np.arange(C) % spec.cols
        g = g * spec.gain[np.ix_(r, c)]
    gg = _grouped(g, pos, n_groups, spec.rows_per_conversion)
    n_adc = math.ceil(min(C, spec.cols) / spec.cols_per_adc)
    if an.adc_offsets == "calibrated":
        # per-ADC, per-threshold thresholds from the SPICE-calibrated Monte Carlo model (LSB)
        tiles = n_groups // gpt
        m = _calibrated_adc(spec)
        off_lsb = m.offsets_lsb(rng, tiles * math.ceil(C / spec.cols) * n_adc)
        if an.adc_trim_lsb:  # per-ADC trim: what is left is the offset modulo the trim step
            q = an.adc_trim_lsb
            off_lsb = off_lsb - q * np.round(off_lsb / q)
        th = np.arange(1, spec.adc_levels) - 0.5 + off_lsb
        th = th.reshape(tiles, math.ceil(C / spec.cols) * n_adc, spec.adc_levels - 1)
        col_adc = (np.arange(C) // spec.cols) * n_adc + (np.arange(C) % spec.cols) // spec.cols_per_adc
        off = np.repeat(th[:, col_adc], gpt, axis=0)[:, None, :, :].astype(np.float32)
    elif an.adc_offset_lsb:
        tiles = n_groups // gpt
        per = rng.standard_normal((tiles, math.ceil(C / spec.cols) * n_adc)) * an.adc_offset_lsb
        col_adc = (np.arange(C) // spec.cols) * n_adc + (np.arange(C) % spec.cols) // spec.cols_per_adc
        off = np.repeat(per[:, col_adc], gpt, axis=0)[:, None, :].astype(np.float32)
    else:
        off = np.zeros((1, 1, 1), dtype=np.float32)
    return Programmed(shift, side, gg, off, flip)


def program_stored(S: np.ndarray, bits: int, spec: XbarSpec, rng: np.random.Generator, per_write: bool = True):
    """``S`` programmed into the crossbar: its planes, offset, row layout (``per_write``: an operand written
    per use, else weights programmed once — they are fault-mapped differently)."""
    planes, s_off = stored_planes(S, bits, spec)
    pos, n_groups, gpt = _group_layout(S.shape[0], spec)
    an = spec.analog
    mapped = [None] * len(planes)
    if spec.fault_aware and (an.stuck_off_rate or an.stuck_on_rate):
        from ..mapping.faults import map_planes

        mapped = map_planes(planes, spec.rows, spec.cols, spec.spare_cols, 2**spec.cell_bits - 1, an.stuck_off_rate,
                            an.stuck_on_rate, rng, per_write)
    progs = [program(lv, shift, side, spec, rng, pos, n_groups, gpt, m) for (side, shift, lv), m in zip(planes, mapped)]
    return progs, s_off, pos, n_groups


def _groups_of(p: Programmed, used: np.ndarray) -> Programmed:
    """``p`` restricted to the groups ``used`` (its per-group ADC offsets and complement flags)."""
    off = p.adc_offset[used] if p.adc_offset.shape[0] > 1 else p.adc_offset
    return Programmed(p.shift, p.side, p.g, off, None if p.flip is None else p.flip[used])


def _value(code: np.ndarray, active: np.ndarray, p: Programmed, spec: XbarSpec) -> np.ndarray:
    """A conversion's value in level units: step·code, or for a complemented column top·Σv − step·code."""
    v = np.float32(spec.step) * code
    if p.flip is None:
        return v
    return np.where(p.flip, np.float32(2**spec.cell_bits - 1) * active - v, v)


def _group_sum(Ug: np.ndarray, gg: np.ndarray) -> np.ndarray:
    """Σ over the rows of each group: Ug [G, rpc, R], gg [G, rpc, C] → [G, R, C]."""
    if Ug.shape[1] <= 8:
        out = Ug[:, 0, :, None] * gg[:, 0, None, :]
        for m in range(1, Ug.shape[1]):
            out += Ug[:, m, :, None] * gg[:, m, None, :]
        return out
    return np.matmul(Ug.transpose(0, 2, 1), gg)


def _skip_groups(dig: np.ndarray, K: int, spec: XbarSpec):
    """Zero skipping: a sparse [R·groups, K] matrix holding each row's digit in the group it joins — the
    non-zero digits of each row tile, in row order, ``rows_per_conversion`` to a group — and the fixed
    layout's index of each of those groups (so each reads through its tile's ADCs); groups no read
    uses are left out."""
    from scipy.sparse import csr_matrix

    rpc = spec.rows_per_conversion
    per_tile = min(spec.rows, K)
    gpt = math.ceil(per_tile / rpc)
    tiles = math.ceil(K / per_tile)
    nz = dig != 0
    rank = np.empty(dig.shape, dtype=np.int64)
    for t in range(tiles):
        sl = slice(t * per_tile, min(K, (t + 1) * per_tile))
        rank[:, sl] = np.cumsum(nz[:, sl], axis=1) - 1
    gid = (np.arange(K) // per_tile)[None, :] * gpt + rank // rpc
    r, k = np.nonzero(nz)
    used, slot = np.unique(gid[r, k], return_inverse=True)  # only the groups some read uses are converted
    G = len(used)
    M = csr_matrix((dig[r, k].astype(np.float32), (r * G + slot, k)), shape=(dig.shape[0] * G, K))
    return M, used


def _codes(i: np.ndarray, active: np.ndarray, g2sum, p: Programmed, spec: XbarSpec, rng: np.random.Generator):
    """ADC codes [G, R, C] of the group sums ``i`` (ΔG units) with ``active`` = Σ v_k per group and read
    ([G, R, 1]) and, for RTN, ``g2sum()`` = Σ v_k² g_k² (evaluated only when RTN is on)."""
    an = spec.analog
    step = np.float32(spec.step)
    i -= np.float32(spec.g_off) * active
    x = i / step if p.adc_offset.ndim == 4 else i / step + p.adc_offset
    sig2 = None
    if an.rtn_amplitude:
        sig2 = (an.rtn_amplitude**2) * g2sum() / (step * step)
    noise = _calibrated_adc(spec).noise_lsb() if an.adc_noise == "calibrated" else an.adc_noise_lsb
    if noise:
        sig2 = (noise**2) if sig2 is None else sig2 + np.float32(noise**2)
    if sig2 is not None:
        x += np.sqrt(sig2, dtype=np.float32) * rng.standard_normal(x.shape, dtype=np.float32)
    if p.adc_offset.ndim == 4:  # the calibrated ADC: count the thresholds below the input
        code = np.zeros(x.shape, dtype=np.int32)
        for t in range(p.adc_offset.shape[-1]):
            code += x > p.adc_offset[..., t]
        return code
    return np.clip(np.rint(x), 0, spec.adc_levels - 1)


def explicit_product(U: np.ndarray, S: np.ndarray, bu: int, bs: int, spec: XbarSpec,
                     rng: np.random.Generator, stored=None, per_write: bool = True) -> np.ndarray:
    """``U @ S`` (integer-valued operands, bu / bs bits signed) through the crossbar, every conversion
    (``S`` programmed here unless ``stored`` is given; ``per_write``: as :func:`program_stored`)."""
    if stored is None:
        stored = program_stored(S, bs, spec, rng, per_write)
    progs, s_off, pos, n_groups = stored
    rpc = spec.rows_per_conversion
    step = float(spec.step)
    R, K, C = U.shape[0], U.shape[1], S.shape[1]
    acc = np.zeros((R, C))
    cycles, u_off = stream_cycles(U, bu, spec)
    rows_g = [p.g.reshape(n_groups * rpc, -1)[pos] for p in progs] if spec.zero_skip else None  # [K, C] per plane
    for wgt, dig in cycles:
        # fixed groups convert every group of every cycle, driven or not (each read's idle groups read their
        # ADC's offset and noise), as the system model counts them; zero skipping converts only driven groups
        if spec.zero_skip:  # only the driven rows, rpc to a conversion; a group with none converts nothing
            if not dig.any():
                continue
            M, used = _skip_groups(dig, K, spec)  # sparse [R·G, K]

            def grouped(x, G=len(used)):  # [R·G, C] → [G, R, C]
                return np.asarray(x, dtype=np.float32).reshape(R, G, -1).transpose(1, 0, 2)

            active = grouped(M.sum(axis=1))  # [G, R, 1]
            M2 = M if spec.dac_bits == 1 else M.multiply(M)
            for p, g in zip(progs, rows_g):
                p = _groups_of(p, used)
                code = _codes(grouped(M @ g), active, lambda: grouped(M2 @ (g * g)), p, spec, rng)
                val = np.where(active > 0, _value(code, active, p, spec), 0)
                acc += (wgt * p.side * 2.0**p.shift) * val.sum(axis=0, dtype=np.float64)
            continue
        Ug = _grouped(dig.T.astype(np.float32), pos, n_groups, rpc)  # [G, rpc, R]
        active = Ug.sum(axis=1)[:, :, None]  # Σ v_k per group and read
        Ug2 = Ug if spec.dac_bits == 1 else Ug * Ug
        for p in progs:
            code = _codes(_group_sum(Ug, p.g), active, lambda: _group_sum(Ug2, p.g * p.g), p, spec, rng)
            if p.flip is None:
                acc += (wgt * p.side * 2.0**p.shift * step) * code.sum(axis=0, dtype=np.float64)
            else:
                acc += (wgt * p.side * 2.0**p.shift) * _value(code, active, p, spec).sum(axis=0, dtype=np.float64)
    # digital offset removal with exact operand sums
    out = acc
    if u_off:
        sum_s = (S + s_off).sum(axis=0) if s_off else S.sum(axis=0)
        out = out - u_off * sum_s[None, :]
    if s_off:
        out = out - s_off * (U + u_off).sum(axis=1)[:, None]
        if u_off:
            out = out + U.shape[1] * u_off * s_off
    return out


def encoded_sq(U: np.ndarray, S: np.ndarray, bu: int, bs: int, spec: XbarSpec) -> np.ndarray:
    """Q = Σ_k u_enc² s_enc² — the fast mode's regressor for per-cell (multiplicative) error variance."""
    # two's complement cycles sum to U itself (Σ w_c·d_c = U), so a static per-cell error scales with |U|
    # as in two passes; offset streaming physically drives U + 2^(b−1)
    Uu = U + 2 ** (bu - 1) if spec.input_sign == "offset" else np.abs(U)
    Se = S + 2 ** (bs - 1) if spec.sign == "offset" else np.abs(S)
    return (Uu * Uu) @ (Se * Se)


@dataclass(frozen=True)
class ErrorModel:
    """Fast-mode error of one product: e = α·y + μ + √(c0 + c1·Q)·z."""

    alpha: float
    mu: float
    c0: float
    c1: float
    n: int
    """Elements the fit used."""


def fit_error_model(y: np.ndarray, e: np.ndarray, Q: np.ndarray) -> ErrorModel:
    from scipy.optimize import nnls

    y, e, Q = y.ravel(), e.ravel(), Q.ravel()
    A = np.stack([y, np.ones_like(y)], axis=1)
    (alpha, mu), *_ = np.linalg.lstsq(A, e, rcond=None)
    r2 = (e - alpha * y - mu) ** 2
    qs = max(float(Q.mean()), 1e-30)
    (c0, c1), _ = nnls(np.stack([np.ones_like(Q), Q / qs], axis=1), r2)
    return ErrorModel(float(alpha), float(mu), float(c0), float(c1) / qs, int(y.size))


#: Reads and stored columns per product that the fast mode's fit simulates explicitly.
FIT_READS, FIT_COLS = 48, 64


class CrossbarExecutor(QuantExecutor):
    """INT8 products on the preset's crossbars (``mode``: ``explicit`` or ``fast``)."""

    def __init__(self, arch: Arch, *, mode: str = "explicit", seed: int = 0,
                 error_models: dict[str, ErrorModel] | None = None, record: bool = False):
        super().__init__(arch.data.weight_bits, arch.data.act_bits)
        self.arch, self.spec, self.mode, self.seed = arch, spec_of(arch), mode, seed
        self.name = arch.name
        self.error_models = error_models or {}
        if mode == "fast" and not error_models:
            raise ValueError("fast mode needs fitted error models (see cosim.functional.accuracy.fit_fast_mode)")
        self._static: dict[str, object] = {}
        self.rng = item_rng(seed, "unset")
        self.record = record
        self.samples: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        self._softmax = None
        self.softmax_clipped = self.softmax_inputs = 0

    def begin(self, key) -> None:
        self.rng = item_rng(self.seed, "sentence", key)

    def softmax(self, key, s):
        """The preset's softmax unit: digital (exact), or the calibrated analog softmax
        (``digital.softmax = "analog"`` at ``digital.softmax_corner`` with ``digital.softmax_gain``),
        whose readout gives the INT8 probabilities of the scores·V product directly."""
        dg = self.arch.digital
        if dg.softmax == "digital":
            return super().softmax(key, s)
        if self._softmax is None:
            from ..models.nonlinear import load_softmax

            self._softmax = load_softmax(dg.softmax_corner, gain_mode=dg.softmax_gain, out_bits=self.ab - 1)
        dvt, dvt_tail = None, 0.0
        if dg.softmax_mismatch != "none":
            # each layer's unit is one Monte Carlo instance (fixed by the seed); rows of T scores use its first T branches
            from ..models.nonlinear import unit_mismatch

            dvt, dvt_tail = unit_mismatch(self._softmax, item_rng(self.seed, "softmax-unit", key),
                                          dg.softmax_inputs, trimmed=dg.softmax_mismatch == "trimmed")
            if s.shape[-1] > len(dvt):
                raise ConfigError(f"analog softmax: rows of {s.shape[-1]} scores exceed digital.softmax_inputs = "
                                  f"{len(dvt)}")
            dvt = dvt[: s.shape[-1]]
        r = self._softmax(s, dvt, dvt_tail)
        self.softmax_clipped += r.clipped
        self.softmax_inputs += r.total
        return r.p.astype(np.float32)

    def _run(self, key: str, U: np.ndarray, S: np.ndarray, bu: int, bs: int, static: str | None) -> np.ndarray:
        if self.mode == "fast":
            y = U @ S
            m = self.error_models[key]
            Q = encoded_sq(U, S, bu, bs, self.spec)
            sd = np.sqrt(np.maximum(m.c0 + m.c1 * Q, 0.0))
            return y * (1.0 + m.alpha) + m.mu + sd * self.rng.standard_normal(y.shape)
        if self.record:  # fitting: explicit on a sample of reads and columns; the forward goes on exactly
            y = U @ S
            r = np.sort(self.rng.choice(U.shape[0], min(U.shape[0], FIT_READS), replace=False))
            c = np.sort(self.rng.choice(S.shape[1], min(S.shape[1], FIT_COLS), replace=False))
            Us, Ss = U[r], S[:, c]
            ys = Us @ Ss
            out = explicit_product(Us, Ss, bu, bs, self.spec, self.rng, per_write=static is None)
            self.samples.setdefault(key, []).append((ys, out - ys, encoded_sq(Us, Ss, bu, bs, self.spec)))
            return y
        stored = None
        if static is not None:
            if static not in self._static:
                self._static[static] = program_stored(S, bs, self.spec, item_rng(self.seed, "static", static),
                                                      per_write=False)
            stored = self._static[static]
        return explicit_product(U, S, bu, bs, self.spec, self.rng, stored)

    def product(self, key: str, kind: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        wb, ab = self.wb, self.ab
        if kind == "linear":
            if self.spec.stationary == "weights":  # stored: weights b [K, N]; streamed: a
                return self._run(key, a, b, ab, wb, static=key)
            return self._run(key, b.T, a.T, wb, ab, static=None).T  # stored: activations
        if self.spec.attention == "digital":
            return a @ b
        return self._run(key, a, b, ab, ab, static=None)  # stored: Kᵀ or V, streamed: Q or scores
