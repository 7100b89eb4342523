"""Vectorised shapely calls over index chunks on several threads.

shapely 2 releases the GIL inside its vectorised GEOS calls, so two threads keep
both cores busy on one big array of pairs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

T = TypeVar("T")

# Below this many items a second thread costs more than it saves.
MIN_CHUNK = 2_000


def worker_count() -> int:
    """Threads to use: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def chunk_map(fn: Callable[[NDArray[np.intp]], T], n: int,
              workers: int | None = None) -> list[T]:
    """``fn`` applied to consecutive index ranges covering ``range(n)``, in order."""
    workers = workers or worker_count()
    parts = max(1, min(workers, n // MIN_CHUNK))
    cuts = np.linspace(0, n, parts + 1).astype(np.intp)
    chunks = [np.arange(cuts[i], cuts[i + 1], dtype=np.intp) for i in range(parts)]
    if parts == 1:
        return [fn(chunks[0])]
    with ThreadPoolExecutor(parts, thread_name_prefix="gridgeo-geom") as pool:
        return list(pool.map(fn, chunks))
