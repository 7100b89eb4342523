"""Smooth deterministic noise defined everywhere in the plane.

Values come from hashing integer lattice coordinates, so a field is the same wherever it is
evaluated: neighbouring towns computed separately (even in other processes) agree on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xC2B2AE3D27D4EB4F)
_K3 = np.uint64(0x165667B19E3779F9)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def field_key(*parts: int) -> int:
    """A 63-bit key for one noise field, from the seed and a field number."""
    key = np.random.default_rng(list(parts)).integers(0, 2**62)
    return int(key)


def _lattice(ix: np.ndarray, iy: np.ndarray, key: int) -> np.ndarray:
    """Uniform values in [-1, 1] at integer lattice points (splitmix64 finaliser)."""
    with np.errstate(over="ignore"):
        h = (ix.astype(np.int64).view(np.uint64) * _K1) ^ (iy.astype(np.int64).view(np.uint64)
                                                             * _K2) ^ (np.uint64(key) * _K3)
        h ^= h >> np.uint64(30)
        h *= _M1
        h ^= h >> np.uint64(27)
        h *= _M2
        h ^= h >> np.uint64(31)
    return (h >> np.uint64(11)).astype(np.float64) * (2.0 / 2.0**53) - 1.0


def _fade(t: np.ndarray) -> np.ndarray:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def value_noise(x: np.ndarray, y: np.ndarray, cell: float, key: int) -> np.ndarray:
    """Gradient (Perlin) noise, about [-1, 1], with lattice spacing ``cell`` metres. The
    lattice is turned by an angle drawn from the key, so no field lines up with the axes."""
    angle = (key % 3600) / 3600.0 * math.pi
    cos, sin = math.cos(angle), math.sin(angle)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    gx = (x * cos - y * sin) / cell
    gy = (x * sin + y * cos) / cell
    ix = np.floor(gx)
    iy = np.floor(gy)
    fx = gx - ix
    fy = gy - iy
    ix = ix.astype(np.int64)
    iy = iy.astype(np.int64)

    def corner(dx: int, dy: int) -> np.ndarray:
        theta = _lattice(ix + dx, iy + dy, key) * math.pi
        return np.cos(theta) * (fx - dx) + np.sin(theta) * (fy - dy)

    u = _fade(fx)
    v = _fade(fy)
    bottom = corner(0, 0) + (corner(1, 0) - corner(0, 0)) * u
    top = corner(0, 1) + (corner(1, 1) - corner(0, 1)) * u
    return 1.4 * (bottom + (top - bottom) * v)


def fbm(x: np.ndarray, y: np.ndarray, octaves: Sequence[tuple[float, float]],
        key: int) -> np.ndarray:
    """Sum of value-noise octaves, each given as (cell metres, amplitude)."""
    total = np.zeros(np.broadcast(np.asarray(x), np.asarray(y)).shape)
    for number, (cell, amplitude) in enumerate(octaves):
        total += amplitude * value_noise(x, y, cell, key + 7919 * (number + 1))
    return total
