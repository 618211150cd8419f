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


def test_digital_costs_follow_the_cited_operations():
    # Horowitz 45 nm: per element an INT8 compare, a LUT read (8 KB SRAM, 64 bit), an FP32 add and multiply
    per = 0.03e-12 + 10e-12 + 0.9e-12 + 3.7e-12
    assert nl.digital_softmax_energy(128) == pytest.approx(128 * per + nl.E_RECIP)
    assert nl.digital_layernorm_energy(1024) > nl.digital_softmax_energy(1024)
    assert nl.digital_delay(128, passes=2, f_clk=1e9, lanes=8) == pytest.approx(32e-9)
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
    e = sm.energy(128, dac_j=30e-15, adc_j=220e-15, n_adc=8, t_adc=3e-9)
    assert e > 128 * 250e-15 and sm.delay(128, n_adc=8, t_adc=3e-9) > 16 * 3e-9


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
    bad = subprocess.run([sys.executable, "-m", "cosim", "validate", "nonlinear", "--table", str(path),
                          "--corners", "warm", "-q"], capture_output=True, text=True)
    assert bad.returncode != 0 and "warm" in bad.stderr and "Traceback" not in bad.stderr
