"""Sense amplifier + mux + flash ADC: netlists, calibration, behavioral model, validation."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest

from cosim.errors import ConfigError, ModelRangeError, UnknownNameError
from cosim.netlist.adc import (AdcDesign, Corner, DcSweep, Levels, area_estimate, devices, draw_mismatch,
                               ideal_thresholds, mismatch_sigmas, render_adc)

TEST_SPEC = """
seed = 7
[design]
[sweep]
bits = [2]
corners = [
  { name = "nominal", temp_c = 27.0, vdd_scale = 1.0 },
  { name = "hot", temp_c = 85.0, vdd_scale = 1.0 },
]
dc_step_lsb = 0.004
mc_instances = 110
period = 5e-9
overdrive_lsb = [0.02, 0.1, 0.5, 2.0]
near_start_lsb = [0.3]
near_overdrive_lsb = [0.03, 0.3]
energy_conversions = 128
trim_iterations = 3
[validate]
mc_instances = 20
inputs = 500
overdrive_lsb = [0.3]
near_delays = [[0.6, 0.2]]
conversions = 20
instances_tran = 2
[dac]
sizes = [16, 32, 64, 128]
densities = [0.0, 0.5, 1.0]
validate_sizes = [48]
validate_densities = [0.25]
g_on = 40e-6
on_off_ratio = 150.0
v_lo = 0.2
r_row = 0.73
c_row = 22.4e-18
t_pulse = 2e-9
"""


# --------------------------------------------------------------------------- design and netlists


def test_device_list_and_mismatch_sigmas():
    d = AdcDesign()
    for bits in (1, 2, 3):
        devs = devices(d, bits)
        comps = [x for x in devs if x.name.startswith("MR") and x.name != "MRD"]
        assert len(comps) == 2**bits - 1
    devs = devices(d, 2)
    sig = mismatch_sigmas(d, devs)
    assert "MSOFF" not in sig  # unselected switches carry no current: no draw
    m1 = next(x for x in devs if x.name == "M1")
    assert sig["M1"] == pytest.approx(d.avt_n / math.sqrt(m1.w * m1.l))  # Pelgrom
    a = draw_mismatch(d, devs, np.random.default_rng(3))
    b = draw_mismatch(d, devs, np.random.default_rng(3))
    assert a == b and set(a) == set(sig)
    # the area rule: (W + 6F)(L + 6F) per device
    one = [m1]
    assert area_estimate(one) == pytest.approx((m1.w + 6 * 32e-9) * (m1.l + 6 * 32e-9))


def test_bad_design_and_resolution_refused():
    with pytest.raises(ConfigError, match="i_lsb"):
        AdcDesign(i_lsb=-1.0)
    with pytest.raises(ConfigError, match="unknown ADC design parameter"):
        AdcDesign.from_dict({"i_lbs": 1e-6})
    with pytest.raises(ConfigError, match="valid: 1, 2, 3"):
        devices(AdcDesign(), 8)
    with pytest.raises(ConfigError, match="unknown device"):
        render_adc(AdcDesign(), 2, DcSweep(stop=1e-4, step=1e-7), delvto={"MX9": 0.01})


def test_netlist_carries_mismatch_corner_and_pwl():
    d = AdcDesign()
    txt = render_adc(d, 2, Levels(levels=(0.0, 3e-5, 1e-5), period=5e-9), corner=Corner("hot", 85.0, 1.1),
                     delvto={"M1": 0.012})
    assert ".temp 85.0" in txt and f"VDD vdd 0 DC {d.vdd * 1.1!r}" in txt
    assert "DELVTO=0.012" in txt and txt.count("DELVTO") == 1
    assert "PWL(0.0 0.0 5e-09 0.0 5.02" in txt and " 3e-05 1e-08 3e-05 1.002e-08 1e-05)" in txt
    assert ".tran" in txt and ".dc" not in txt


@pytest.mark.spice
def test_rendered_adc_netlist_runs_by_hand(tmp_path):
    p = tmp_path / "adc.cir"
    p.write_text(render_adc(AdcDesign(), 2, DcSweep(stop=8e-5, step=1e-6)))
    r = subprocess.run(["ngspice", "-b", "-r", str(tmp_path / "o.raw"), str(p)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "error" not in (r.stdout + r.stderr).lower()


@pytest.mark.spice
def test_dc_transfer_is_a_flash_and_clamps_the_column():
    from cosim.calibration.adc import dc_transfer

    d = AdcDesign()
    r = dc_transfer(d, 2, Corner("nominal", 27.0))
    th = r["thresholds"] / d.i_lsb
    assert np.all(np.diff(th) > 0.8) and abs(th[0] - 0.5) < 0.1  # untrimmed: near (k - 1/2) LSB
    # the column node barely moves over the input range (a low-impedance clamp)
    assert np.ptp(r["v_clamp"]) < 5e-3 and 0.1 < r["v_clamp"].mean() < 0.3


@pytest.mark.spice
def test_delvto_moves_the_threshold():
    from cosim.calibration.adc import dc_transfer

    d = AdcDesign()
    base = dc_transfer(d, 2, Corner("nominal", 27.0))["thresholds"]
    shifted = dc_transfer(d, 2, Corner("nominal", 27.0), delvto={"MR3": 0.01})["thresholds"]
    # a higher reference-sink threshold voltage weakens the sink: threshold 3 falls, 1 and 2 stay
    assert shifted[2] < base[2] - 0.02 * d.i_lsb
    assert np.allclose(shifted[:2], base[:2], atol=1e-4 * d.i_lsb)


# --------------------------------------------------------------------------- calibration + model


@pytest.fixture(scope="module")
def adc_table(tmp_path_factory):
    from cosim.calibration.adc import calibrate, load_spec
    from cosim.store import write_table

    root = tmp_path_factory.mktemp("adc")
    spec_path = root / "adc.toml"
    spec_path.write_text(TEST_SPEC)
    spec = load_spec(spec_path)
    table = calibrate(spec, n_jobs=2, spec_path=spec_path)
    path = root / "adc.h5"
    write_table(table, path)
    return spec, path


@pytest.mark.spice
def test_calibration_trims_thresholds_and_fits_mismatch(adc_table):
    from cosim.store import read_table

    spec, path = adc_table
    t = read_table(path, "cosim.adc")
    lsb = spec.design.i_lsb
    nominal = t["b2/thresholds"][0]
    assert np.max(np.abs(nominal - ideal_thresholds(spec.design, 2))) < 0.01 * lsb  # trimmed onto (k-1/2) LSB
    mc = t["b2/mc_thresholds"]
    assert mc.shape == (2, 110, 3) and np.all(mc.std(1) > 0.02 * lsb)  # mismatch spreads thresholds
    assert np.all(t["b2/fit_resid_rms"] < 0.05 * lsb)
    assert t["b2/delay"].shape == (2, 2, 3, 4)
    d = t["b2/delay"]
    assert np.all(np.diff(d, axis=-1) < 0)  # larger overdrive, shorter delay
    assert "adc_flash.cir.j2" in " ".join(t.sources) and "ptm32_hp_pmos.lib" in " ".join(t.sources)


@pytest.mark.spice
def test_model_registry_and_refusals(adc_table):
    from cosim.models.adc import load

    _, path = adc_table
    with pytest.raises(UnknownNameError, match="valid: flash-current"):
        load("sar-9000", 2, "nominal", path)
    with pytest.raises(ModelRangeError, match="8-bit not calibrated"):
        load("flash-current", 8, "nominal", path)
    with pytest.raises(UnknownNameError, match="valid: hot, nominal"):
        load("flash-current", 2, "cold", path)


@pytest.mark.spice
def test_model_codes_delay_energy(adc_table):
    from cosim.models.adc import load

    spec, path = adc_table
    m = load("flash-current", 2, "nominal", path)
    lsb = m.lsb
    assert list(m.codes(np.array([0.1, 0.9, 1.9, 2.9, 3.5]) * lsb)) == [0, 1, 2, 3, 3]
    d = m.delay(np.array([0.1, 0.3, 1.0]) * lsb, 2, "rise")
    assert np.all(np.diff(d) < 0)
    # a long period resolves everything: sequence codes = static codes
    lv = np.random.default_rng(0).uniform(0, 4 * lsb, 50)
    assert np.array_equal(m.convert(lv, period=1e-6).sum(-1), m.codes(lv))
    # a tiny overdrive at a short period keeps the previous code
    seq = np.array([0.0, m.thresholds_nominal[1] + 0.001 * lsb])
    assert m.convert(seq, period=1e-9).sum(-1)[1] == 1
    # delays from a start near the threshold: shorter than from the far start; the calibrated points exactly
    th2 = m.thresholds_nominal[1]
    far = float(m.delay(0.03 * lsb, 2, "rise"))
    assert far == pytest.approx(float(m.delay(0.03 * lsb, 2, "rise", 0.0)))  # the far start is the table's
    near = float(m.delay(0.03 * lsb, 2, "rise", th2 - 0.3 * lsb))
    assert near < far and near == pytest.approx(m.delay_near_rise[1, 0, 0])
    assert float(m.delay(0.3 * lsb, 2, "fall", th2 + 0.3 * lsb)) == pytest.approx(m.delay_near_fall[1, 0, 1])
    # below the table the node slews on the overdrive current: delay ∝ 1 / overdrive
    assert float(m.delay(0.005 * lsb, 2, "rise")) == pytest.approx(4 * float(m.delay(0.02 * lsb, 2, "rise")))
    # a decision that needs more than one period carries over to the next
    d = float(m.delay(0.05 * lsb, 2, "rise"))
    seq = np.array([0.0] + [th2 + 0.05 * lsb] * 3)
    assert list(m.convert(seq, period=0.6 * d).sum(-1)) == [0, 1, 2, 2]
    e = m.energy(lv)
    assert np.all(e > 0) and 10e-15 < m.energy_per_conversion() < 10e-12
    off = m.offsets_lsb(np.random.default_rng(1), 5000)
    assert off.shape == (5000, 3) and abs(off.mean()) < 0.05


@pytest.mark.spice
def test_validation_against_held_out_spice(adc_table):
    from cosim.validation.adc import checks_for, validate

    spec, path = adc_table
    res = validate(spec, table=path, n_jobs=2)
    assert [(r.bits, r.corner) for r in res] == [(2, "nominal"), (2, "hot")]
    checks = {c.name: c for c in checks_for(res)}
    for tag in ("2b/nominal", "2b/hot"):
        assert checks[f"threshold_err_lsb/{tag}"].passed, checks[f"threshold_err_lsb/{tag}"]
        assert checks[f"code_disagreement/{tag}"].value <= 0.01
        assert checks[f"dnl_err_lsb/{tag}"].passed and checks[f"inl_err_lsb/{tag}"].passed
        assert checks[f"delay_rel_err/{tag}"].passed, checks[f"delay_rel_err/{tag}"]
        assert checks[f"delay_rel_err_near_start/{tag}"].passed, checks[f"delay_rel_err_near_start/{tag}"]
        assert checks[f"energy_rel_err/{tag}"].passed, checks[f"energy_rel_err/{tag}"]
        # conversions farther from every threshold than the model's worst threshold error
        assert checks[f"transient_code_disagreement_beyond_th_err/{tag}"].value <= 0.05
        assert checks[f"trnoise_changes_away_from_thresholds/{tag}"].passed


# --------------------------------------------------------------------------- spec and CLI errors


def test_spec_errors(tmp_path):
    from cosim.calibration.adc import load_spec

    p = tmp_path / "s.toml"
    p.write_text(TEST_SPEC.replace("bits = [2]", "bits = [9]"))
    with pytest.raises(ConfigError, match="not supported"):
        load_spec(p)
    p.write_text(TEST_SPEC.replace('name = "nominal"', 'name = "typ"'))
    with pytest.raises(ConfigError, match="first corner must be 'nominal'"):
        load_spec(p)
    p.write_text("seed = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_spec(p)


def test_cli_unknown_kind_and_bits(capsys):
    from cosim.cli import main

    assert main(["validate", "adc", "--kind", "nope"]) == 2
    assert "unknown ADC kind 'nope'; valid: flash-current" in capsys.readouterr().err
    assert main(["validate", "adc", "--bits", "8"]) == 2
    assert "calibrates" in capsys.readouterr().err


@pytest.mark.spice
def test_noise_is_small_and_from_spice(adc_table):
    from cosim.models.adc import load

    spec, path = adc_table
    m = load("flash-current", 2, "nominal", path)
    assert np.all(m.noise_rms > 0)
    assert 1e-4 < m.noise_lsb() < 0.05  # thermal + flicker above 1 MHz: a few thousandths of an LSB


@pytest.mark.spice
def test_whole_chain_matches_behavioral_chain(adc_table):
    from cosim.validation.adc import chain_check

    _, path = adc_table
    r = chain_check(n=16, reads=6, table=path)
    assert len(r.codes_spice) == 96
    assert r.agree >= 0.99, (r.codes_spice, r.codes_model)
    # the inputs are not trivially far from thresholds: continuous currents from varied cells
    frac = (r.i_model / 20e-6) % 1.0
    assert np.any(np.abs(frac - 0.5) < 0.45)


def test_shipped_adc_table_is_current_and_loads():
    from cosim.cli import table_status
    from cosim.models.adc import load
    from cosim.resources import calibration_dir

    ok, state = table_status(calibration_dir() / "adc.h5")
    assert ok, state
    m = load("flash-current", 2, "nominal")
    assert np.allclose(m.thresholds_nominal / m.lsb, [0.5, 1.5, 2.5], atol=0.01)
    for b in (1, 2, 3):
        for c in ("nominal", "cold", "hot", "vdd-10%", "vdd+10%"):
            m = load("flash-current", b, c)
            assert m.min_overdrive_lsb() <= 0.1, (b, c)  # the shipped period resolves 0.1 LSB
            assert np.max(np.abs(m.thresholds_nominal / m.lsb - (np.arange(1, 2**b) - 0.5))) < 0.2
    assert load("flash-current", 3, "nominal").period > load("flash-current", 2, "nominal").period


def test_system_uses_the_calibrated_adc():
    from cosim.system.arch import load_arch, with_overrides
    from cosim.system.simulate import simulate
    from cosim.workloads import build_workload, load_model

    arch = load_arch("large-small")
    assert arch.compute.adc_energy_rule == "calibrated"
    w = build_workload(load_model("bert-base"), 32)
    r = simulate(w, arch)
    assert r.costs["adc"]["status"] == "calibrated" and "calibration/adc.h5" in r.costs["adc"]["source"]
    assert r.breakdown["sense_amp"] > 0 and "sample_hold" not in r.breakdown
    # the rows stay driven for the 128-column scan at the calibrated period
    m = __import__("cosim.models.adc", fromlist=["load"]).load("flash-current", 2, "nominal")
    assert r.plan["t_cycle_s"] == pytest.approx(128 * m.period)
    # the cited stand-in remains selectable and gives another figure
    r2 = simulate(w, with_overrides(arch, {"compute.adc_energy_rule": "walden"}))
    assert r2.costs["adc"]["status"] == "cited" and r2.energy_j != r.energy_j
    with pytest.raises(ConfigError, match="8-bit not calibrated"):
        simulate(w, with_overrides(arch, {"compute.adc_bits": 8}))
    # the 3-bit flash reads 7 rows per conversion exactly, at its own period and energy
    r3 = simulate(w, with_overrides(arch, {"compute.adc_bits": 3, "compute.rows_per_conversion": 7}))
    m3 = __import__("cosim.models.adc", fromlist=["load"]).load("flash-current", 3, "nominal")
    assert r3.plan["lossless_adc"] and r3.plan["t_cycle_s"] == pytest.approx(128 * m3.period)
    assert r3.costs["adc"]["value"] == pytest.approx(m3.energy_per_conversion())


def test_cli_refuses_bad_tables_and_corners(tmp_path, capsys):
    import shutil

    from cosim.cli import main
    from cosim.resources import calibration_dir

    bad = tmp_path / "adc.h5"
    bad.write_bytes(b"not hdf5")
    assert main(["validate", "adc", "--table", str(bad)]) == 2
    assert "is not a readable cosim table" in capsys.readouterr().err
    other = tmp_path / "xb.h5"
    shutil.copy(calibration_dir() / "crossbar.h5", other)
    assert main(["validate", "adc", "--table", str(other)]) == 2
    assert "holds a 'cosim.crossbar' table, not 'cosim.adc'" in capsys.readouterr().err
    assert main(["validate", "adc", "--corners", "tropical"]) == 2
    assert "unknown ADC corner 'tropical'; valid: cold, hot, nominal" in capsys.readouterr().err
    assert bad.read_bytes() == b"not hdf5"  # nothing overwritten


def test_a_failed_monte_carlo_instance_becomes_an_outlier_not_a_crash():
    """A Monte Carlo instance that failed in SPICE is left out of the fit as an outlier (NaN thresholds,
    its ΔV_T redrawn from its seed, the reason kept); a failed nominal point stops the calibration."""
    from cosim.calibration.adc import _item_dc, _item_energy, load_spec, settle_failures
    from cosim.config import SpiceSettings
    from cosim.errors import CalibrationError
    from cosim.parallel import Failed

    spec = load_spec(quick=True)
    c = spec.corners[0]
    items = [(_item_dc, (spec, 2, c, None, "cal", 5, SpiceSettings())),
             (_item_dc, (spec, 2, c, None, "cal", 6, SpiceSettings()))]
    ok = {"bits": 2, "corner": c.name, "which": "cal", "i": 6, "thresholds": np.ones(3), "dvt": np.zeros(3)}
    out = settle_failures(spec, items, [Failed("timestep too small"), ok])
    assert out[1] is ok and out[0]["i"] == 5 and np.all(np.isnan(out[0]["thresholds"]))
    assert "timestep" in out[0]["failed"] and np.any(out[0]["dvt"] != 0)
    with pytest.raises(CalibrationError, match="item_energy point"):
        settle_failures(spec, [(_item_energy, (spec, 2, c, None, SpiceSettings()))], [Failed("singular matrix")])


def _synthetic_flash(bits: int = 3):
    """A FlashAdc with made-up delay tables (no ngspice): far-start delays falling with overdrive, near
    starts at 0.4 / 0.7 of them."""
    from cosim.models.adc import FlashAdc

    n, lsb = 2**bits - 1, 20e-6
    ods = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0])
    rise = np.stack([(5e-9 * (0.05 / ods) ** 0.5 + 0.3e-9) * (1 + 0.1 * k) for k in range(n)])
    nsd, nod = np.array([0.1, 0.4]), np.array([0.01, 0.03, 0.1, 0.3])
    at = np.exp(np.stack([np.interp(np.log(nod), np.log(ods), np.log(r)) for r in rise]))
    near = np.stack([np.stack([a * 0.4, a * 0.7]) for a in at])
    return FlashAdc(bits=bits, corner="x", lsb=lsb, vdd=0.9, period=8e-9,
                    thresholds_nominal=(np.arange(1, n + 1) - 0.5) * lsb, devices=[], sigma_vt=np.zeros(0),
                    coef=np.zeros((n, 1)), i_grid=np.linspace(0, 2**bits * lsb, 9), i_supply=np.full(9, 1e-4),
                    v_clamp=np.zeros(9), overdrive_lsb=ods, delay_rise=rise, delay_fall=0.9 * rise,
                    near_start_lsb=nsd, near_overdrive_lsb=nod, delay_near_rise=near, delay_near_fall=0.9 * near,
                    e_transition=np.zeros(8), noise_rms=np.zeros(n), area=1e-12, area_sa=1e-13, n_mux=128,
                    i_bias=5e-6)


def test_sequence_model_against_a_step_by_step_reference():
    """The vectorised sequence model equals the rule stepped conversion by conversion with delay():
    flip once the input has been across for the delay from the last input on the old side (the
    instance's own threshold and far start), carrying an unfinished decision over."""
    from cosim.models.adc import SAMPLE_MARGIN

    m = _synthetic_flash()
    rng = np.random.default_rng(7)

    def stepped(levels, th, period):
        out = np.zeros((len(levels), m.n_comp), bool)
        for k in range(m.n_comp):
            side, elapsed, start = levels[0] > th[k], 0.0, None
            for i, x in enumerate(levels):
                if i and (x > th[k]) != side:
                    start = levels[i - 1] if start is None else start
                    elapsed += period
                    d = float(m.delay(x - th[k], k + 1, "rise" if x > th[k] else "fall", start, th[k]))
                    if elapsed >= d + SAMPLE_MARGIN:
                        side, elapsed, start = x > th[k], 0.0, None
                elif i:
                    elapsed, start = 0.0, None
                out[i, k] = side
        return out

    for _ in range(4):
        th = m.thresholds_nominal + rng.normal(0, 0.3, m.n_comp) * m.lsb
        lv = rng.uniform(0, 8 * m.lsb, 240)
        lv[::3] = th[rng.integers(0, m.n_comp, 80)] + rng.normal(0, 0.05, 80) * m.lsb  # near thresholds
        for period in (2e-9, 5e-9, 8e-9):
            assert np.array_equal(m.convert(lv, th, period), stepped(lv, th, period))
    # the near-start grid is reproduced at its points; the far start is the far table; beyond it ratio 1
    th3 = m.thresholds_nominal[2]
    far = float(m.delay(0.03 * m.lsb, 3, "rise"))
    assert float(m.delay(0.03 * m.lsb, 3, "rise", th3 - 0.1 * m.lsb)) == pytest.approx(m.delay_near_rise[2, 0, 1])
    assert float(m.delay(0.03 * m.lsb, 3, "rise", 0.0)) == pytest.approx(far)
    assert float(m.delay(0.03 * m.lsb, 3, "rise", -1.0 * m.lsb)) == pytest.approx(far)
    # an instance whose threshold sits below nominal still starts from its own far start at zero input
    assert float(m.delay(0.03 * m.lsb, 1, "rise", 0.0, 0.3 * m.lsb)) == pytest.approx(
        float(m.delay(0.03 * m.lsb, 1, "rise")))


def test_offset_sigma_interval_is_simultaneous_over_thresholds():
    """The sigma check takes one 95 % interval for all 2^b - 1 thresholds together: wider than a single
    threshold's, and covering a perfect model (samples of its own distribution) about 95 % of the time
    where seven single intervals cover it only about two times in three."""
    from cosim.validation.adc import _chi2_ci

    one, seven = _chi2_ci(np.array([1.0]), 200), _chi2_ci(np.array([1.0]), 200, 7)
    assert seven[0, 0] < one[0, 0] < 1.0 < one[1, 0] < seven[1, 0]
    rng = np.random.default_rng(5)
    miss_single = miss_joint = 0
    for _ in range(400):
        s = rng.standard_normal((200, 7)).std(0, ddof=1)
        lo, hi = _chi2_ci(s, 200)
        miss_single += np.any((lo > 1) | (hi < 1))
        lo, hi = _chi2_ci(s, 200, 7)
        miss_joint += np.any((lo > 1) | (hi < 1))
    assert 0.2 < miss_single / 400 < 0.45 and miss_joint / 400 < 0.1
