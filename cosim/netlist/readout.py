"""Column readout: a charge-integrating column front end (sample-and-hold) and a StrongARM voltage flash.

The circuit (``netlists/readout.cir.j2``), per column and per ADC:

* **Front end (one per column).**  The flipped-voltage-follower clamp of the current-mode sense
  amplifier (``cosim.netlist.adc``: bias diode MPB, load MPL, common gate M2, sink M1) holds the column
  near 0.2 V while the row pulse lasts; its output mirror MO sinks the column current (plus the
  clamp's bias) from the hold capacitor CH through the hold switch MH for the integration window
  ``t_int``.  CH was precharged to VDD by MRS; when MH opens the held voltage is
  ``VDD - (I_col + I_b)·ratio·t_int / CH`` (less charge injection), the rows are released and the
  clamp's bias is switched off: the column draws nothing more while the ADC scans.
* **Mux and flash (one per ``n_mux`` columns).**  The selected column's pMOS switch MX shares CH with
  the bus (precharged to VDD by MBR between conversions; the ``n_mux - 1`` unselected switches load
  it), and ``2^bits - 1`` StrongARM latch comparators (``cosim.netlist.sar.comparator_devices``)
  compare the bus with their references.  Code = number of comparators whose reference is above the
  bus (the held voltage falls with the column current).
* **References and trim.**  A resistor ladder from VDD to ``v_ladder_bot`` with a fine segment
  (``2^trim_bits`` steps of ``trim_step``) around each comparator's nominal tap; the comparator's
  reference input selects one fine node through a switch resistance ``r_tap`` (its trim code) and is
  decoupled by ``c_ref``.  The trim DAC is therefore the ladder itself: its step, range and resistor
  mismatch are simulated, and the foreground trim (``cosim.calibration.readout``) picks each code
  from SPICE decisions.

Every bench instance is one column front end with its own ADC (its own ladder, comparators and
Monte Carlo draw), so that many are simulated in one netlist.  Timing of one bench cycle (one read of
one column): ``t_rst`` precharge, ``t_set`` the row pulse before integration (the clamp settles),
``t_int`` integration, ``t_hold`` hold, then one conversion: ``t_share`` (mux on, bus charge sharing,
comparator in reset) and ``t_eval`` (comparator clocked).  The ADC's conversion period is
``t_share + t_eval``; ``t_hold`` runs up to ``(n_mux - 1)`` periods for the last column scanned.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .adc import NMOS_LIB, PMOS_LIB, Corner, Device
from .crossbar import _render, fmt, params_from_dict
from .sar import SarDesign, _libs, comparator_devices

TEMPLATE = "readout.cir.j2"

#: Resolutions the flash supports.
READOUT_BITS = (1, 2, 3)


@dataclass(frozen=True)
class ReadoutDesign:
    """Sizes, levels and timing of the column front end, the mux and the voltage flash (SI units)."""

    vdd: float = 0.9
    """Supply, V (PTM 32 nm HP nominal)."""
    g_lsb: float = 40e-6
    """Conductance of one LSB, S: one on-cell (g_on, R7: Wan 2022)."""
    v_read: float = 0.2
    """Read voltage: driven rows swing from v_lo to v_lo + v_read, V."""
    v_lo: float = 0.2
    """Idle level of the rows, V: the clamp's column level at zero signal."""
    g_idle: float = 125 * 40e-6 / 150
    """Conductance of the idle rows' cells on the column, S (125 off-cells: g_on / 150, R3)."""
    v_bias: float = 0.7
    """Gate bias of the clamp's common-gate device M2 (column near 0.2 V), V."""
    i_bias: float = 5e-6
    """Clamp bias while the row pulse lasts, A (off otherwise)."""
    mirror_ratio: float = 0.5
    """Output mirror MO / clamp sink M1 (W ratio)."""
    w_m1: float = 4e-6
    w_m2: float = 1e-6
    w_pl: float = 1e-6
    w_pb: float = 1e-6
    l_analog: float = 100e-9
    """Clamp devices and mirror: widths and length, m (the current-mode SA's sizes)."""
    v_pre: float = 0.8
    """Precharge level of the hold capacitor and the bus, V (below VDD, so that the held range and the
    trim windows stay inside the ladder; a reference supply)."""
    c_col: float = 2.9e-15
    """Column wire capacitance, F (128 segments of 22.4 aF, NeuroSim 0.2 fF/µm x 2F)."""
    c_hold: float = 50e-15
    """Hold (integration) capacitor, F."""
    w_hold: float = 2e-6
    l_hold: float = 100e-9
    """Hold switch MH (pMOS), m."""
    w_rst: float = 2e-6
    l_rst: float = 64e-9
    """Precharge pMOS MRS of the hold capacitor, m."""
    n_mux: int = 128
    """Columns per ADC."""
    w_mux: float = 0.3e-6
    """Mux switch (pMOS, minimum length), m."""
    c_bus: float = 5e-15
    """Bus wire capacitance (128 columns' pitch of routing), F; switch junctions and comparator gates add theirs."""
    w_bus_rst: float = 1e-6
    """Bus precharge pMOS MBR, m."""
    v_ladder_bot: float = 0.4
    """Bottom of the reference ladder, V (its top is VDD)."""
    r_ladder: float = 20e3
    """Total ladder resistance, ohm (static current (VDD - v_ladder_bot) / r_ladder)."""
    r_mismatch: float = 0.005
    """Relative sigma of each ladder resistor (assumption; poly resistors of a few squares)."""
    trim_bits: int = 6
    """Trim code bits per comparator (codes 0 .. 2^trim_bits - 1, mid-code on the nominal tap)."""
    trim_step: float = 2e-3
    """Trim step, V (one fine ladder segment)."""
    r_tap: float = 2e3
    """Tap-select switch resistance, ohm."""
    c_ref: float = 30e-15
    """Decoupling of each comparator's reference input, F."""
    t_rst: float = 0.6e-9
    t_set: float = 0.3e-9
    t_int: float = 1.0e-9
    t_share: float = 0.4e-9
    t_eval: float = 0.6e-9
    t_edge: float = 20e-12
    """Phases, s (see the module docstring); the conversion period is t_share + t_eval."""
    w_in: float = 1e-6
    l_in: float = 64e-9
    w_tail: float = 4e-6
    w_latch_n: float = 1e-6
    w_latch_p: float = 1e-6
    w_reset: float = 0.5e-6
    w_buf_n: float = 0.4e-6
    w_buf_p: float = 0.8e-6
    """StrongARM comparator sizes (the SAR's, cosim.netlist.sar.SarDesign)."""
    l_min: float = 32e-9
    avt_n: float = 1.15e-9
    avt_p: float = 1.2e-9
    """Pelgrom A_VT, V·m (the flash's and SAR's figure)."""
    options: str = "reltol=1e-4 abstol=1e-12 vntol=1e-6 method=gear"
    t_max: float = 20e-12

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "options":
                continue
            if f.name in ("n_mux", "trim_bits"):
                if not (isinstance(v, int) and v >= 1):
                    raise ConfigError(f"readout design: {f.name} must be an integer >= 1, got {v!r}")
                continue
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"readout design: {f.name} must be a finite number > 0, got {v!r}")
        if not self.v_ladder_bot < self.vdd:
            raise ConfigError("readout design: v_ladder_bot must be below vdd")

    def replace(self, **changes) -> "ReadoutDesign":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ReadoutDesign":
        return params_from_dict(cls, d, "readout design parameter")

    @property
    def period(self) -> float:
        """Conversion period of the flash, s."""
        return self.t_share + self.t_eval

    @property
    def t_front(self) -> float:
        """Precharge + row pulse + integration, s: the part of a read before the first conversion."""
        return self.t_rst + self.t_set + self.t_int

    @property
    def t_pulse(self) -> float:
        """How long the rows are driven per read, s."""
        return self.t_set + self.t_int

    def longest_hold(self) -> float:
        """Hold of the last column scanned, s."""
        return (self.n_mux - 1) * self.period

    def comparator(self) -> SarDesign:
        """The comparator's sizes as the SAR design that owns ``comparator_devices``."""
        return SarDesign(vdd=self.vdd, w_in=self.w_in, l_in=self.l_in, w_tail=self.w_tail, w_latch_n=self.w_latch_n,
                         w_latch_p=self.w_latch_p, w_reset=self.w_reset, w_buf_n=self.w_buf_n, w_buf_p=self.w_buf_p,
                         l_min=self.l_min, avt_n=self.avt_n, avt_p=self.avt_p)


