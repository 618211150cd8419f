"""HDF5 store: round trip, units, provenance, schema checks, atomic replace."""

import h5py
import numpy as np
import pytest

from cosim.errors import CalibrationError
from cosim.store import SCHEMA_VERSIONS, Table, read_table, stale_sources, write_table


def _table():
    t = Table(schema="cosim.crossbar", spec="seed = 1\n", seed=7, ngspice_version="39",
              sources={"netlists/a.j2": "0" * 64})
    t.put("x/v", np.linspace(0, 1, 5), "V")
    t.put("x/names", np.array(["a", "bb"]), "1")
    t.attrs["sizes"] = [8, 16]
    return t


def test_round_trip(tmp_path):
    p = write_table(_table(), tmp_path / "t.h5")
    t = read_table(p, "cosim.crossbar")
    np.testing.assert_array_equal(t["x/v"], np.linspace(0, 1, 5))
    assert list(t["x/names"]) == ["a", "bb"]
    assert t.units == {"x/v": "V", "x/names": "1"}
    assert t.attrs["sizes"] == [8, 16] and t.seed == 7 and t.spec == "seed = 1\n"
    assert t.sources == {"netlists/a.j2": "0" * 64} and t.ngspice_version == "39"
    with h5py.File(p) as f:
        assert f["data/x/v"].attrs["units"] == "V"
        assert f.attrs["schema_version"] == SCHEMA_VERSIONS["cosim.crossbar"]


def test_missing_dataset_names_the_fix(tmp_path):
    t = read_table(write_table(_table(), tmp_path / "t.h5"), "cosim.crossbar")
    with pytest.raises(CalibrationError, match="cosim calibrate crossbar"):
        t["nope"]


def test_outdated_schema_refused(tmp_path):
    p = write_table(_table(), tmp_path / "t.h5")
    with h5py.File(p, "a") as f:
        f.attrs["schema_version"] = 999
    with pytest.raises(CalibrationError, match="schema version 999.*regenerate"):
        read_table(p, "cosim.crossbar")


def test_corrupt_and_missing_refused(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(CalibrationError, match="not a readable"):
        read_table(bad, "cosim.crossbar")
    with pytest.raises(CalibrationError, match="not found"):
        read_table(tmp_path / "none.h5", "cosim.crossbar")


def test_failed_write_keeps_old_table(tmp_path, monkeypatch):
    p = write_table(_table(), tmp_path / "t.h5")
    before = p.read_bytes()
    t = _table()
    t.put("bad", np.array([object()], dtype=object), "1")  # h5py cannot store this
    with pytest.raises(Exception):
        write_table(t, p)
    assert p.read_bytes() == before
    assert [x.name for x in tmp_path.iterdir()] == ["t.h5"]  # no temporary left behind


def test_stale_sources(tmp_path):
    (tmp_path / "netlists").mkdir()
    f = tmp_path / "netlists" / "a.j2"
    f.write_text("one")
    from cosim.store import sha256_file

    t = _table()
    t.sources = {"netlists/a.j2": sha256_file(f)}
    assert stale_sources(t, tmp_path) == []
    f.write_text("two")
    assert stale_sources(t, tmp_path) == ["netlists/a.j2"]
