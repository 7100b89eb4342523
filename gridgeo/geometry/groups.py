"""Group-by on integer keys with numpy: sums, counts and the row of each group's maximum."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def group_sum(keys: NDArray[np.intp], values: NDArray[np.float64],
              size: int) -> NDArray[np.float64]:
    """Sum of ``values`` per key in ``range(size)`` (0 for keys with no rows)."""
    return np.bincount(keys, weights=values, minlength=size).astype(np.float64)


def group_count(keys: NDArray[np.intp], size: int) -> NDArray[np.intp]:
    return np.bincount(keys, minlength=size).astype(np.intp)


def group_argmax(keys: NDArray[np.intp], values: NDArray[np.float64],
                 tie_break: NDArray[np.intp] | None = None) -> NDArray[np.intp]:
    """For each key present, the row holding its largest value (ties: smallest tie_break).

    Returns row indices, one per distinct key, in increasing key order.
    """
    if len(keys) == 0:
        return np.empty(0, dtype=np.intp)
    tie = np.zeros(len(keys), dtype=np.intp) if tie_break is None else tie_break
    # lexsort sorts by the last key first: key, then value descending, then tie ascending.
    order = np.lexsort((tie, -values, keys))
    first = np.ones(len(order), dtype=bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    return order[first]  # type: ignore[no-any-return]


def group_members(keys: NDArray[np.intp], size: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """``order`` and ``starts`` such that the rows of key k are ``order[starts[k]:starts[k+1]]``."""
    order = np.argsort(keys, kind="stable").astype(np.intp)
    starts = np.searchsorted(keys[order], np.arange(size + 1)).astype(np.intp)
    return order, starts
