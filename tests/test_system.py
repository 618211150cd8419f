"""System-level simulator: presets, mapping arithmetic, the ISAAC reconstruction, capacity, outputs, errors."""

import json
from pathlib import Path
import math
import shutil

import h5py
import pytest

from cosim.cli import main
from cosim.errors import CalibrationError, ConfigError, UnknownNameError
from cosim.system.arch import arch_names, load_arch, with_overrides
from cosim.system.costs import components
from cosim.system.runs import compare, run, sweep
from cosim.system.area import chip_inventory
from cosim.system.plan import fixed_plan
from cosim.system.prices import prices
from cosim.system.simulate import simulate
from cosim.workloads import build_workload, load_model

PRESETS = ["large-small", "multi-bit", "single-bit"]


def test_presets_load_and_cite_every_figure():
    assert set(PRESETS) <= set(arch_names())
    for name in PRESETS:
        a = load_arch(name)
        assert a.assumptions, name
        # the loader refuses unsourced numbers; here: every source is non-empty text
        assert all(isinstance(v, str) and v for v in a.sources.values())
    comps = components()
    assert all("src" in v for v in comps.values())


def test_unsourced_figure_refused(tmp_path):
    from pathlib import Path

    text = Path(load_arch("multi-bit").path).read_text()
    bad = text.replace('"compute.adc_bits" = "R2: 8-bit ADC"\n', "")
    assert bad != text
    p = tmp_path / "x.toml"
    p.write_text(bad)
    with pytest.raises(ConfigError, match="without a source.*compute.adc_bits"):
        load_arch(str(p))


def test_round_trip_lossless(tmp_path):
    import tomli_w

    a = load_arch("large-small")
    d = a.to_dict()
    p = tmp_path / "rt.toml"
    p.write_text(tomli_w.dumps(d))
    b = load_arch(str(p))
    assert b == a and b.to_dict() == d


def test_overrides_and_impossible_configs():
    a = load_arch("large-small", {"compute.adc_bits": "4", "compute.pipeline": "false"})
    assert a.compute.adc_bits == 4 and a.compute.pipeline is False
    with pytest.raises(ConfigError, match="rows_per_conversion = 200 exceeds"):
        load_arch("large-small", {"compute.rows_per_conversion": 200})
    with pytest.raises(ConfigError, match="pool_copies must be >= 1"):
        load_arch("large-small", {"compute.pool_copies": 0})
    with pytest.raises(ConfigError, match="must be one of"):
        load_arch("large-small", {"compute.sign": "twos"})
    with pytest.raises(ConfigError, match="not a valid int"):
        load_arch("large-small", {"compute.rows": "many"})
    with pytest.raises(ConfigError, match="unknown field 'adc_bitz'"):
        load_arch("large-small", {"compute.adc_bitz": 3})
    with pytest.raises(UnknownNameError, match="compute.adc_bits"):
        load_arch("large-small", {"adc_bits": 3})
    with pytest.raises(UnknownNameError, match="large-small"):
        load_arch("prime")
    with pytest.raises(ConfigError, match="reference platform"):
        load_arch("a100")


def test_bert_large_counts_and_lossless_default():
    r = run("bert-large", "large-small", 128, 1)
    assert r.macs / 1e9 == pytest.approx(39.5, abs=0.05)     # REFERENCE.md §7
    assert r.plan["lossless_adc"] and r.plan["adc_levels_needed"] == 4 == r.plan["adc_levels"]
    # every weight bit is read from the memory crossbars once per sequence (4-bit cells), and per write the
    # written arrays' fault maps: 2 bits per cell of their 128 + 128 columns (128 spares, A15)
    w = build_workload(load_model("bert-large"), 128)
    assert r.events["memory_cell_read"] == pytest.approx(w.weight_macs / 128 * 8 / 4
                                                          + w.total("embedding", field_="elements") * 8 / 4
                                                          + r.events["cell_write"] * 2 * 256 / 128 / 4,
                                                          rel=1e-12, abs=0)
    # energy is the sum of its breakdown; events x costs for the ADC
    assert sum(r.breakdown.values()) == pytest.approx(r.energy_j)
    assert r.breakdown["adc"] == pytest.approx(r.events["adc_conversion"] * r.costs["adc"]["value"])
    from cosim.models.adc import load

    # the calibrated 2-bit flash's own mean energy per conversion (fJ), not a stand-in
    assert r.costs["adc"]["value"] * 1e15 == pytest.approx(load("flash-current", 2).energy_per_conversion() * 1e15,
                                                           rel=1e-9)
    assert r.costs["crossbar_read"]["status"] == "unvalidated"        # 128 x 128 outside 8..64
    assert any("crossbar read energy" in u for u in r.unvalidated)
    lossy = run("bert-large", "large-small", 128, 1, overrides={"compute.rows_per_conversion": 128})
    assert not lossy.plan["lossless_adc"] and any("lossy" in u for u in lossy.unvalidated)
    # one conversion per tile and cycle instead of E⌈N/3⌉ (zero skipping: ≈ 9 at the weights' ≈ 0.2 activity)
    assert lossy.latency_s < r.latency_s / 5


