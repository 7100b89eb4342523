"""Small seeded random choices shared by the generators."""

from __future__ import annotations

import numpy as np


def pick(options: tuple[tuple[str, float], ...], rng: np.random.Generator, n: int) -> list[str]:
    """``n`` labels drawn with the given weights."""
    labels = [label for label, _ in options]
    weights = np.array([weight for _, weight in options])
    return [labels[i] for i in rng.choice(len(labels), n, p=weights / weights.sum())]


def spread_out(xy: np.ndarray, count: int, spacing: float,
               rng: np.random.Generator) -> np.ndarray:
    """Up to ``count`` of the points, taken in random order, at least ``spacing`` apart."""
    chosen: list[int] = []
    for i in rng.permutation(len(xy)):
        if len(chosen) == count:
            break
        if not chosen or np.min(np.linalg.norm(xy[chosen] - xy[i], axis=1)) >= spacing:
            chosen.append(int(i))
    return np.array(chosen, dtype=np.int64)
