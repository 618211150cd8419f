"""Column readout (charge-integrating front end + StrongARM voltage flash with a ladder trim):
netlist checks and small ngspice runs.  Expected values come from the design's definition — a
threshold belongs at (k - 1/2) LSB of conductance, the trim procedure ends within one trim step of
its target — not from the code under test."""

import numpy as np
import pytest

from cosim.calibration import readout as R
from cosim.errors import ConfigError
from cosim.netlist.adc import Corner
from cosim.netlist.readout import Instance, ReadoutDesign, ladder_nodes, render_bench

NOM = Corner("nominal", 27.0, 1.0)
TAPS = [0.79, 0.755, 0.72]


def test_bench_renders_every_instance_and_refuses_bad_input():
    d = ReadoutDesign()
    net = render_bench(d, 2, TAPS, [[0.0, d.g_lsb], [d.g_lsb, 0.0]], [Instance({}), Instance({"M1C2": 0.01})],
                       t_hold=1e-9)
    assert "M1C2_1" in net and "DELVTO=0.01" in net and sum(x.startswith("BC") for x in net.splitlines()) == 2
    # the trim windows: 2^trim_bits codes of trim_step on one fine string, the tap at mid-code
    v, mids = ladder_nodes(d, TAPS)
    assert v[mids[0]] == pytest.approx(TAPS[0], abs=1e-9)
    assert v[mids[0] - 2 ** (d.trim_bits - 1)] == pytest.approx(TAPS[0] + 2 ** (d.trim_bits - 1) * d.trim_step, abs=1e-9)
    with pytest.raises(ConfigError, match="falling tap"):
        render_bench(d, 2, TAPS[::-1], [[0.0]], [Instance({})], t_hold=1e-9)
    with pytest.raises(ConfigError, match="leave the"):
        render_bench(d, 2, [0.95, 0.8, 0.7], [[0.0]], [Instance({})], t_hold=1e-9)
    with pytest.raises(ConfigError, match="unknown device"):
        render_bench(d, 2, TAPS, [[0.0]], [Instance({"MZZ": 0.01})], t_hold=1e-9)
    with pytest.raises(ConfigError, match="not supported"):
        render_bench(d, 4, TAPS, [[0.0]], [Instance({})], t_hold=1e-9)


@pytest.mark.spice
def test_mismatch_free_chain_codes_and_trim_of_an_offset_comparator():
    d = ReadoutDesign()
    taps = R.place_taps(d, 2, NOM)
    # at mid codes the comparators' systematic offset (kickback) leaves the thresholds up to half an LSB
    # low; trimmed, the held voltage falls with the driven conductance: codes 0..3 at 0..3 LSB, and
    # between the levels the thermometer code of the thresholds at (k - 1/2) LSB
    trimmed = R._with_codes(Instance({}), R.foreground_trim(d, 2, taps, [Instance({})], NOM)[0])
    tr = R.transfer(d, 2, taps, [0, 1, 2, 3, 0.25, 1.25, 2.75], NOM, instance=trimmed)
    assert np.all(np.diff(tr["bus"][:4]) < -0.02)  # > 20 mV per LSB on the bus
    assert tr["dec"].sum(axis=1).tolist() == [0, 1, 2, 3, 0, 1, 3]
    # a 20 mV input-pair offset moves comparator 2 by more than 0.3 LSB (~37 mV per LSB on the bus,
    # halved by the pair's share); the foreground trim (SPICE decisions) brings every threshold back
    # within one trim step of (k - 1/2) LSB
    inst = [Instance({"M1C2": 0.02})]
    th_free = R.thresholds(d, 2, taps, [Instance({})], NOM, half=1.0)[0]
    th0 = R.thresholds(d, 2, taps, inst, NOM, half=1.0)[0]
    assert abs(th0[1] - th_free[1]) > 0.3
    codes = R.foreground_trim(d, 2, taps, inst, NOM)[0]
    th1 = R.thresholds(d, 2, taps, [R._with_codes(inst[0], codes)], NOM, half=0.2)[0]
    step = R.trim_step_lsb(d, taps)
    assert np.all(np.abs(th1 - np.array([0.5, 1.5, 2.5])) <= step), (th1, step)
