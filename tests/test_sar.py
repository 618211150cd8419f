"""SAR ADC (capacitor DAC + StrongARM comparator): netlists, calibration, behavioral model, validation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from cosim.errors import ConfigError, ModelRangeError, UnknownNameError
from cosim.netlist.adc import Corner
from cosim.netlist.sar import SarDesign, comparator_devices, draw_mismatch, mismatch_sigmas, render_bench, render_sar

TEST_SPEC = """
seed = 11
[design]  # the whole SAR's numerics as shipped (the bench keeps the code defaults: quicker, checked at 0.005 LSB)
sar_options = "reltol=1e-4 abstol=1e-12 vntol=1e-6 method=trap"
sar_t_max = 2e-12
[sweep]
bits = [4]
corners = [
  { name = "nominal", temp_c = 27.0, vdd_scale = 1.0 },
  { name = "hot", temp_c = 85.0, vdd_scale = 1.0 },
]
points_per_cycle = 12
energy_conversions = 48
mc_instances = 50
mc_cycles = 16
overdrive_v = [3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]
insar_instances = 12
[validate]
mc_instances = 50
conversions = { 4 = 120 }
mc_sar_instances = 1
mc_sar_conversions = 60
overdrive_v = [5e-4, 5e-3]
insar_instances = 3
reference = { sar_options = "reltol=1e-5 abstol=1e-13 vntol=1e-7 method=gear", sar_t_max = 2.5e-13 }
"""


def test_design_refusals_and_devices():
    d = SarDesign()
    names = [x.name for x in comparator_devices(d)]
    assert len(names) == len(set(names)) == 15
    sig = mismatch_sigmas(d)
    assert sig["M1"] == pytest.approx(1.15e-9 / np.sqrt(4e-6 * 100e-9))  # Pelgrom A_VT / sqrt(W L)
    with pytest.raises(ConfigError, match="whole number"):
        SarDesign(t_sample=450e-12)
    with pytest.raises(ConfigError, match="below vdd"):
        SarDesign(v_ref=1.0)
    with pytest.raises(ConfigError, match="valid: 3, 4, 5, 6, 7, 8"):
        render_sar(d, 9, [0.1])
    with pytest.raises(ConfigError, match="unknown device"):
        render_sar(d, 4, [0.1], delvto={"MX": 0.01})
    with pytest.raises(ConfigError, match="unknown SAR design parameter"):
        SarDesign.from_dict({"c_unt": 1e-15})


def test_netlists_carry_mismatch_and_corner():
    d = SarDesign()
    dv = draw_mismatch(d, np.random.default_rng(0))
    text = render_sar(d, 4, [0.1, 0.2], corner=Corner("hot", 85.0, 1.1), delvto=dv)
    assert ".temp 85.0" in text and "VDD vdd 0 DC 0.9900000000000001" in text
    assert f"DELVTO={dv['M2']!r}" in text and text.count(" d_dff(") == 1 and text.count(" dff\n") == 4
    bench = render_bench(d, [[0.6, 0.61], [0.59, 0.6]], delvto=[dv, {}])
    assert bench.count("M1_") == 2 and f"DELVTO={dv['M1']!r}" in bench and "inn1" in bench


def test_numerics_are_design_parameters_checked_and_rendered(tmp_path):
    from cosim.calibration.sar import load_spec

    d = SarDesign(bench_options="method=trap reltol=1e-5", bench_t_max=1e-12, sar_t_max=2e-12)
    bench = render_bench(d, [[0.6, 0.61]])
    assert ".options method=trap reltol=1e-5 noacct" in bench and bench.rstrip().splitlines()[-2].endswith(" 1e-12")
    assert render_bench(d, [[0.6]], t_max=5e-13).rstrip().splitlines()[-2].endswith(" 5e-13")  # a finer cap wins
    sar = render_sar(d, 4, [0.1])
    assert ".options reltol=1e-4 abstol=1e-12 vntol=1e-6 method=gear noacct" in sar
    assert sar.rstrip().splitlines()[-2].endswith(" 2e-12")
    for bad, msg in [("reltol=abc", "finite number > 0"), ("method=euler", "valid: gear, trap"),
                     ("gmin=1e-12", "not allowed"), ("reltol", "not key=value"), ("", "expected ngspice options"),
                     ("reltol=-1e-4", "finite number > 0")]:
        with pytest.raises(ConfigError, match=msg):
            SarDesign(bench_options=bad)
    # the shipped spec measures with converged bench numerics and names the validation's reference
    spec = load_spec(None)
    assert "method=trap" in spec.design.bench_options and spec.design.bench_t_max == 1e-12
    assert "method=trap" in spec.design.sar_options and spec.design.sar_t_max == 2e-12
    ref = spec.reference_design()
    assert ref.bench_t_max < spec.design.bench_t_max and ref.sar_t_max < spec.design.sar_t_max
    assert spec.val_numerics_instances >= 2 and load_spec(None, quick=True).val_numerics_instances >= 1
    text = (Path(__file__).parents[1] / "circuits" / "adc_sar.toml").read_text()
    bad = tmp_path / "adc_sar.toml"
    bad.write_text(text.replace('bench_options = "reltol=1e-5', 'bench_options = "method=euler reltol=1e-5'))
    with pytest.raises(ConfigError, match="method 'euler' unknown"):
        load_spec(bad)
    for old, new, msg in [("bench_t_max = 2e-13", "bench_t_max = -1.0", r"reference.bench_t_max must be a finite"),
                          ("bench_t_max = 2e-13", "bench_tmax = 2e-13", r"unknown key\(s\) \['bench_tmax'\]"),
                          ("sar_t_max = 2.5e-13", "sar_t_max = 1e-11", "must not be coarser"),
                          ('bench_options = "reltol=1e-6', 'bench_options = "method=euler reltol=1e-6',
                           "reference.bench_options: method 'euler'"),
                          ("numerics_instances = 4 ", "numerics_instances = -1 ", "whole number >= 0")]:
        assert old in text
        assert text.count(old) == 1  # each lives in one place: [validate] reference or numerics_instances
        bad.write_text(text.replace(old, new))
        with pytest.raises(ConfigError, match=msg):
            load_spec(bad)


def test_validation_refuses_a_table_of_other_numerics_and_marks_relaxed_references(tmp_path):
    import json

    import h5py

    from cosim import events
    from cosim.calibration.sar import load_spec
    from cosim.errors import CalibrationError
    from cosim.resources import calibration_dir
    from cosim.validation.sar import _check_numerics, _item_reference

    spec = load_spec(None)
    t = tmp_path / "other.h5"
    t.write_bytes((calibration_dir() / "adc_sar.h5").read_bytes())
    with h5py.File(t, "a") as f:
        a = json.loads(f.attrs["attrs_json"])
        a["design"]["bench_options"] = "reltol=1e-3 method=gear"
        f.attrs["attrs_json"] = json.dumps(a)
    with pytest.raises(CalibrationError, match="other SPICE numerics.*bench_options: table 'reltol=1e-3 method=gear'"):
        _check_numerics(spec, t)

    def fake(tag, relax):
        if relax:
            events.record("relaxed", "timestep too small -> converged with reltol=1e-3")
        return {"which": tag, "flip": np.zeros(2)}

    events.drain()
    r = _item_reference(fake, ("val", False))
    assert r["which"] == "ref-val" and r["relaxed"] is False
    r = _item_reference(fake, ("insar-val", True))
    assert r["which"] == "ref-insar-val" and r["relaxed"] is True
    assert [k for k, _ in events.drain()] == ["relaxed"]  # still reported with the run's events


@pytest.mark.spice
def test_rendered_sar_runs_by_hand_and_converts(tmp_path):
    from cosim.calibration.sar import convert

    d = SarDesign()
    p = tmp_path / "sar.cir"
    p.write_text(render_sar(d, 4, [0.1]))
    r = subprocess.run(["ngspice", "-b", "-r", str(tmp_path / "o.raw"), str(p)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "error" not in (r.stdout + r.stderr).lower()
    lsb = d.lsb(4)
    vin = (np.arange(16) + 0.5) * lsb  # mid-code inputs: every code, half an LSB from each threshold
    out = convert(d, 4, Corner("nominal", 27.0), vin)
    assert out["codes"].tolist() == list(range(16))
    assert 0.6 < out["a"] < 1.0  # the array's attenuation by its parasitics
    assert np.all(out["e_vdd"] > 0)


@pytest.fixture(scope="module")
def sar_table(tmp_path_factory):
    from cosim.calibration.sar import calibrate, load_spec
    from cosim.store import write_table

    root = tmp_path_factory.mktemp("sar")
    spec_path = root / "adc_sar.toml"
    spec_path.write_text(TEST_SPEC)
    spec = load_spec(spec_path)
    table = calibrate(spec, n_jobs=2, spec_path=spec_path)
    path = root / "adc_sar.h5"
    write_table(table, path)
    return spec, path


@pytest.mark.spice
def test_calibration_measures_offsets_energy_and_delay(sar_table):
    from cosim.store import read_table

    spec, path = sar_table
    t = read_table(path, "cosim.sar")
    lsb = spec.design.lsb(4)
    assert t["b4/s"].shape == (2, 4) and np.all(np.abs(t["b4/s"]) < 1.0 * lsb)
    assert np.all(t["b4/s_bracket"] < 0.06 * lsb)  # each decision offset pinned to a few hundredths of an LSB
    flips = t["comparator/mc_flip"]
    assert flips.shape == (2, 50) and np.all(flips.std(1) > 1e-3)  # mismatch spreads the comparator
    assert np.all(t["comparator/fit_resid_rms"] < 0.1 * flips.std(1))
    assert np.all(np.diff(t["comparator/delay"], axis=1) < 0)  # larger overdrive, faster decision
    # ideal-capacitor charge accounts for most of SPICE's VREF energy; SPICE draws more (the shipped table:
    # 20-23 % more at 4 bits' 16 fF array, 3 % at 8 bits), measured with trapezoidal integration, whose
    # currents sum to the capacitors' charge exactly (gear's, summed the same way, read ~10 % lower)
    assert np.all((t["b4/k_ref"] > 1.0) & (t["b4/k_ref"] < 1.3))
    assert "adc_sar.cir.j2" in " ".join(t.sources) and "sar_comparator.cir.j2" in " ".join(t.sources)
    # the in-SAR correction: instances converted by the whole SAR differ from the bench's prediction, and
    # the linear fit in their ΔV_T takes most of that difference out
    assert t["insar/dvt"].shape == (12, 15) and t["b4/insar_coef"].shape == (2, 16)
    shift, dvt = t["b4/insar_shift"], t["insar/dvt"]
    assert np.all(np.ptp(shift, axis=1) > 0.05 * lsb)  # the instances really are spread
    for c in range(2):
        from cosim.models.adc import load

        m = load("sar-cdac", 4, ["nominal", "hot"][c], path)
        before = np.sqrt(np.mean((m.bench_shift(dvt) - shift[c]) ** 2))
        after = np.sqrt(np.mean((m.shift(dvt) - shift[c]) ** 2))
        assert after == pytest.approx(t["b4/insar_resid_rms"][c], rel=1e-6) and after < 0.5 * before


@pytest.mark.spice
def test_model_codes_thresholds_and_refusals(sar_table):
    from cosim.models.adc import load

    _, path = sar_table
    m = load("sar-cdac", 4, "nominal", path)
    lsb = m.lsb
    vin = np.linspace(0, m.v_ref * 0.999, 400)
    c = m.codes(vin)
    assert np.all(np.diff(c) >= 0) and c[0] == 0 and c[-1] == 15
    th = m.thresholds()
    assert th.shape == (15,) and np.max(np.abs(th / lsb - np.arange(1, 16))) < 1.0
    assert np.array_equal(m.codes(th + 1e-6 * lsb), np.arange(1, 16))
    assert np.array_equal(m.codes(th - 1e-6 * lsb), np.arange(0, 15))
    # the mismatch-free instance is the measured one: its fitted shift is zero, not an intercept's residue
    assert abs(float(m.shift(np.zeros(len(m.devices)))[0])) < 1e-12 * lsb
    assert np.allclose(m.thresholds(np.zeros(len(m.devices))), th, rtol=0, atol=1e-12 * lsb)
    off = m.offsets_lsb(np.random.default_rng(0), 4000)
    assert 0.01 < off.std() < 1.0
    assert 10e-15 < m.energy_per_conversion() < 2e-12
    assert m.decision_delay(1e-4) > m.decision_delay(1e-2)
    with pytest.raises(ModelRangeError, match="8-bit not calibrated"):
        load("sar-cdac", 8, "nominal", path)
    with pytest.raises(UnknownNameError, match="valid: hot, nominal"):
        load("sar-cdac", 4, "cold", path)


@pytest.mark.spice
def test_table_without_the_in_sar_correction_is_refused(sar_table, tmp_path):
    import h5py

    from cosim.errors import CalibrationError
    from cosim.models.sar import load

    _, path = sar_table
    old = tmp_path / "old.h5"
    old.write_bytes(path.read_bytes())
    with h5py.File(old, "a") as f:
        del f["data/b4/insar_coef"]
    with pytest.raises(CalibrationError, match="no dataset .b4/insar_coef.*regenerate"):
        load(4, "nominal", old)


@pytest.mark.spice
def test_validation_against_held_out_spice(sar_table, tmp_path):
    from cosim.validation.sar import checks_for, validate, write_report

    spec, path = sar_table
    res = validate(spec, table=path, n_jobs=2)
    assert [(r.bits, r.corner) for r in res] == [(4, "nominal"), (4, "hot")]
    checks = {c.name: c for c in checks_for(res)}
    for tag in ("sar4/nominal", "sar4/hot"):
        for name in ("threshold_err_lsb", "dnl_diff_lsb", "inl_diff_lsb", "energy_rel_err", "mc_threshold_err_lsb",
                     "comparator_offset_err_lsb", "delay_rel_err", "bench_numerics_err_lsb"):
            assert checks[f"{name}/{tag}"].passed, checks[f"{name}/{tag}"]
        # the whole SAR's SPICE points are converged to the 0.001 LSB the 0.1 % code check needs
        assert checks[f"sar_numerics_err_lsb/{tag}"].passed, checks[f"sar_numerics_err_lsb/{tag}"]
        assert checks[f"code_disagreement/{tag}"].value <= 0.02
        assert checks[f"mc_code_disagreement/{tag}"].value <= 0.02
        # the staircase-measured thresholds predict the instance's own direct conversions
        assert checks[f"mc_direct_codes_off_measured_thresholds/{tag}"].passed
        assert checks[f"direct_codes_off_measured_thresholds/{tag}"].passed
    rep = write_report(res, list(checks.values()), tmp_path / "sar.md", table=path)
    text = rep.read_text()
    assert "Kull" in text and "NeuroSim" in text and "ours / this" in text
    assert "## Codes of the mismatch-free instance at low resolution" in text and "| 4 | hot | 2000 |" in text


def test_shipped_sar_table_is_current_and_loads():
    from cosim.cli import table_status
    from cosim.models.adc import load
    from cosim.resources import calibration_dir

    ok, state = table_status(calibration_dir() / "adc_sar.h5")
    assert ok, state
    for b in (4, 5, 6, 7, 8):
        m = load("sar-cdac", b, "nominal")
        assert np.max(np.abs(m.thresholds() / m.lsb - np.arange(1, 2**b))) < 1.0
        assert m.decision_delay(0.1 * m.lsb) < 0.4 * 300e-12  # decides before the register latches


def test_baselines_use_the_calibrated_sar():
    from cosim.system.arch import load_arch, with_overrides
    from cosim.system.simulate import simulate
    from cosim.workloads import build_workload, load_model

    w = build_workload(load_model("bert-base"), 32)
    for name in ("multi-bit", "single-bit"):
        arch = load_arch(name)
        assert arch.compute.adc_energy_rule == "calibrated" and arch.compute.adc_kind == "sar-cdac"
        r = simulate(w, arch)
        assert r.costs["adc"]["status"] == "calibrated" and "adc_sar.h5" in r.costs["adc"]["source"]
        assert r.breakdown["sample_hold"] > 0 and "sense_amp" not in r.breakdown
        r2 = simulate(w, with_overrides(arch, {"compute.adc_energy_rule": "walden"}))
        assert r2.costs["adc"]["status"] == "cited" and r2.energy_j != r.energy_j
    with pytest.raises(ConfigError, match="3-bit not calibrated"):
        simulate(w, with_overrides(load_arch("multi-bit"), {"compute.adc_bits": 3}))


def test_cli_sar_errors(capsys, tmp_path):
    from cosim.cli import main

    assert main(["validate", "adc", "--kind", "sar-cdac", "--bits", "3"]) == 2
    assert "calibrates [4, 5, 6, 7, 8] bits only" in capsys.readouterr().err
    assert main(["calibrate", "adc", "--kind", "sar-9"]) == 2
    assert "valid: flash-current, sar-cdac" in capsys.readouterr().err
    bad = tmp_path / "s.toml"
    bad.write_text(TEST_SPEC.replace("bits = [4]", "bits = [12]"))
    assert main(["calibrate", "adc", "--kind", "sar-cdac", "--spec", str(bad), "--out", str(tmp_path / "x.h5")]) == 2
    assert "SAR resolutions [12] not supported" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()


def test_failed_bench_block_is_left_out_other_failures_stop(tmp_path):
    """A failed comparator-bench block costs only its instances (NaN flips, ΔV_T redrawn from their seeds);
    a failed threshold or energy point stops the calibration with its reason."""
    from cosim.calibration.sar import _item_bench, _item_thresholds, load_spec, settle_failures
    from cosim.errors import CalibrationError
    from cosim.parallel import Failed, item_rng

    p = tmp_path / "s.toml"
    p.write_text(TEST_SPEC)
    spec = load_spec(p)
    c = spec.corners[0]
    items = [(_item_bench, (spec, c, "cal", 1, 50, None)), (_item_thresholds, (spec, 4, c, None))]
    out = settle_failures(spec, items[:1], [Failed("ngspice: timestep too small")])
    assert out[0]["idx"] == list(range(25, 50)) and np.all(np.isnan(out[0]["flip"]))
    dv = draw_mismatch(spec.design, item_rng(spec.seed, "sar-mc", "cal", 25))
    assert out[0]["dvt"][0, 1] == dv["M1"]
    with pytest.raises(CalibrationError, match="thresholds point at nominal failed: ngspice: singular"):
        settle_failures(spec, items, [out[0], Failed("ngspice: singular matrix")])