def check_bits(bits: int) -> None:
    if bits not in READOUT_BITS:
        raise ConfigError(f"readout flash resolution {bits} bits not supported; valid: "
                          f"{', '.join(map(str, READOUT_BITS))}")


def front_devices(d: ReadoutDesign) -> list[Device]:
    """One column's front end (node names local to the column)."""
    la = d.l_analog
    return [
        Device("MPB", "ptm32p", "pb", "pb", "vdd", "vdd", d.w_pb, la, role="bias diode"),
        Device("M2", "ptm32n", "y", "vb", "x", "0", d.w_m2, la, role="clamp common gate"),
        Device("MPL", "ptm32p", "y", "pb", "vdd", "vdd", d.w_pl, la, role="clamp load"),
        Device("M1", "ptm32n", "x", "y", "0", "0", d.w_m1, la, role="clamp sink"),
        Device("MO", "ptm32n", "m", "y", "0", "0", d.w_m1 * d.mirror_ratio, la, role="output mirror"),
        Device("MYR", "ptm32n", "y", "phiy", "0", "0", 1e-6, d.l_min, role="clamp gate reset (idle)"),
        Device("MPR", "ptm32p", "pb", "phiyb", "vdd", "vdd", 1e-6, d.l_min, role="bias gate reset (idle)"),
        Device("MH", "ptm32p", "m", "phih", "h", "vdd", d.w_hold, d.l_hold, role="hold switch"),
        Device("MRS", "ptm32p", "h", "phir", "vpre", "vdd", d.w_rst, d.l_rst, role="hold precharge"),
        Device("MX", "ptm32p", "a", "phim", "h", "vdd", d.w_mux, d.l_min, role="mux switch (selected)"),
    ]