def test_isaac_rebuilt_from_multi_bit_preset():
    """REFERENCE.md §2: tile ≈ 0.372 mm², 330 mW; chip ≈ 85.4 mm², 65.8 W (within 10 %)."""
    a = load_arch("multi-bit", {"data.weight_bits": 16, "data.act_bits": 16, "compute.tiles": 168,
                                "compute.read_energy": "isaac", "digital.lanes_per_tile": 0,
                                # ISAAC's own ADC and DAC figures (the preset's default is the calibrated SAR)
                                "compute.adc_energy_rule": "walden", "compute.dac_energy_rule": "cited",
                                # ISAAC maps no faults and has no spare columns
                                "compute.fault_aware": False, "compute.spare_cols": 0})
    plan = fixed_plan(a)
    area, power = chip_inventory(a, plan, prices(a, plan))
    chip_a, chip_p = sum(area.values()), sum(power.values())
    io_a, io_p = area["chip_io"], power["chip_io"]
    assert (chip_a - io_a) / 168 * 1e6 == pytest.approx(0.372, rel=0.10)
    assert (chip_p - io_p) / 168 == pytest.approx(0.330, rel=0.10)
    assert chip_a * 1e6 == pytest.approx(85.4, rel=0.10)
    assert chip_p == pytest.approx(65.8, rel=0.10)


def test_gpt3_cell_area_on_large_small():
    """The memory crossbars' cells at 14 nm reproduce the paper's 274 mm² (4-bit 4F² RRAM, 8-bit weights)."""
    r = run("gpt3-175b", "large-small", 128, 1, decode_tokens=0, overrides={"node_m": 14e-9})
    assert r.area_breakdown["memory_crossbars"] * 1e6 == pytest.approx(274, rel=0.01)


def test_endurance_from_writes():
    r = run("bert-large", "large-small", 128, 1)
    a = load_arch("large-small")
    cells = r.events["cell_write"] / (r.plan["arrays"] * 128 * 128)
    assert r.lifetime["compute_s"] == pytest.approx(1e12 / (cells / r.latency_s))
    assert r.lifetime["compute_s_low"] == pytest.approx(1e5 / (cells / r.latency_s))
    assert a.reliability.duty == 1.0


def test_decoder_runs_prefill_and_decode():
    r = run("gpt2", "multi-bit", 64, 2, decode_tokens=16)
    assert set(r.latency_by_phase) == {"prefill", "decode"}
    assert r.events["cell_write"] > 0  # K and V written into crossbars (attention = crossbar)
    d = run("gpt2", "multi-bit", 64, 2, decode_tokens=16, overrides={"compute.attention": "digital"})
    assert "digital_attention" in d.breakdown and "cell_write" not in d.events


def test_missing_calibration_kind_is_clear(tmp_path):
    from cosim.resources import calibration_dir
    from cosim.system import costs

    p = tmp_path / "crossbar.h5"
    shutil.copy(calibration_dir() / "crossbar.h5", p)
    with h5py.File(p, "r+") as f:
        attrs = json.loads(f.attrs["attrs_json"])
        attrs["kinds"] = ["passive_sinh"]
        f.attrs["attrs_json"] = json.dumps(attrs)
    costs._model.cache_clear()
    with pytest.raises(CalibrationError, match="no crossbar kind 'passive'"):
        run("bert-base", "multi-bit", 32, 1, table=str(p))


def test_compare_ratios_are_computed():
    sims, refs, rows, rat, sens = compare("bert-large", ["large-small", "multi-bit", "a100", "tpuv4"], 128, 1,
                                          sensitivity=False)
    by = {x["label"]: x for x in rat}
    area = by["area vs multi-bit"]
    assert area["ours"] == pytest.approx(sims["multi-bit"].area_m2 / sims["large-small"].area_m2)
    assert by["area-delay product vs TPU v4"]["ours"] is None        # no published latency: n/a, not invented
    adp = by["area-delay product vs A100"]["ours"]
    assert adp == pytest.approx(826e-6 * 1.25e-3 / sims["large-small"].adp_m2s)
    assert [r.kind for r in rows] == ["simulation", "simulation", "reference", "reference"]


def test_sweep_parallel_equals_serial_and_records_errors():
    params = {"compute.rows_per_conversion": [3, 15, 300], "compute.tiles": [8, 16]}
    a = sweep("bert-base", "large-small", params, 64, n_jobs=1)
    b = sweep("bert-base", "large-small", params, 64, n_jobs=2)
    assert a == b and len(a) == 6
    assert all("exceeds" in r["error"] for r in a if r["compute.rows_per_conversion"] == 300)
    ok = [r for r in a if not r["error"]]
    assert len(ok) == 4 and all(r["energy_j"] > 0 for r in ok)
    with pytest.raises(UnknownNameError):
        sweep("bert-base", "large-small", {"compute.nope": [1]}, 64)


