"""Vectorised shapely calls over index chunks on several threads.

shapely 2 releases the GIL inside its vectorised GEOS calls, so two threads keep
both cores busy on one big array of pairs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

T = TypeVar("T")

# Below this many items per chunk a thread costs more than it saves.
MIN_CHUNK = 2_000
# Chunks per worker: enough to report progress and balance uneven chunks.
CHUNKS_PER_WORKER = 4


def worker_count() -> int:
    """Threads to use: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def chunk_map(fn: Callable[[NDArray[np.intp]], T], n: int, workers: int | None = None,
              on_done: Callable[[int], None] | None = None,
              owners: NDArray[np.intp] | None = None) -> list[T]:
    """``fn`` applied to consecutive index ranges covering ``range(n)``; results in order.

    ``on_done`` is called in the calling thread with the number of items finished so
    far, each time a chunk finishes. ``owners`` (sorted, one per item) keeps all items
    of one owner in one chunk: GEOS prepared geometries build their indexes lazily
    and must not be used by two threads at once, so items that use the same
    prepared geometry stay together.
    """
    workers = workers or worker_count()
    parts = max(1, min(workers * CHUNKS_PER_WORKER, n // MIN_CHUNK))
    cuts = np.linspace(0, n, parts + 1).astype(np.intp)
    if owners is not None and n:
        cuts[1:-1] = np.searchsorted(owners, owners[np.minimum(cuts[1:-1], n - 1)])
        cuts = np.unique(cuts)
        parts = len(cuts) - 1
    chunks = [np.arange(cuts[i], cuts[i + 1], dtype=np.intp) for i in range(parts)]
    if parts == 1 or workers == 1:
        results = []
        for chunk in chunks:
            results.append(fn(chunk))
            if on_done:
                on_done(int(chunk[-1]) + 1 if len(chunk) else n)
        return results
    out: list[T | None] = [None] * parts
    finished = 0
    with ThreadPoolExecutor(workers, thread_name_prefix="gridgeo-geom") as pool:
        futures = {pool.submit(fn, chunk): i for i, chunk in enumerate(chunks)}
        for future in as_completed(futures):
            i = futures[future]
            out[i] = future.result()
            finished += len(chunks[i])
            if on_done:
                on_done(finished)
    return out  # type: ignore[return-value]


def threaded_validity(geoms: NDArray[np.object_], workers: int | None = None) -> NDArray[np.bool_]:
    """``shapely.is_valid`` on several threads (no prepared geometry involved)."""
    import shapely

    parts = chunk_map(lambda rows: shapely.is_valid(geoms[rows]), len(geoms), workers)
    return np.concatenate(parts) if parts else np.empty(0, dtype=bool)
