"""Reproducible parallel work: per-item seeds and one BLAS thread per worker.

Results must not depend on the number of workers or the joblib backend, so every work
item draws from its own :class:`numpy.random.Generator`, derived from the run's base seed
and the item's key (never from a shared stream consumed in scheduling order), and every
worker pins BLAS/OpenMP pools to one thread (threadpoolctl) so reductions are computed the
same way whatever the machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np


def item_seed(base_seed: int, *key: Any) -> np.random.SeedSequence:
    """SeedSequence for one work item: a function of ``base_seed`` and ``key`` only."""
    digest = hashlib.sha256(repr(tuple(key)).encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.SeedSequence([int(base_seed) & 0xFFFFFFFF, *words])


def item_rng(base_seed: int, *key: Any) -> np.random.Generator:
    """Generator for one work item (see :func:`item_seed`)."""
    return np.random.default_rng(item_seed(base_seed, *key))


def _pinned_call(fn: Callable, args: tuple) -> Any:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return fn(*args)


def run_parallel(
    fn: Callable,
    items: Sequence[tuple],
    *,
    n_jobs: int = 1,
    progress: Callable[[Iterable], Iterable] | None = None,
    backend: str = "loky",
) -> list:
    """Run ``fn(*item)`` for every item with joblib, results in item order.

    ``progress`` wraps the result iterator (e.g. a tqdm factory) to report completion.
    With ``n_jobs == 1`` the work runs in this process (still pinned to one BLAS thread).
    """
    if n_jobs == 1:
        it = (_pinned_call(fn, args) for args in items)
        return list(progress(it) if progress else it)
    from joblib import Parallel, delayed

    par = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")
    it = par(delayed(_pinned_call)(fn, args) for args in items)
    return list(progress(it) if progress else it)
