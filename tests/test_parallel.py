"""Per-item seeds: results do not depend on the number of workers or the order of work."""

import numpy as np
import pytest

from cosim.parallel import item_rng, run_parallel


def _draw(seed, key):
    return item_rng(seed, "case", key).normal(size=4)


def test_results_independent_of_workers_and_order():
    items = [(5, k) for k in range(6)]
    one = run_parallel(_draw, items, n_jobs=1)
    two = run_parallel(_draw, items, n_jobs=2)
    rev = run_parallel(_draw, items[::-1], n_jobs=2)[::-1]
    for a, b, c in zip(one, two, rev):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_streams_differ_by_key_and_seed():
    a, b, c = _draw(5, 0), _draw(5, 1), _draw(6, 0)
    assert not np.allclose(a, b) and not np.allclose(a, c)


def _blas_threads(_):
    import numpy  # noqa: F401  (loads the BLAS pool)
    from threadpoolctl import threadpool_info

    pools = [i["num_threads"] for i in threadpool_info()]
    assert pools, "no BLAS/OpenMP pool found: the pinning would be untested"
    return max(pools)


def test_workers_pin_blas_to_one_thread():
    assert run_parallel(_blas_threads, [(0,), (1,)], n_jobs=2) == [1, 1]
    assert run_parallel(_blas_threads, [(0,)], n_jobs=1) == [1]


def _dies_once(i, marker):
    import os
    import signal

    if i == 3 and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return i * 10


def _always_dies(i):
    import os
    import signal

    if i == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return i * 10


def test_a_killed_worker_costs_only_its_items(tmp_path):
    """A worker killed mid-sweep (SIGKILL): its items run again and the sweep ends complete; an item that
    kills its worker every time is recorded as failed (or raised), the others are computed."""
    from cosim.errors import SimulationError
    from cosim.parallel import Failed, run_parallel

    items = [(i, str(tmp_path / "died")) for i in range(8)]
    assert run_parallel(_dies_once, items, n_jobs=2) == [i * 10 for i in range(8)]
    assert (tmp_path / "died").exists()  # it really was killed once
    out = run_parallel(_always_dies, [(i,) for i in range(6)], n_jobs=2, failures="record")
    assert isinstance(out[2], Failed) and "killed its worker" in out[2].reason
    assert [x for k, x in enumerate(out) if k != 2] == [0, 10, 30, 40, 50]
    with pytest.raises(SimulationError, match="killed its worker"):
        run_parallel(_always_dies, [(i,) for i in range(6)], n_jobs=2)
