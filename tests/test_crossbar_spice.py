"""Crossbar path end to end against ngspice: exact solver, calibration, behavioral model, validation."""

import json

import numpy as np
import pytest

from cosim.calibration.crossbar import spice_array
from cosim.config import SpiceSettings
from cosim.models.crossbar import solve_exact
from cosim.models.crossbar_model import CrossbarModel
from cosim.netlist import CrossbarParams
from cosim.store import read_table

pytestmark = pytest.mark.spice


@pytest.mark.parametrize("n, m, rr, rc", [(4, 4, 1.0, 1.0), (16, 16, 1.0, 1.0), (32, 32, 1.0, 1.0), (12, 20, 0.35, 4.4)])
def test_exact_solver_matches_ngspice_to_1e9(rng, n, m, rr, rc):
    G = rng.uniform(1e-6, 1e-4, (n, m))
    V = rng.uniform(0, 0.5, (3, n))
    I_sp, _ = spice_array(CrossbarParams(r_row=rr, r_col=rc), G, V, SpiceSettings())
    I_ex = solve_exact(G, V, rr, rc)
    assert np.max(np.abs(I_ex - I_sp) / np.abs(I_sp)) <= 1e-9


def test_quick_table_contents(quick_table):
    t = read_table(quick_table, "cosim.crossbar")
    assert t.units["fet/ids"] == "A" and t.units["memristor/i_unit"] == "A/S"
    assert t.ngspice_version and t.sources and "seed" in t.spec
    assert any(k.startswith("netlists/models/") for k in t.sources)  # model card hashed
    # the memristor table reproduces the chord-conductance definition: i_unit(v_read) = v_read
    v_read = t.attrs["v_read"]
    assert np.interp(v_read, t["memristor/v"], t["memristor/i_unit"]) == pytest.approx(v_read, rel=1e-6)
    assert t["check/rel_l2"].max() < 0.01
    assert np.all(np.abs(t["energy/E_model"] / t["energy/E_spice"] - 1) < 0.02)
    assert np.all(t["energy/t_settle_spice"] < t.attrs["t_read"])


@pytest.mark.parametrize("kind", ["passive", "passive_sinh", "1t1r"])
def test_behavioral_model_within_1_percent_at_32(quick_table, rng, kind):
    model = CrossbarModel.load(quick_table)
    p = CrossbarParams.from_dict(model.attrs["params"]).replace(kind=kind)
    G = rng.uniform(1e-6, 1e-4, (32, 32))
    V = rng.uniform(0, 0.5, (3, 32))
    I_sp, _ = spice_array(p, G, V, SpiceSettings())
    res = model.solve(G, V, p)
    assert res.validated
    err = np.linalg.norm(res.I - I_sp, axis=-1) / np.linalg.norm(I_sp, axis=-1)
    assert err.max() <= 0.01


def test_outside_range_is_flagged_or_refused(quick_table, rng):
    from cosim.errors import ModelRangeError

    model = CrossbarModel.load(quick_table)
    p = CrossbarParams.from_dict(model.attrs["params"])
    res = model.solve(rng.uniform(1e-6, 1e-4, (64, 64)), rng.uniform(0, 0.5, 64), p.replace(r_row=3.0, r_col=3.0))
    assert not res.validated and any("size" in r for r in res.reasons) and any("r_row" in r for r in res.reasons)
    with pytest.raises(ModelRangeError, match="outside the calibrated table"):
        model.solve(np.full((4, 4), 1e-5), np.full(4, 2.0), p.replace(kind="passive_sinh"))


def test_validate_cli_writes_checks_and_plot(quick_table, tmp_path):
    from cosim.cli import main

    js, png = tmp_path / "checks.json", tmp_path / "parity.png"
    rc = main(["validate", "crossbar", "--table", str(quick_table), "--sizes", "8,16", "--cases", "1",
               "--inputs", "3", "--json", str(js), "--plot", str(png), "-q", "-j", "2"])
    checks = json.loads(js.read_text())
    assert rc == 0 and all(c["passed"] for c in checks)
    assert {tuple(sorted(c)) for c in checks} == {("name", "passed", "target", "value")}
    assert any(c["name"].startswith("exact_vs_spice") for c in checks)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_validate_fails_when_threshold_unmet(quick_table, tmp_path):
    from cosim.cli import main

    js = tmp_path / "checks.json"
    rc = main(["validate", "crossbar", "--table", str(quick_table), "--sizes", "8", "--kinds", "1t1r",
               "--cases", "1", "--inputs", "2", "--max-rel-err", "1e-12", "--json", str(js), "-q"])
    assert rc == 1 and not all(c["passed"] for c in json.loads(js.read_text()))


