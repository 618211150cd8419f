"""A plain (non-editable) install carries netlists/, circuits/ and the default tables."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_carries_data_and_finds_it(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = wheel_dir.glob("cosim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("cosim/_data/netlists/crossbar_passive.cir.j2", "cosim/_data/netlists/models/ptm32_hp_nmos.lib",
                   "cosim/_data/circuits/crossbar.toml", "cosim/_data/calibration/crossbar.h5", "cosim/_data/workloads/bert-large.json",
                   "cosim/_data/architectures/memory_cells.toml", "cosim/_data/architectures/isaac.toml", "cosim/_data/architectures/a100.toml", "cosim/cli.py"):
        assert needed in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    code = ("import cosim.resources as r, cosim.models.crossbar_model as m; "
            "print(r.netlists_dir()); print(m.CrossbarModel.load().path)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert all(line.startswith(str(target)) for line in out.stdout.split()), out.stdout
