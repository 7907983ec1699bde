"""Executors run task dicts and yield ``(task, result)`` as results arrive; the driver writes the store.

* ``serial``: in this process.
* ``process``: a local pool of spawned processes, one torch thread each. A worker that dies (killed,
  out of memory) breaks the pool; the driver starts a new pool for the tasks not yet returned, and a
  task that broke the pool twice is reported as failed instead of retried forever.
* ``dask``: ``dask.distributed`` on an existing scheduler (``tcp://HOST:PORT``) or a local cluster of
  ``workers`` processes; Dask reschedules the tasks of a lost worker (``retries``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

Result = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def _init_worker() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def run_serial(fn: Callable[[dict], Result], tasks: list[dict]) -> Iterator[tuple[dict, "Result | BaseException"]]:
    for t in tasks:
        try:
            yield t, fn(t)
        except Exception as exc:  # run_task catches per image; this is a last resort
            yield t, exc


def run_process(fn: Callable[[dict], Result], tasks: list[dict], jobs: int
                ) -> Iterator[tuple[dict, "Result | BaseException"]]:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    remaining = list(range(len(tasks)))
    crashes = {i: 0 for i in remaining}
    while remaining:
        broken = False
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), initializer=_init_worker) as ex:
            futs = {ex.submit(fn, tasks[i]): i for i in remaining}
            pending = set(futs)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    i = futs[f]
                    try:
                        res = f.result()
                    except BrokenProcessPool:
                        broken = True
                        crashes[i] += 1
                        continue
                    except Exception as exc:
                        res = exc
                    remaining.remove(i)
                    yield tasks[i], res
                if broken:
                    break
        for i in list(remaining):
            if crashes[i] >= 2:
                remaining.remove(i)
                yield tasks[i], RuntimeError("a worker process died twice while running this task")


def run_dask(fn: Callable[[dict], Result], tasks: list[dict], scheduler: "str | None", workers: int
             ) -> Iterator[tuple[dict, "Result | BaseException"]]:
    from ..errors import require

    distributed = require("distributed", "dask")
    cluster = None
    if scheduler:
        client = distributed.Client(scheduler, timeout=30)
    else:
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=40)
        client = distributed.Client(cluster)
    try:
        client.run(_init_worker)
        futs = client.map(fn, tasks, pure=False, retries=2)
        index = {f.key: i for i, f in enumerate(futs)}
        for f in distributed.as_completed(futs):
            i = index[f.key]
            try:
                yield tasks[i], f.result()
            except Exception as exc:
                yield tasks[i], exc
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
