"""The field's colorization metrics (shared/docs/metrics.md), in numpy, on uint8 RGB images."""

from __future__ import annotations

import numpy as np

PSNR_CAP = 100.0  # identical images: a finite cap instead of infinity, so averages stay meaningful
AUC_THRESHOLDS = np.arange(0, 151, 10)  # Lab ab units, Zhang et al.


def psnr(truth: np.ndarray, pred: np.ndarray) -> float:
    """20 log10(255 / RMSE) over all pixels and channels, capped at PSNR_CAP."""
    mse = np.mean((np.asarray(truth, np.float64) - np.asarray(pred, np.float64)) ** 2)
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * np.log10(255.0**2 / mse))


def _gaussian_blur(x: np.ndarray, size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Separable Gaussian filter over the first two axes ('valid' region, as in Wang et al.)."""
    r = size // 2
    g = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * sigma**2))
    g /= g.sum()
    x = np.apply_along_axis(lambda a: np.convolve(a, g, "valid"), 0, x)
    return np.apply_along_axis(lambda a: np.convolve(a, g, "valid"), 1, x)


def ssim(truth: np.ndarray, pred: np.ndarray) -> float:
    """SSIM with an 11x11 Gaussian window (sigma 1.5), per RGB channel, averaged."""
    a, b = np.asarray(truth, np.float64), np.asarray(pred, np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _gaussian_blur(a), _gaussian_blur(b)
    var_a = _gaussian_blur(a * a) - mu_a**2
    var_b = _gaussian_blur(b * b) - mu_b**2
    cov = _gaussian_blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(s.mean())


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk's colourfulness of a 0-255 RGB image (0 for any gray image)."""
    r, g, b = (np.asarray(rgb, np.float64)[..., i] for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> CIE Lab (D65)."""
    c = np.asarray(rgb, np.float64) / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = c @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def chroma_auc(truth: np.ndarray, pred: np.ndarray) -> float:
    """Zhang's AuC: mean over thresholds 0..150 (ab units) of the fraction of pixels within them."""
    d = np.linalg.norm(srgb_to_lab(truth)[..., 1:] - srgb_to_lab(pred)[..., 1:], axis=-1)
    return float(np.mean([(d <= t).mean() for t in AUC_THRESHOLDS]))


def score(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """All per-image metrics of one prediction against its truth (both uint8 RGB, same size)."""
    return {
        "psnr": psnr(truth, pred),
        "ssim": ssim(truth, pred),
        "cf": colorfulness(pred),
        "auc": chroma_auc(truth, pred),
    }