def adc_devices(d: ReadoutDesign, bits: int) -> list[Device]:
    """The ADC shared by ``n_mux`` columns: bus precharge, unselected mux switches, comparators."""
    check_bits(bits)
    out = [Device("MBR", "ptm32p", "a", "phib", "vpre", "vdd", d.w_bus_rst, d.l_min, role="bus precharge")]
    if d.n_mux > 1:
        out.append(Device("MXOFF", "ptm32p", "a", "vdd", "hoff", "vdd", d.w_mux, d.l_min, m=d.n_mux - 1,
                          role="mux switches (unselected)", mismatch=False))
    for k in range(1, 2**bits):
        for x in comparator_devices(d.comparator()):
            out.append(dataclasses.replace(x, name=f"{x.name}C{k}", d=_cn(x.d, k), g=_cn(x.g, k), s=_cn(x.s, k),
                                           b=_cn(x.b, k), role=f"comparator {k}: {x.role}"))
    return out


def _cn(node: str, k: int) -> str:
    """Comparator k's node: x is the bus, r its reference, shared rails stay."""
    if node in ("0", "vdd", "clk"):
        return node
    if node == "x":
        return "a"
    if node == "r":
        return f"ref{k}"
    return f"{node}c{k}"


def devices(d: ReadoutDesign, bits: int) -> list[Device]:
    return front_devices(d) + adc_devices(d, bits)


def mismatch_sigmas(d: ReadoutDesign, devs: list[Device]) -> dict[str, float]:
    out = {}
    for x in devs:
        if x.mismatch:
            out[x.name] = (d.avt_n if x.model == "ptm32n" else d.avt_p) / math.sqrt(x.w * x.l * x.m)
    return out


