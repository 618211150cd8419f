"""The cosim command: help everywhere, one clear error line and exit 2 on bad input, data kept safe."""

import numpy as np
import pytest

from cosim.cli import main


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cosim: error: "), err
    return err[0]


@pytest.mark.parametrize("argv", [[], ["doctor"], ["calibrate", "crossbar"], ["validate", "crossbar"],
                                  ["crossbar", "solve"], ["crossbar", "netlist"], ["workload", "show"],
                                  ["capacity"]])
def test_help_on_every_command(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--help"])
    assert exc.value.code == 0
    assert "usage: cosim" in capsys.readouterr().out


@pytest.fixture
def case(tmp_path, rng):
    G = rng.uniform(1e-6, 1e-4, (6, 5))
    V = rng.uniform(0, 0.5, 6)
    np.save(tmp_path / "G.npy", G)
    np.save(tmp_path / "V.npy", V)
    np.savetxt(tmp_path / "G.csv", G, delimiter=",")
    np.savetxt(tmp_path / "V.csv", V, delimiter=",")
    return tmp_path, G, V


def test_solve_exact_from_npy_and_csv(case):
    from cosim.models.crossbar import solve_exact

    d, G, V = case
    assert main(["crossbar", "solve", "--g", str(d / "G.npy"), "--v", str(d / "V.npy"), "--r-wire", "1",
                 "--model", "exact", "--out", str(d / "I.npy")]) == 0
    np.testing.assert_allclose(np.load(d / "I.npy"), solve_exact(G, V, 1.0, 1.0), rtol=1e-14)
    assert main(["crossbar", "solve", "--g", str(d / "G.csv"), "--v", str(d / "V.csv"), "--r-row", "0.5",
                 "--r-col", "2", "--model", "exact", "--out", str(d / "I.csv")]) == 0
    np.testing.assert_allclose(np.loadtxt(d / "I.csv", delimiter=","), solve_exact(G, V, 0.5, 2.0), rtol=1e-14)


@pytest.mark.parametrize("mutate, args, msg", [
    (lambda G, V: (G.copy() * 0, V), [], "positive"),
    (lambda G, V: (G, V[:3]), [], "must match"),
    (lambda G, V: (G, V), ["--r-wire", "-1"], ">= 0"),
    (lambda G, V: (G, V), ["--model", "magic"], "unknown model 'magic'; valid: behavioral, exact, spice"),
    (lambda G, V: (G, V), ["--backend", "hspice", "--model", "spice"], "unknown SPICE backend"),
    (lambda G, V: (G, V), ["--kind", "2t2r"], "unknown crossbar kind"),
])
def test_bad_input_one_line_exit_2(case, capsys, mutate, args, msg):
    d, G, V = case
    G2, V2 = mutate(G, V)
    np.save(d / "g2.npy", G2); np.save(d / "v2.npy", V2)
    argv = ["crossbar", "solve", "--g", str(d / "g2.npy"), "--v", str(d / "v2.npy"), "--out", str(d / "o.npy")]
    if "--r-wire" not in args:
        argv += ["--r-wire", "1"]
    if "--model" not in args:
        argv += ["--model", "exact"]
    assert main(argv + args) == 2
    assert msg in _error_line(capsys)
    assert not (d / "o.npy").exists()


def test_missing_file(case, capsys):
    d, _, _ = case
    assert main(["crossbar", "solve", "--g", str(d / "nope.npy"), "--v", str(d / "V.npy"), "--r-wire", "1",
                 "--out", str(d / "o.npy"), "--model", "exact"]) == 2
    assert "not found" in _error_line(capsys)


def test_corrupt_table(case, capsys):
    d, _, _ = case
    (d / "bad.h5").write_text("garbage")
    assert main(["crossbar", "solve", "--g", str(d / "G.npy"), "--v", str(d / "V.npy"), "--r-wire", "1",
                 "--table", str(d / "bad.h5"), "--out", str(d / "o.npy")]) == 2
    assert "not a readable cosim table" in _error_line(capsys)


def test_ngspice_missing_gives_one_line(case, capsys, monkeypatch):
    d, _, _ = case
    monkeypatch.setenv("COSIM_NGSPICE", "/nonexistent/ngspice")
    assert main(["crossbar", "solve", "--g", str(d / "G.npy"), "--v", str(d / "V.npy"), "--r-wire", "1",
                 "--model", "spice", "--backend", "subprocess", "--out", str(d / "o.npy")]) == 2
    assert "unavailable" in _error_line(capsys)


def test_failed_calibration_leaves_table_untouched(tmp_path, capsys, monkeypatch):
    out = tmp_path / "crossbar.h5"
    out.write_bytes(b"previous table bytes")
    bad_spec = tmp_path / "spec.toml"
    bad_spec.write_text("seed = 1\n[sweep]\nkinds = ['passive']\n")
    assert main(["calibrate", "crossbar", "--spec", str(bad_spec), "--out", str(out), "-q"]) == 2
    assert "lacks" in _error_line(capsys)
    monkeypatch.setenv("COSIM_NGSPICE", "/nonexistent/ngspice")
    assert main(["calibrate", "crossbar", "--quick", "--out", str(out), "-q", "--backend", "subprocess"]) == 2
    assert "unavailable" in _error_line(capsys)
    assert out.read_bytes() == b"previous table bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crossbar.h5", "spec.toml"]