def test_cli_run_outputs(tmp_path, capsys):
    js = tmp_path / "r.json"
    assert main(["run", "--model", "bert-large", "--arch", "large-small", "--seq-len", "128", "--batch", "1",
                 "--json", str(js), "--csv", str(tmp_path / "r.csv"), "--report", str(tmp_path / "r.md")]) == 0
    d = json.loads(js.read_text())
    for k in ("model", "arch", "seq_len", "batch", "macs", "energy_j", "area_m2", "latency_s", "adp_m2s", "breakdown"):
        assert k in d
    assert d["adp_m2s"] == pytest.approx(d["area_m2"] * d["latency_s"])
    assert (tmp_path / "r.png").stat().st_size > 1000
    md = (tmp_path / "r.md").read_text()
    assert "Unvalidated" in md and "Per-event figures" in md and "| 128 | lossy (129 levels on 4)" in md
    assert "energy" in capsys.readouterr().out


def test_cli_compare_and_sweep(tmp_path):
    assert main(["compare", "--model", "bert-base", "--seq-len", "64", "--report", str(tmp_path / "c.html"),
                 "--json", str(tmp_path / "c.json")]) == 0
    d = json.loads((tmp_path / "c.json").read_text())
    assert {x["label"] for x in d["paper_ratios"]} >= {"area vs multi-bit", "energy reduction vs A100"}
    assert "<table>" in (tmp_path / "c.html").read_text()
    assert main(["sweep", "--model", "bert-base", "--seq-len", "64", "--param", "compute.adc_bits=2,3",
                 "--param", "seq_len=32,64", "--out", str(tmp_path / "s.csv"), "--plot", str(tmp_path / "s.png"),
                 "-q"]) == 0
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 5


@pytest.mark.parametrize("argv, msg", [
    (["run", "--model", "gpt5"], "unknown model 'gpt5'"),
    (["run", "--arch", "prime"], "unknown architecture 'prime'; valid: large-small"),
    (["run", "--arch", "tpuv4"], "reference platform"),
    (["run", "--set", "compute.rows=0"], "impossible configuration"),
    (["run", "--set", "compute.rows"], "expected FIELD=VALUE"),
    (["run", "--json", "out.txt"], "use one of .json"),
    (["run", "--arch", "multi-bit", "--set", "compute.tiles=10"], "needs 1584 tiles"),
    (["sweep", "--param", "compute.nope=1"], "unknown sweep parameter"),
])
def test_cli_bad_input(argv, msg, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_simulate_does_not_depend_on_call_order():
    w = build_workload(load_model("bert-base"), 32)
    a = load_arch("single-bit")
    r1 = simulate(w, a)
    simulate(w, with_overrides(a, {"compute.adc_bits": 6}))
    r2 = simulate(w, a)
    assert r1.summary() == r2.summary()


def test_gpt3_reference_counts_its_eight_gpus():
    """FasterTransformer's GPT-175B point runs on 8 A100-80GB SXM: area 8 x 826 mm², power 8 x 400 W."""
    from cosim.system.reference import reference_point

    p = reference_point("a100", "gpt3-175b", 512, 1, 32)
    assert p.latency_s == 1.71996
    assert p.area_m2 * 1e6 == pytest.approx(8 * 826, rel=1e-12)
    assert p.energy_tdp_j == pytest.approx(8 * 400 * 1.71996, rel=1e-12)
    assert reference_point("a100", "gpt3-175b", 512, 1, 128).latency_s is None  # no such published point
    sims, refs, rows, *_ = compare("gpt3-175b", ["multi-bit", "a100"], 512, 1, 32, sensitivity=False)
    assert refs["a100"].latency_s == 1.71996


def test_shipped_activity_profile_is_reproducible(tmp_path):
    """`cosim activity` with its defaults rewrites the shipped profile exactly (its provenance)."""
    out = tmp_path / "p.json"
    assert main(["activity", "--out", str(out)]) == 0
    shipped = json.loads((Path(__file__).parent.parent / "workloads" / "activity" / "all-minilm-l6-v2.json").read_text())
    assert json.loads(out.read_text()) == shipped


def test_streaming_options_reach_the_preset(tmp_path, capsys):
    js = tmp_path / "r.json"
    assert main(["run", "--model", "bert-base", "--seq-len", "32", "--streaming", "twos", "--zero-skip",
                 "--json", str(js)]) == 0
    d = json.loads(js.read_text())
    assert any(n.startswith("streaming: twos, zero skipping") for n in d["notes"])
    assert len(d["activity"]["attn.q_proj"]["stream"]) == 8 and "row_select" in d["events"]
    with pytest.raises(SystemExit) as exc:
        main(["run", "--model", "bert-base", "--streaming", "fours"])
    assert exc.value.code == 2 and "invalid choice: 'fours'" in capsys.readouterr().err