def ladder_nodes(d: ReadoutDesign, taps) -> tuple[np.ndarray, list[int]]:
    """Nominal voltages of the ladder's nodes, top (VDD) to bottom, and each tap's mid-code node: a fine
    segment of ``trim_step`` steps spanning every tap's trim window (windows may overlap: one string),
    one coarse resistor above and below it.  Refuses windows that leave the ladder."""
    taps = np.asarray(taps, dtype=float)
    n = 2**d.trim_bits
    hi = taps.max() + (n // 2) * d.trim_step
    lo = taps.min() - (n - 1 - n // 2) * d.trim_step
    if hi >= d.vdd - d.trim_step or lo <= d.v_ladder_bot + d.trim_step:
        raise ConfigError(f"readout: trim windows ({lo:.4f}..{hi:.4f} V, {n} codes of {d.trim_step:g} V) leave the "
                          f"ladder ({d.v_ladder_bot:g}..{d.vdd:g} V)")
    fine = hi - d.trim_step * np.arange(int(round((hi - lo) / d.trim_step)) + 1)
    mid = [1 + int(round((hi - t) / d.trim_step)) for t in taps]
    return np.concatenate([[d.vdd], fine, [d.v_ladder_bot]]), mid


def tap_node(d: ReadoutDesign, mid: int, code: int) -> int:
    """Ladder node of trim code ``code`` for a tap whose mid-code node is ``mid``: code 2^(trim_bits-1)
    is the nominal tap, higher codes a lower voltage."""
    n = 2**d.trim_bits
    if not 0 <= code < n:
        raise ConfigError(f"trim code {code} outside 0..{n - 1}")
    return mid + code - n // 2


@dataclass(frozen=True)
class Instance:
    """One bench instance: a Monte Carlo draw (ΔV_T per device, ladder resistor factors) and trim codes."""

    delvto: dict
    r_factor: tuple = ()
    codes: tuple = ()


def render_bench(d: ReadoutDesign, bits: int, taps, g_in, instances: list[Instance], *, t_hold: float,
                 t_idle: float | None = None, corner: Corner | None = None, t_max: float | None = None, c_bus_extra: float | None = None) -> str:
    """Netlist of ``len(g_in)`` instances; instance i reads driven cells of total conductance ``g_in[i][c]``
    (S) in cycle c: the driven row rises from v_lo to v_lo + v_read and the cells' current into the
    column node is ``g · (v_row - v_x)`` (a behavioural source), the idle rows' ``g_idle · (v_lo - v_x)``.

    ``taps``: the comparators' nominal reference voltages, comparator 1 (lowest input current, the
    highest voltage) first."""
    check_bits(bits)
    corner = corner or Corner("nominal", 27.0, 1.0)
    g_in = np.atleast_2d(np.asarray(g_in, dtype=float))
    n_inst, n_cyc = g_in.shape
    if len(instances) != n_inst:
        raise ConfigError("one Instance per bench instance")
    n_comp = 2**bits - 1
    taps = np.asarray(taps, dtype=float)
    if taps.shape != (n_comp,) or np.any(np.diff(taps) >= 0):
        raise ConfigError(f"readout: need {n_comp} falling tap voltages, got {taps}")
    vdd = d.vdd * corner.vdd_scale
    nodes, mids = ladder_nodes(d, taps)
    # the ladder runs from VDD to v_ladder_bot (both scale with the supply: ratiometric references)
    nodes_v = d.v_ladder_bot * corner.vdd_scale + (nodes - d.v_ladder_bot) * (vdd - d.v_ladder_bot * corner.vdd_scale) / (d.vdd - d.v_ladder_bot)
    r_seg = -np.diff(nodes_v) / (vdd - nodes_v[-1]) * d.r_ladder
    T = cycle_times(d, t_hold, t_idle)["T"]
    t_a = d.t_rst
    t_c = d.t_front + t_hold
    e = d.t_edge
    devs_f = front_devices(d)
    devs_a = adc_devices(d, bits)
    names = {x.name for x in devs_f + devs_a}
    ladders, inputs = [], []
    for i, inst in enumerate(instances):
        unknown = set(inst.delvto) - names
        if unknown:
            raise ConfigError(f"mismatch for unknown device(s) {sorted(unknown)}")
        rf = np.asarray(inst.r_factor if len(inst.r_factor) else np.ones(len(r_seg)), dtype=float)
        if rf.shape != r_seg.shape:
            raise ConfigError(f"readout: {len(r_seg)} ladder resistor factors needed, got {rf.shape}")
        codes = list(inst.codes) if len(inst.codes) else [2 ** (d.trim_bits - 1)] * n_comp
        if len(codes) != n_comp:
            raise ConfigError(f"readout: {n_comp} trim codes needed, got {len(codes)}")
        ladders.append({"r": r_seg * rf, "taps": [tap_node(d, mids[k], int(c)) for k, c in enumerate(codes)]})
        pts = []
        for c in range(n_cyc):  # the driven cells' conductance, changed while the row is idle
            pts += [(c * T + e, g_in[i, c]), ((c + 1) * T, g_in[i, c])]
        inputs.append(" ".join(f"{fmt(t)} {fmt(v)}" for t, v in pts))

    def pulse(lo, hi, t_on, width):
        """Source at ``lo`` with a pulse to ``hi`` from t_on for ``width`` each cycle."""
        return f"PULSE({fmt(lo)} {fmt(hi)} {fmt(t_on)} {fmt(e)} {fmt(e)} {fmt(width - e)} {fmt(T)})"

    phases = {
        # precharge of CH and the bus: active low
        "phir": pulse(vdd, 0.0, 0.0, d.t_rst),
        # the driven row: v_lo + v_read from the precharge's end to the end of integration
        "row": pulse(d.v_lo, d.v_lo + d.v_read, t_a, d.t_pulse),
        # hold switch: on (low) from the precharge (which so also precharges the mirror's drain) to the
        # end of the row pulse; the column charge integrates from the pulse's start
        "phih": pulse(vdd, 0.0, 0.0, d.t_front),
        # the clamp off while idle: its gates reset (y to ground, the bias diode's gate to VDD), so every
        # read starts from the same state
        "phiy": pulse(0.0, vdd, d.t_front, T - d.t_front - e),
        "phiyb": pulse(vdd, 0.0, d.t_front, T - d.t_front - e),
        # mux: on (low) from the conversion's start to the cycle's end
        "phim": pulse(vdd, 0.0, t_c, d.period - e),
        # bus precharge: on (low) until the conversion starts
        "phib": pulse(0.0, vdd, t_c, d.period - e),
        # comparator clock: evaluates in the last t_eval
        "clk": pulse(0.0, vdd, t_c + d.t_share, d.t_eval - e),
    }
    bias = pulse(0.0, d.i_bias, 0.0, d.t_front)  # clamp bias on from the precharge (it settles) to the end of integration
    lines = []
    for i, inst in enumerate(instances):
        lines += _instance_lines(d, i, devs_f, devs_a, inst.delvto, ladders[i], inputs[i], bias, n_comp,
                                 d.c_bus if c_bus_extra is None else c_bus_extra)
    saves = " ".join(f"v(h{i}) v(a{i}) i(vf{i}) i(va{i}) i(vl{i}) i(vfp{i}) i(vap{i})" + "".join(f" v(decc{k}_{i})" for k in range(1, n_comp + 1))
                     for i in range(n_inst))
    return _render(TEMPLATE, d=d, bits=bits, n_inst=n_inst, lines=lines, v_lo=d.v_lo, phases=phases, saves=saves,
                   corner_temp=corner.temp_c, vdd=vdd, v_bot=nodes_v[-1], v_off=vdd - 0.15,
                   t_step=1e-12, t_stop=n_cyc * T, t_max=min(t_max or d.t_max, d.t_max), **_libs())


_SHARED = ("0", "vb", "row", "vlo", "phiy", "phiyb", "phih", "phir", "phim", "phib", "clk", "vbot", "hoff")


def _instance_lines(d: ReadoutDesign, i: int, devs_f, devs_a, delvto: dict, ladder: dict, pwl: str, bias: str,
                    n_comp: int, c_bus: float) -> list[str]:
    """SPICE lines of bench instance ``i``: its front end on supply vf<i>, its ADC on va<i>, its ladder on vl<i>."""
    def node(n: str, rail: str, terminal: str) -> str:
        if n == "vdd":
            return "vdd" if terminal in ("b", "g") else rail
        if n == "vpre":
            return rail + "p"
        return n if n in _SHARED else f"{n}_{i}" if n.startswith(("ref", "decc", "decnc")) else f"{n}{i}" \
            if n in ("h", "a", "x") else f"{n}_{i}"

    out = [f"VF{i} vf{i} 0 DC {{vdd}}", f"VA{i} va{i} 0 DC {{vdd}}", f"VL{i} vl{i} 0 DC {{vdd}}",
           f"VFP{i} vf{i}p 0 DC {fmt(d.v_pre)}", f"VAP{i} va{i}p 0 DC {fmt(d.v_pre)}",
           f"VG{i} g{i} 0 PWL({pwl})", f"BC{i} row x{i} I = v(g{i}) * (v(row) - v(x{i})) + {fmt(d.g_idle)} * (v(vlo) - v(x{i}))", f"IB{i} pb_{i} 0 {bias}", f"CCOL{i} x{i} 0 {fmt(d.c_col)}",
           f"CH{i} h{i} 0 {fmt(d.c_hold)}", f"CBUS{i} a{i} 0 {fmt(c_bus)}"]
    for devs, rail in ((devs_f, f"vf{i}"), (devs_a, f"va{i}")):
        for x in devs:
            dv = f" DELVTO={fmt(delvto[x.name])}" if x.name in delvto else ""
            mm = f" M={x.m}" if x.m != 1 else ""
            out.append(f"{x.name}_{i} {node(x.d, rail, 'd')} {node(x.g, rail, 'g')} {node(x.s, rail, 's')} "
                       f"{node(x.b, rail, 'b')} {x.model} W={fmt(x.w)} L={fmt(x.l)}{mm}{dv}")
    r = ladder["r"]
    ln = [f"vl{i}"] + [f"l{j}_{i}" for j in range(1, len(r))] + ["vbot"]
    out += [f"RL{j}_{i} {ln[j]} {ln[j + 1]} {fmt(r[j])}" for j in range(len(r))]
    for k in range(1, n_comp + 1):
        out += [f"RT{k}_{i} ref{k}_{i} {ln[ladder['taps'][k - 1]]} {fmt(d.r_tap)}", f"CR{k}_{i} ref{k}_{i} 0 {fmt(d.c_ref)}"]
    return out


def cycle_times(d: ReadoutDesign, t_hold: float, t_idle: float | None = None) -> dict:
    """Cycle length and the instants a bench reads (from the cycle's start), s.  A bench cycle lasts as
    long as a read does in operation (precharge, pulse, ``n_mux`` conversions) unless ``t_idle`` (the
    time after the conversion) is given: the front end then starts every read from the state it
    relaxes to while the ADC scans (a shorter cycle leaves up to 2 mV of the previous read's state)."""
    if t_idle is None:
        t_idle = max(0.0, d.longest_hold() - t_hold)
    T = d.t_front + t_hold + d.period + t_idle
    return {"T": T, "t_held": d.t_front + t_hold, "t_decide": d.t_front + t_hold + d.period - 2 * d.t_edge,
            "t_clk": d.t_front + t_hold + d.t_share}


def template_sources() -> list[str]:
    return [TEMPLATE, NMOS_LIB, PMOS_LIB]