def test_config_file_selects_backend(tmp_path, monkeypatch, capsys):
    from cosim.config import load_settings

    cfg = tmp_path / "c.toml"
    cfg.write_text('[spice]\nbackend = "pyspice"\ntimeout = 12\n[run]\njobs = 2\n')
    monkeypatch.setenv("COSIM_CONFIG", str(cfg))
    s = load_settings()
    assert (s.spice.backend, s.spice.timeout, s.jobs) == ("pyspice", 12.0, 2)
    assert s.with_overrides(backend="subprocess").spice.backend == "subprocess"
    cfg.write_text('[spice]\nbackend = "spectre"\n')
    from cosim.errors import UnknownNameError

    with pytest.raises(UnknownNameError):
        load_settings()


@pytest.mark.spice
def test_doctor(capsys):
    rc = main(["doctor"])
    out = capsys.readouterr().out
    assert "subprocess" in out and "pyspice" in out and "ngspice" in out
    assert rc == 0, out


@pytest.mark.spice
def test_solve_three_ways_agree(case, quick_table):
    d, G, V = case
    outs = {}
    for model in ("exact", "behavioral", "spice"):
        argv = ["crossbar", "solve", "--g", str(d / "G.npy"), "--v", str(d / "V.npy"), "--r-wire", "1",
                "--model", model, "--table", str(quick_table), "--out", str(d / f"{model}.npy")]
        assert main(argv) == 0
        outs[model] = np.load(d / f"{model}.npy")
    np.testing.assert_allclose(outs["spice"], outs["exact"], rtol=1e-9)
    np.testing.assert_allclose(outs["behavioral"], outs["exact"], rtol=1e-5)


@pytest.mark.spice
def test_netlist_command(case, tmp_path):
    import subprocess

    d, _, _ = case
    out = tmp_path / "x.cir"
    assert main(["crossbar", "netlist", "--g", str(d / "G.npy"), "--v", str(d / "V.npy"), "--r-wire", "1",
                 "--kind", "1t1r", "--out", str(out)]) == 0
    assert subprocess.run(["ngspice", "-b", str(out)], capture_output=True, timeout=60).returncode == 0


def test_shipped_table_is_current():
    """Fails when a template, model card or sweep spec changed without regenerating the table."""
    from cosim.cli import table_status
    from cosim.resources import calibration_dir

    ok, state = table_status(calibration_dir() / "crossbar.h5")
    assert ok, state


def test_doctor_flags_stale_and_corrupt_tables(tmp_path):
    import json
    import shutil

    import h5py

    from cosim.cli import table_status
    from cosim.resources import calibration_dir

    stale = tmp_path / "crossbar.h5"
    shutil.copy(calibration_dir() / "crossbar.h5", stale)
    with h5py.File(stale, "a") as f:
        src = json.loads(f["provenance"].attrs["sources_json"])
        src["netlists/_crossbar.j2"] = "0" * 64
        f["provenance"].attrs["sources_json"] = json.dumps(src)
    ok, state = table_status(stale)
    assert not ok and "STALE" in state and "netlists/_crossbar.j2" in state
    bad = tmp_path / "sub" / "crossbar.h5"
    bad.parent.mkdir()
    bad.write_text("x")
    ok, state = table_status(bad)
    assert not ok and "UNREADABLE" in state


