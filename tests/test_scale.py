"""Scale-out and determinism (issue 7): a calibration on a two-worker dask cluster on loopback equals the
local run, and results do not depend on n_jobs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from test_journal import SPEC


def _calibrate(spec, out, pre=(), post=()):
    r = subprocess.run([sys.executable, "-m", "cosim", *pre, "calibrate", "nonlinear", "--spec", str(spec),
                        "--out", str(out), "-q", *post], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    from cosim.store import read_table

    return read_table(out, "cosim.nonlinear")


def _same(a, b):
    assert sorted(a.data) == sorted(b.data)
    for k in a.data:
        assert np.array_equal(a[k], b[k]), k


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as c:
        yield c


@pytest.mark.spice
def test_dask_cluster_run_equals_local_runs(tmp_path, cluster):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    one = _calibrate(spec, tmp_path / "one.h5", post=("-j", "1"))
    two = _calibrate(spec, tmp_path / "two.h5", post=("-j", "2"))
    before = cluster.scheduler.transition_counter
    dask = _calibrate(spec, tmp_path / "dask.h5", pre=("--scheduler", cluster.scheduler_address))
    assert cluster.scheduler.transition_counter > before + 15  # the 15 work items went through the cluster
    _same(one, two)
    _same(one, dask)
