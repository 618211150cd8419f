"""Per-item seeds: results do not depend on the number of workers or the order of work."""

import numpy as np

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
