"""Reproducible parallel work: per-item seeds and one BLAS thread per worker.

Results must not depend on the number of workers or the joblib backend, so every work
item draws from its own :class:`numpy.random.Generator`, derived from the run's base seed
and the item's key (never from a shared stream consumed in scheduling order), and every
worker pins BLAS/OpenMP pools to one thread (threadpoolctl) so reductions are computed the
same way whatever the machine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


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


_SCHEDULER: dict = {}


def use_scheduler(address: str | None) -> None:
    """Send every parallel stage to the dask.distributed cluster at ``address`` (``tcp://HOST:PORT``;
    None: back to local joblib workers).  The connection is made here, so an unreachable scheduler is
    one clear error before any work starts."""
    old = _SCHEDULER.pop("client", None)
    if old is not None:
        old.close()
    _SCHEDULER.clear()
    if not address:
        return
    try:
        from distributed import Client
    except ImportError:
        from .errors import ConfigError

        raise ConfigError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        from .errors import ConfigError

        raise ConfigError(f"cannot reach the dask scheduler {address}: {exc}") from None
    _SCHEDULER.update(address=address, client=client)


def _indexed_call(fn: Callable, i: int, args: tuple, marks: str | None = None,
                  record: bool = False) -> tuple[int, Any, list]:
    """(index, result, the fault events it recorded) of one item, run where the worker is; with
    ``record``, an item raising a CosimError returns a :class:`Failed` in its result's place."""
    from . import events
    from .errors import BackendUnavailableError, CosimError

    if marks:  # the item has started in this worker: after a worker dies, these are the suspects
        open(os.path.join(marks, str(i)), "w").close()
    events.drain()
    try:
        res = _pinned_call(fn, args)
    except BackendUnavailableError:  # no SPICE at all is not a fault of this point: the run stops
        events.drain()
        raise
    except CosimError as exc:
        ev = events.drain()
        if not record:
            raise
        return i, Failed(_reason(exc)), ev
    except BaseException:
        events.drain()
        raise
    return i, res, events.drain()


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@dataclass(frozen=True)
class Failed:
    """The result slot of a work item that could not be computed (``failures="record"``)."""

    reason: str


#: How often a work item may take its worker down before it is recorded as failed.
CRASH_RETRIES = 1


def run_parallel(
    fn: Callable,
    items: Sequence[tuple],
    *,
    n_jobs: int = 1,
    progress: Callable[[Iterable], Iterable] | None = None,
    backend: str = "loky",
    failures: str = "raise",
) -> list:
    """Run ``fn(*item)`` for every item with joblib, results in item order.

    ``progress`` wraps the result iterator (e.g. a tqdm factory) to report completion.
    With ``n_jobs == 1`` the work runs in this process (still pinned to one BLAS thread).
    Inside :func:`cosim.journal.journaled`, every finished item is committed to the run's journal as it
    completes, and items the journal already holds (a resumed run) are not run again.

    A local worker that dies (a segfault in ngspice's shared library, a killed process) costs only the
    items it was running: the items that had started and not finished are run again one at a time in
    a restarted pool, so the one that kills its worker again is found; after ``CRASH_RETRIES`` crashes it
    is raised as a :class:`cosim.errors.SimulationError` — or, with ``failures="record"``, left as a
    :class:`Failed` in its slot (as is an item raising a CosimError) while the others go on.
    """
    from .journal import active, item_key

    journal = active()
    items = list(items)
    out: list = [None] * len(items)
    keys = [item_key(fn, args) for args in items] if journal is not None else [None] * len(items)
    todo, reused_events = [], []
    for i, k in enumerate(keys):
        found, res, ev = journal.get(k) if journal is not None else (False, None, [])
        if found:
            out[i] = res
            journal.reused += 1
            reused_events.extend(ev)
        else:
            todo.append(i)

    def results():
        if "client" in _SCHEDULER:
            yield from _dask_tolerant(fn, items, todo, failures == "record")
        elif n_jobs == 1:
            for i in todo:
                yield _indexed_call(fn, i, items[i], None, failures == "record")
        else:
            yield from _crash_tolerant(fn, items, todo, n_jobs, backend, failures == "record")

    def finished():
        yield from (None for _ in range(len(items) - len(todo)))  # reused from the journal
        from . import events

        events.collected.extend(reused_events)  # a resumed point's faults still count
        for i, res, ev in results():
            out[i] = res
            events.collected.extend(ev)
            if isinstance(res, Failed):
                log.warning("work item %d failed: %s", i, res.reason)
                events.collected.append(("failed", f"item {i}: {res.reason}"))
            if journal is not None:
                if isinstance(res, Failed):
                    journal.put(keys[i], None, status="failed", info=res.reason)
                else:
                    journal.put(keys[i], res, events=ev)
            yield None

    it = finished()
    for _ in progress(it) if progress else it:
        pass
    return out