@pytest.mark.parametrize("kind, dyn_tol", [("passive", 0.02), ("passive_sinh", 0.02), ("1t1r", 0.15)])
def test_read_energy_against_spice_transient(quick_table, rng, kind, dyn_tol):
    """Model read energy vs a fresh ngspice transient of a held-out array, total and capacitive part.

    Wire capacitance is raised 200x and the period shortened so the capacitive part is ~1 % of the
    total rather than ~1e-4: a wrong capacitive model then fails.  (1T1R: the transistor's own
    capacitances are outside the model, hence the wider tolerance on its capacitive part.)
    """
    from cosim.calibration.crossbar import dynamic_energy_spice, transient_read
    from cosim.models.crossbar_model import energy_model, read

    model = CrossbarModel.load(quick_table)
    p = CrossbarParams.from_dict(model.attrs["params"]).replace(kind=kind, c_row=4.48e-15, c_col=4.48e-15)
    G = rng.uniform(1e-6, 1e-4, (12, 12))
    V = rng.uniform(0, 0.5, 12)
    t_read, t_rise = 1e-9, 10e-12
    ref = transient_read(p, G, V, t_read=t_read, t_rise=t_rise, t_sim=300e-12, settle_tol=1e-3, g_max=1e-4,
                         spice=SpiceSettings())
    e = energy_model(model, G, V, p, t_read, t_rise)
    dyn_spice = dynamic_energy_spice(model, {"G": G, "V": V, **ref}, p, t_read, t_rise)
    assert 0.003 < e.dynamic / e.total < 0.1  # the capacitive part matters in this test
    assert e.total == pytest.approx(ref["E_spice"], rel=1e-3)
    assert e.dynamic == pytest.approx(dyn_spice, rel=dyn_tol)
    np.testing.assert_allclose(e.I, ref["I_end"], rtol=1e-3)
    assert 0 < ref["t_settle"] < 300e-12 - t_rise
    r = read(model, G, V, CrossbarParams.from_dict(model.attrs["params"]).replace(kind=kind))
    assert r.latency_s == model.attrs["t_read"] and r.validated


@pytest.mark.slow
def test_pyspice_backend_calibrates_the_same_table(quick_table, tmp_path):
    """The whole quick calibration through libngspice (in joblib workers) equals the subprocess one."""
    from cosim.cli import main

    out = tmp_path / "pyspice.h5"
    assert main(["calibrate", "crossbar", "--quick", "--backend", "pyspice", "-j", "2", "-q", "--out", str(out)]) == 0
    a, b = read_table(quick_table, "cosim.crossbar"), read_table(out, "cosim.crossbar")
    assert b.attrs["backend"] == "pyspice" and a.attrs["backend"] == "subprocess"
    for name in ("memristor/i_unit", "fet/ids", "check/rel_l2", "energy/E_spice"):
        np.testing.assert_allclose(b[name], a[name], rtol=1e-9, atol=1e-20, err_msg=name)


def test_refused_check_point_is_recorded_not_fatal(tmp_path, monkeypatch):
    """A model refusal at the end of a long calibration keeps the SPICE work and marks the point."""
    from cosim.calibration import crossbar as cal
    from cosim.calibration.crossbar import calibrate, load_spec
    from cosim.errors import ModelRangeError

    real = CrossbarModel.solve

    def refuse_16(self, G, V, p, **kw):
        if G.shape[0] == 16 and p.kind == "passive":
            raise ModelRangeError("test refusal")
        return real(self, G, V, p, **kw)

    monkeypatch.setattr(CrossbarModel, "solve", refuse_16)
    spec = load_spec(quick=True)
    spec = cal.CrossbarSpec(**{**spec.__dict__, "sizes": (8, 16), "kinds": ("passive",), "energy_kinds": (),
                               "energy_sizes": ()})
    t = calibrate(spec)
    assert t.attrs["failed_checks"] and t.attrs["failed_checks"][0].startswith("passive/16/1:")
    monkeypatch.setattr(CrossbarModel, "solve", real)
    model = CrossbarModel.from_tables(t)
    p = CrossbarParams.from_dict(model.attrs["params"])
    assert not model.solve(np.full((16, 16), 1e-5), np.full(16, 0.1), p).validated
    assert model.solve(np.full((8, 8), 1e-5), np.full(8, 0.1), p).validated


def test_failed_spice_point_is_left_out_and_recorded(tmp_path, monkeypatch):
    """A SPICE point that still fails after the relaxed retry costs only itself: the sweep goes on, the
    point is listed with its reason, its check row is not a pass, and the model calls its region
    unvalidated; a failed device characterisation stops the calibration (no model without it)."""
    from cosim import events
    from cosim.calibration import crossbar as cal
    from cosim.errors import CalibrationError, SimulationError

    real = cal.spice_array

    def fail_16(p, G, V, spice):
        if G.shape[0] == 16:
            raise SimulationError("ngspice: timestep too small (test)")
        return real(p, G, V, spice)

    monkeypatch.setattr(cal, "spice_array", fail_16)
    spec = cal.load_spec(quick=True)
    spec = cal.CrossbarSpec(**{**spec.__dict__, "sizes": (8, 16), "kinds": ("passive",), "energy_kinds": (),
                               "energy_sizes": ()})
    events.collected.clear()
    t = cal.calibrate(spec)
    assert any(f.startswith("passive/16/1: SPICE point failed: ngspice: timestep too small") for f in
               t.attrs["failed_checks"])
    rows = dict(zip(zip(t["check/n"].tolist(), t["check/r_wire"].tolist()), t["check/rel_l2"].tolist()))
    assert np.isinf(rows[(16, 1.0)]) and rows[(8, 1.0)] < 0.01
    assert sum(1 for kind, _ in events.collected if kind == "failed") == spec.arrays
    model = CrossbarModel.from_tables(t)
    p = CrossbarParams.from_dict(model.attrs["params"])
    assert not model.solve(np.full((16, 16), 1e-5), np.full(16, 0.1), p).validated
    assert model.solve(np.full((8, 8), 1e-5), np.full(8, 0.1), p).validated

    def fail_fet(*a, **k):
        raise SimulationError("ngspice: singular matrix (test)")

    monkeypatch.setattr(cal, "_item_fet", fail_fet)
    with pytest.raises(CalibrationError, match="the fet characterisation failed: ngspice: singular matrix"):
        cal.calibrate(spec)
