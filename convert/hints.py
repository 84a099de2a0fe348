"""Simulated colour hints for training a hint model
(Zhang et al. 2017's recipe, on the chroma grid).

A user paints a few dots; training shows the network the same: for each photo a random number
of points (none for a share of photos, so the model stays an automatic colorizer), each a small
square patch revealing the mean true chroma of that patch. The encoding is the runtime's
(colorize_core.hints.encode), so what the network learns from is what it will be given.
"""

from __future__ import annotations

import numpy as np

from colorize_core.hints import encode

P_NONE = 0.25  # share of photos shown with no hint at all
P_GEOMETRIC = 1 / 8  # point count ~ geometric(1/8): mean 8, many with 1-3
MAX_POINTS = 40
MAX_HALF = 2  # patches of 1x1 to 5x5 cells of the 56x56 grid


def simulate(
    uv: np.ndarray, rng: np.random.Generator, n_points: int | None = None, half: int | None = None
) -> np.ndarray:
    """Hints (c, c, 3) for one photo's true chroma uv (c, c, 2); n_points fixes the count and half
    the patch size, (2 half + 1) cells square (evaluation); None draws them as in training."""
    c = uv.shape[0]
    mask = np.zeros(uv.shape[:2], np.float32)
    out = np.zeros_like(uv, dtype=np.float32)
    if n_points is None:
        n_points = 0 if rng.random() < P_NONE else min(int(rng.geometric(P_GEOMETRIC)), MAX_POINTS)
    for _ in range(n_points):
        h = int(rng.integers(0, MAX_HALF + 1)) if half is None else half
        i, j = (int(v) for v in rng.integers(0, c, 2))
        rows, cols = slice(max(i - h, 0), i + h + 1), slice(max(j - h, 0), j + h + 1)
        out[rows, cols] = uv[rows, cols].reshape(-1, 2).mean(0)
        mask[rows, cols] = 1.0
    return encode(out, mask)


def simulate_batch(uvs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hints (B, c, c, 3) for a batch of true chroma (B, c, c, 2), drawn as in training."""
    return np.stack([simulate(uv, rng) for uv in uvs])