def _dask_tolerant(fn, items, todo, record: bool):
    """The items on the dask cluster, one future each (every thread of every worker), taken as they
    complete so that each result is journaled the moment it exists.  The scheduler itself reruns the
    tasks of a worker that dies; a task that has killed ``distributed.scheduler.allowed-failures`` + 1
    workers fails with KilledWorker — that item is recorded as failed (or raised), the others finish.

    (The futures API rather than joblib's dask backend: with joblib 1.6.0 and distributed 2026.8, a
    Parallel call whose task exhausted its allowed failures waited forever instead of raising.)"""
    from distributed import KilledWorker, as_completed

    client = _SCHEDULER["client"]
    futures = {client.submit(_indexed_call, fn, i, items[i], None, record, pure=False): i for i in todo}
    try:
        for fut in as_completed(futures, loop=client.loop):  # the client is not the default one
            i = futures[fut]
            try:
                r = fut.result()
            except KilledWorker:
                r = _lost(i, f"work item {i} killed every dask worker it ran on (a crash in ngspice, or the process "
                             "was killed)", record)
            yield r
    finally:  # a raised failure (or Ctrl-C) leaves nothing of this run queued on the cluster
        client.cancel(list(futures))


def _crash_tolerant(fn, items, todo, n_jobs, backend, record: bool):
    """Local joblib workers; after a worker death, the started-but-unfinished items are rerun one at a
    time (each in a worker process of a restarted pool), then the rest continue in the pool."""
    from joblib import Parallel, delayed
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    from .errors import SimulationError

    left = list(todo)
    crashes: dict[int, int] = {}
    pool_crashes = 0
    with tempfile.TemporaryDirectory(prefix="cosim-marks-") as marks:
        while left:
            done: set[int] = set()
            try:
                for r in Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered")(
                        delayed(_indexed_call)(fn, i, items[i], marks, record) for i in left):
                    done.add(r[0])
                    yield r
                return
            except TerminatedWorkerError as exc:
                suspects = [i for i in left if i not in done and os.path.exists(os.path.join(marks, str(i)))]
                log.warning("a worker died (%s); rerunning its %d started item(s) one at a time",
                            str(exc).splitlines()[0][:120], len(suspects))
                if not suspects:  # it died before any item started: the pool itself is broken
                    pool_crashes += 1
                    if pool_crashes > CRASH_RETRIES:
                        raise SimulationError(f"joblib workers keep dying before running any item: {exc}") from None
            for i in suspects:
                os.remove(os.path.join(marks, str(i)))
                try:
                    # in a worker process (n_jobs=1 would run it here, where a crash takes the whole run down)
                    one = [delayed(_indexed_call)(fn, i, items[i], None, record)]
                    r = Parallel(n_jobs=2, backend=backend)(one)[0]
                except TerminatedWorkerError:
                    crashes[i] = crashes.get(i, 0) + 1
                    if crashes[i] <= CRASH_RETRIES:
                        continue  # it stays in the next round
                    r = _lost(i, f"work item {i} killed its worker {crashes[i]} times (a crash in ngspice, or the "
                                 "process was killed)", record)
                done.add(i)
                yield r
            left = [i for i in left if i not in done]


def _lost(i: int, reason: str, record: bool) -> tuple[int, Failed, list]:
    """The result slot of an item that took its workers down: a Failed (``record``), or raised."""
    if not record:
        from .errors import SimulationError

        raise SimulationError(reason)
    return i, Failed(reason), []