@pytest.mark.spice
def test_pyspice_backend_is_quiet(case):
    """PySpice's complaints about ngspice 39 never reach the user's terminal."""
    import subprocess
    import sys

    d, _, _ = case
    out = subprocess.run([sys.executable, "-m", "cosim", "crossbar", "solve", "--g", str(d / "G.npy"), "--v",
                          str(d / "V.npy"), "--r-wire", "1", "--model", "spice", "--backend", "pyspice", "--kind",
                          "1t1r", "--out", str(d / "o.npy")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert out.stdout.startswith("wrote ")


@pytest.mark.parametrize("content, name, msg", [
    (b"", "G.npy", "cannot be read"),
    (b"a,b\nc,d\n", "G.csv", "cannot be read"),
    (None, "G.txt.gz", "use .npy or .csv"),
])
def test_unreadable_inputs(case, capsys, content, name, msg):
    d, _, _ = case
    f = d / name
    f.write_bytes(content if content is not None else b"1")
    assert main(["crossbar", "solve", "--g", str(f), "--v", str(d / "V.npy"), "--r-wire", "1", "--model", "exact",
                 "--out", str(d / "o.npy")]) == 2
    assert msg in _error_line(capsys)


def test_string_npy_and_nan(case, capsys):
    d, G, V = case
    np.save(d / "s.npy", np.array(["a", "b"]))
    assert main(["crossbar", "solve", "--g", str(d / "s.npy"), "--v", str(d / "V.npy"), "--r-wire", "1",
                 "--model", "exact", "--out", str(d / "o.npy")]) == 2
    _error_line(capsys)
    G2 = G.copy(); G2[0, 0] = np.nan
    np.save(d / "nan.npy", G2)
    assert main(["crossbar", "solve", "--g", str(d / "nan.npy"), "--v", str(d / "V.npy"), "--r-wire", "1",
                 "--model", "exact", "--out", str(d / "o.npy")]) == 2
    assert "finite" in _error_line(capsys)


def test_single_column_csv_is_2d(case):
    d, G, V = case
    np.savetxt(d / "g1.csv", G[:, :1], delimiter=",")
    assert main(["crossbar", "solve", "--g", str(d / "g1.csv"), "--v", str(d / "V.npy"), "--r-wire", "1",
                 "--model", "exact", "--out", str(d / "o.csv")]) == 0
    assert np.loadtxt(d / "o.csv", delimiter=",").shape == ()


@pytest.mark.parametrize("out, msg", [("I.txt", "use one of"), ("G.npy", "also an input"), (".", "directory")])
def test_bad_outputs_refused_before_work(case, capsys, out, msg):
    d, _, _ = case
    before = (d / "G.npy").read_bytes()
    assert main(["crossbar", "solve", "--g", str(d / "G.npy"), "--v", str(d / "V.npy"), "--r-wire", "1",
                 "--model", "exact", "--out", str(d / out)]) == 2
    assert msg in _error_line(capsys)
    assert (d / "G.npy").read_bytes() == before


@pytest.mark.parametrize("args, msg", [
    (["--cases", "0"], ">= 1"), (["--sizes", "1"], "2..256"), (["--sizes", ""], "at least one"),
    (["--kinds", "3t3r"], "unknown crossbar kind"), (["--r-wire", "-1"], ">= 0"),
    (["--json", "x.txt"], "use one of .json"),
])
def test_validate_bad_arguments(capsys, args, msg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "crossbar", "-q"] + args) == 2
    assert msg in _error_line(capsys)


@pytest.mark.parametrize("bad, msg", [
    ("memristor_v = [0.75, -0.25, 0.001]", "start < stop"),
    ("memristor_v = 'x'", "bad value"),
    ("t_read = 1e-12", "t_sim < t_read"),
])
def test_bad_spec_values(tmp_path, capsys, bad, msg):
    from cosim.resources import circuits_dir

    text = (circuits_dir() / "crossbar.toml").read_text()
    key = bad.split(" =")[0]
    lines = [bad if l.startswith(key + " ") else l for l in text.splitlines()]
    spec = tmp_path / "s.toml"
    spec.write_text("\n".join(lines))
    assert main(["calibrate", "crossbar", "--spec", str(spec), "--out", str(tmp_path / "t.h5"), "-q"]) == 2
    assert msg in _error_line(capsys)
    assert not (tmp_path / "t.h5").exists()


def test_unwritable_output_refused_before_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["calibrate", "crossbar", "--quick", "--out", str(blocker / "t.h5"), "-q"]) == 2
    assert "cannot write" in _error_line(capsys)


def test_workload_show(tmp_path, capsys):
    import json

    assert main(["workload", "show", "bert-large", "--seq-len", "128", "--json", str(tmp_path / "w.json")]) == 0
    out = capsys.readouterr().out
    assert "39.460 G" in out and "6.291 M elements  (exponentials)" in out
    assert json.loads((tmp_path / "w.json").read_text())["macs"] == 39460012032
    assert main(["workload", "show", "bert-huge"]) == 2
    assert "valid: all-minilm-l6-v2" in _error_line(capsys)
