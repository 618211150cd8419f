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
                                  dashboard_address=":0") as c:
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


@pytest.fixture
def fragile_cluster():
    """Two workers; a task may lose one worker before it counts as the culprit (dask's default is 3).
    Worker saturation 1.0: a worker holds only the task it runs, so a killed worker counts against that task
    alone (at dask's default 1.1 a second, queued task was counted too and, under load, blamed twice)."""
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=":0") as c:
            yield c


def test_dask_worker_deaths_cost_only_their_items(tmp_path, fragile_cluster):
    """On the cluster: a worker killed mid-sweep (SIGKILL) costs only its item, which runs again elsewhere;
    an item that kills every worker it lands on is recorded as failed (or raised) and the others finish."""
    from cosim.errors import SimulationError
    from cosim.parallel import Failed, run_parallel, use_scheduler
    from test_parallel import _always_dies as always_dies, _dies_once as dies_once

    use_scheduler(fragile_cluster.scheduler_address)
    try:
        assert run_parallel(dies_once, [(i, str(tmp_path / "died")) for i in range(8)]) == [i * 10 for i in range(8)]
        assert (tmp_path / "died").exists()  # a worker really was killed
        out = run_parallel(always_dies, [(i,) for i in range(6)], failures="record")
        assert isinstance(out[2], Failed) and "killed every dask worker" in out[2].reason
        assert [x for k, x in enumerate(out) if k != 2] == [0, 10, 30, 40, 50]
        with pytest.raises(SimulationError, match="killed every dask worker"):
            run_parallel(always_dies, [(i,) for i in range(6)])
    finally:
        use_scheduler(None)
