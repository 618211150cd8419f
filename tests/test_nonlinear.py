"""Nonlinear units (subthreshold exponential + common-source softmax normaliser): netlists, calibration,
behavioral models, composed operations, validation and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cosim.errors import ConfigError, ModelRangeError, UnknownNameError
from cosim.models import nonlinear as nl
from cosim.netlist.adc import Corner
from cosim.netlist.nonlinear import NlDesign, render_exp, render_softmax

TEST_SPEC = """
seed = 5
[design]
[sweep]
corners = [
  { name = "nominal", temp_c = 27.0, vdd_scale = 1.0 },
  { name = "hot", temp_c = 85.0, vdd_scale = 1.0 },
]
sizes = [16]
vectors = 3
score_sigma = 2.5
settle_tol = 0.01
t_stop = 600e-9
[validate]
sizes = [16, 64]
vectors = 3
lengths = [64, 128]
random_vectors = 20
"""


def test_design_refusals_and_netlists():
    with pytest.raises(ConfigError, match="v_range < v_top"):
        NlDesign(v_top=0.4, v_range=0.45)
    with pytest.raises(ConfigError, match="unknown nonlinear design field"):
        NlDesign.from_dict({"v_tpo": 0.4})
    d = NlDesign()
    with pytest.raises(ConfigError, match="gate voltages"):
        render_softmax(d, [[0.1, 0.9]], Corner("nominal", 27.0))
    text = render_softmax(d, [[0.3, 0.38, 0.0]], Corner("hot", 85.0))
    assert ".temp 85.0" in text and text.count("ptm32n W=") == 3 + 2 and ".op" in text
    t = render_exp(d, Corner("vdd-10%", 27.0, 0.9))
    assert ".dc VG" in t and "VSRC" in t and f"DC {0.5 * 0.9!r}" in t


def test_exact_references():
    x = np.random.default_rng(0).normal(size=(4, 64))
    assert np.allclose(nl.softmax_exact(x).sum(-1), 1)
    ln = nl.layernorm_exact(x)
    assert np.allclose(ln.mean(-1), 0, atol=1e-12) and np.allclose(ln.std(-1), 1, atol=1e-6)
    assert nl.gelu_exact(np.array([0.0]))[0] == 0 and nl.gelu_exact(np.array([10.0]))[0] == pytest.approx(10)


@pytest.fixture(scope="module")
def quick_table(tmp_path_factory):
    from cosim.calibration.nonlinear import calibrate, load_spec
    from cosim.store import write_table

    d = tmp_path_factory.mktemp("nl")
    spec_p = d / "spec.toml"
    spec_p.write_text(TEST_SPEC)
    spec = load_spec(spec_p)
    path = write_table(calibrate(spec, n_jobs=2, spec_path=spec_p), d / "nl.h5")
    return spec, path


@pytest.mark.spice
def test_exponential_unit_physics(quick_table):
    _, path = quick_table
    nom, hot = nl.load_exp("nominal", path), nl.load_exp("hot", path)
    # weak-inversion slope n·kT/q: n between 1 and 2, the same at both temperatures, so the slope
    # grows with absolute temperature (358.15 / 300.15 = 1.193)
    assert 1.2 < nom.slope_factor() < 1.8
    assert hot.slope_factor() == pytest.approx(nom.slope_factor(), rel=0.02)
    assert hot.slope() / nom.slope() == pytest.approx(358.15 / 300.15, rel=0.02)
    assert nom.decades(0.08, 0.38) > 1.5  # from the 0.1 nA floor to the top of the DAC range
    with pytest.raises(ModelRangeError, match="gate outside"):
        nom.current(0.6, 0.2)
    with pytest.raises(ModelRangeError, match="source level outside"):
        nom.current(0.3, 0.5)
    with pytest.raises(UnknownNameError, match="nominal"):
        nl.load_exp("typical", path)


@pytest.mark.spice
def test_softmax_model_against_spice_and_exact(quick_table):
    from cosim.calibration.nonlinear import normaliser_dc, score_vectors
    from cosim.config import SpiceSettings

    spec, path = quick_table
    sm = nl.load_softmax("nominal", path)
    x = score_vectors(np.random.default_rng(3), 2, 32, 2.0)
    g, clipped = sm.gates(x)
    sp = normaliser_dc(spec.design, spec.corners[0], g, SpiceSettings())
    fs = spec.design.m_tail * spec.design.i_unit
    assert np.max(np.abs(sm.currents(g) - sp["out"])) / fs < 0.01
    r = sm(x)
    assert r.clipped == clipped and r.total == x.size
    assert np.max(np.abs(r.p - nl.softmax_exact(x))) < 0.03
    # the same scores at 85 °C with a fixed DAC gain: a softer softmax (the largest output drops);
    # a PTAT gain restores it
    hot = nl.load_softmax("hot", path)(x).p
    ptat = nl.load_softmax("hot", path, gain_mode="ptat")(x).p
    ex = nl.softmax_exact(x)
    assert hot.max() < ex.max() - 0.02
    assert np.max(np.abs(ptat - ex)) < np.max(np.abs(hot - ex))
    with pytest.raises(UnknownNameError, match="ptat"):
        nl.load_softmax("nominal", path, gain_mode="warm")
    # the cost includes the conversions
    e = sm.energy(128, dac_j=30e-15, adc_j=220e-15, max_j=0.03e-12, n_adc=8, t_adc=3e-9)
    assert e > 128 * 250e-15 and sm.delay(128, n_adc=8, t_adc=3e-9) > 16 * 3e-9


@pytest.mark.spice
def test_branch_mismatch_same_instance_in_spice_and_model(quick_table):
    """Monte Carlo: the same Pelgrom draws as DELVTO in SPICE and as gate / tail shifts in the model
    agree within 1 % of I_tail, while the matched model misses the same instances by more; trimming the
    branch offsets at the DAC leaves at most half a DAC step each."""
    from cosim.calibration.nonlinear import normaliser_dc, score_vectors
    from cosim.config import SpiceSettings
    from cosim.netlist.nonlinear import draw_mismatch

    spec, path = quick_table
    d = spec.design
    assert d.sigma_branch() == pytest.approx(d.avt_n / np.sqrt(d.w_exp * d.l_exp))
    sm = nl.load_softmax("nominal", path)
    x = score_vectors(np.random.default_rng(4), 3, 16, 2.0)
    g, _ = sm.gates(x)
    mm = draw_mismatch(d, np.random.default_rng(8), 3, 16)
    sp = normaliser_dc(d, spec.corners[0], g, SpiceSettings(), mm)
    fs = d.m_tail * d.i_unit
    e_mc = np.max(np.abs(sm.currents(g, mm.branch, mm.tail) - sp["out"])) / fs
    e_matched = np.max(np.abs(sm.currents(g) - sp["out"])) / fs
    assert e_mc < 0.01 and e_matched > 2 * e_mc, (e_mc, e_matched)
    dvt, dt = nl.unit_mismatch(sm, np.random.default_rng(1), 128, trimmed=True)
    raw, dt2 = nl.unit_mismatch(sm, np.random.default_rng(1), 128)
    assert dt == dt2 and np.all(np.abs(dvt) <= sm.dac_step / 2 + 1e-15) and np.std(raw) > 3 * np.std(dvt)
    old = nl.ExpUnit("x", 27.0, sm.unit.v, sm.unit.s, sm.unit.i_ch, sm.unit.i_leak, sm.unit.tail)  # no sensitivity
    with pytest.raises(ModelRangeError, match="regenerate"):
        old.tail_current(0.2, 1e-3)


@pytest.mark.spice
def test_wta_prototype_runs():
    """The max-search prototype (benchmarks/wta.py): from power-up, a clear winner is flagged alone."""
    from cosim.calibration.nonlinear import wta_run
    from cosim.config import SpiceSettings

    d = NlDesign(v_top=0.45, s_lo=0.05, s_hi=0.35)
    codes = np.array([[10, 90, -40, 30]])
    r = wta_run(d, Corner("nominal", 27.0), codes, codes, SpiceSettings(), t_read=100e-9, t0=200e-9)
    assert r["flags_a"].tolist() == [[False, True, False, False]] and r["energy"] > 0


@pytest.mark.spice
def test_validate_nonlinear_cli(quick_table, tmp_path):
    spec, path = quick_table
    spec_p = tmp_path / "spec.toml"
    spec_p.write_text(TEST_SPEC)
    out = tmp_path / "checks.json"
    rep = tmp_path / "r.md"
    r = subprocess.run([sys.executable, "-m", "cosim", "validate", "nonlinear", "--table", str(path), "--spec",
                        str(spec_p), "--json", str(out), "--report", str(rep), "-q", "-j", "2"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    checks = json.loads(out.read_text())
    names = [c["name"] for c in checks]
    assert "exp_log_err/hot" in names and "normaliser_err_fs/n64/nominal" in names
    assert all(c["passed"] for c in checks)
    assert "Composed operations" in r.stdout and "softmax n=128" in r.stdout
    assert rep.exists() and rep.with_suffix(".png").exists()
    # the digital rows use the system simulator's per-element costs (one source for both)
    from cosim.system.costs import element_energy
    from cosim.validation.nonlinear import cost_rows

    rows = {(r["op"], r["unit"].split()[0]): r for r in cost_rows(path)}
    assert rows[("softmax n=128", "digital")]["energy_j"] == pytest.approx(128 * element_energy("softmax").value)
    assert rows[("layernorm n=1024", "digital")]["energy_j"] == pytest.approx(1024 * element_energy("layernorm").value)
    assert rows[("softmax n=128", "analog")]["energy_j"] > 128 * 200e-15  # at least the 128 ADC conversions
    bad = subprocess.run([sys.executable, "-m", "cosim", "validate", "nonlinear", "--table", str(path),
                          "--corners", "warm", "-q"], capture_output=True, text=True)
    assert bad.returncode != 0 and "warm" in bad.stderr and "Traceback" not in bad.stderr


def test_functional_executor_runs_the_preset_softmax_unit():
    """The crossbar executor's softmax: digital (exact) by default; with digital.softmax = "analog" the
    shipped calibrated unit, whose 7-bit readout is the INT8 operand of scores·V; clipped inputs counted."""
    from cosim.functional.engine import CrossbarExecutor
    from cosim.system.arch import load_arch

    s = np.random.default_rng(1).normal(0, 3, (12, 20, 20)).astype(np.float32)
    dig = CrossbarExecutor(load_arch("large-small"), mode="explicit").softmax("L0.softmax", s)
    assert np.allclose(dig, nl.softmax_exact(s), atol=1e-6)
    ex = CrossbarExecutor(load_arch("large-small", {"digital.softmax": "analog", "digital.softmax_mismatch": "none"}),
                          mode="explicit")
    p = ex.softmax("L0.softmax", s)
    assert p.shape == s.shape and p.dtype == np.float32
    assert np.allclose(p * 127, np.round(p * 127), atol=1e-4)  # on the INT8 grid of the context product
    assert 0 < np.max(np.abs(p - nl.softmax_exact(s))) < 0.05
    assert ex.softmax_inputs == s.size and 0 < ex.softmax_clipped < s.size
    # branch mismatch (the preset's default, raw): each layer's unit is its own fixed instance, worse than a
    # matched unit; trimming the offsets at the DAC brings most of it back
    def err(mode, key="L0.softmax"):
        e = CrossbarExecutor(load_arch("large-small", {"digital.softmax": "analog", "digital.softmax_mismatch": mode}),
                             mode="explicit")
        q = e.softmax(key, s)
        return q, float(np.sqrt(np.mean((q - nl.softmax_exact(s)) ** 2)))

    raw, e_raw = err("raw")
    assert np.array_equal(raw, err("raw")[0]) and not np.array_equal(raw, err("raw", "L1.softmax")[0])
    e_none, e_trim = err("none")[1], err("trimmed")[1]
    assert e_none < e_trim < e_raw, (e_none, e_trim, e_raw)
    hot = CrossbarExecutor(load_arch("large-small", {"digital.softmax": "analog", "digital.softmax_corner": "hot",
                                                     "digital.softmax_mismatch": "none"}),
                           mode="explicit").softmax("L0.softmax", s)
    assert hot.max(-1).mean() < p.max(-1).mean()  # a softer softmax at 85 C with a fixed DAC gain
    with pytest.raises(ConfigError, match="digital.softmax"):
        load_arch("large-small", {"digital.softmax": "optical"})
    bad = CrossbarExecutor(load_arch("large-small", {"digital.softmax": "analog", "digital.softmax_corner": "warm"}),
                           mode="explicit")
    with pytest.raises(UnknownNameError, match="nominal"):
        bad.softmax("L0.softmax", s)


def test_system_simulator_costs_the_analog_softmax():
    """digital.softmax = "analog": every softmax row (layers x heads x queries) is costed on the analog
    unit with its conversions, its area and power join the roll-up; a row longer than the unit is an error."""
    from cosim.system.arch import load_arch
    from cosim.system.costs import analog_softmax_row, analog_softmax_unit
    from cosim.system.runs import run

    dig = run("bert-large", "large-small", 128)
    an = run("bert-large", "large-small", 128, overrides={"digital.softmax": "analog"})
    rows = 24 * 16 * 128  # BERT-Large: layers x heads x queries, each a row of 128 scores
    assert an.events["analog_softmax_row"] == rows and "softmax_element" not in an.events
    dg = load_arch("large-small", {"digital.softmax": "analog"}).digital
    e_row, t_row = analog_softmax_row(128, dg)
    assert an.breakdown["analog_softmax"] == pytest.approx(rows * e_row)
    assert dig.breakdown["digital_softmax"] > an.breakdown["analog_softmax"]
    assert an.area_breakdown["analog_softmax"] == pytest.approx(an.plan["tiles"] * analog_softmax_unit(dg)[0])
    # one analog unit per tile at 271 ns per row is slower than the tile's digital lanes on this preset
    assert an.latency_s > dig.latency_s
    with pytest.raises(ConfigError, match="softmax_inputs"):
        run("bert-large", "large-small", 256, overrides={"digital.softmax": "analog"})
    # trimming the branch offsets costs an INT8 add per input and the codes' storage
    tr = load_arch("large-small", {"digital.softmax": "analog", "digital.softmax_mismatch": "trimmed"}).digital
    assert analog_softmax_row(128, tr)[0] > e_row and analog_softmax_unit(tr)[0] > analog_softmax_unit(dg)[0]
