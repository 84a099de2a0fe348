"""Losses for chroma prediction, and the quantized-chroma classes of the classification loss.

mse          the seed's loss; averages plausible colours into "low saturation sepia".
euclidean    the seed's next step: mean sqrt((U-U')^2 + (V-V')^2).
log_mse      the mean over photos of log(the photo's UV MSE): the field's metric, PSNR averaged
             per photo, is affine in log(RGB MSE), which UV MSE tracks; every photo weighs alike.
classify     Zhang et al. 2016: cross-entropy over quantized UV bins, soft-encoded targets,
             class rebalancing by the smoothed inverse prior; read out with an annealed mean.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from convert.models import ANNEAL_T

BIN_STEP = 0.08  # UV grid spacing (about 10 of 255 8-bit Cb/Cr levels)
SOFT_SIGMA = 0.5 * BIN_STEP  # Zhang: sigma 5 on a grid of 10
REBALANCE_LAMBDA = 0.5
LOG_MSE_FLOOR = 1e-4  # a photo predicted to within about 1 8-bit chroma level stops pulling


def chroma_prior(
    uv: np.ndarray, step: float = BIN_STEP, smooth: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The bins that occur in the training chroma:
    centres (Q, 2) and their prior (Q,), summing to 1.

    uv: training targets (..., 2) in [-1, 1]; the prior is the bins' frequency smoothed by a
    Gaussian of `smooth` bins (Zhang et al. 2016), so a rare colour's neighbours count for it too.
    """
    k = int(np.ceil(1.0 / step))
    idx = np.clip(np.rint(uv.reshape(-1, 2) / step).astype(int) + k, 0, 2 * k)
    counts = np.zeros((2 * k + 1, 2 * k + 1))
    np.add.at(counts, (idx[:, 0], idx[:, 1]), 1)
    keep = counts > 0
    prior = counts / counts.sum()
    if smooth > 0:
        r = int(3 * smooth)
        g = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * smooth**2))
        g /= g.sum()
        prior = np.apply_along_axis(lambda a: np.convolve(a, g, "same"), 0, prior)
        prior = np.apply_along_axis(lambda a: np.convolve(a, g, "same"), 1, prior)
    iu, iv = np.nonzero(keep)
    centres = np.stack([(iu - k) * step, (iv - k) * step], axis=-1).astype(np.float32)
    p = prior[iu, iv]
    return centres, p / p.sum()


def rebalancing_weights(prior: np.ndarray, lam: float = REBALANCE_LAMBDA) -> np.ndarray:
    """Class weights proportional to 1 / ((1 - lam) prior + lam / Q), scaled so E_prior[w] = 1:
    rare colours weigh more, and a photo's loss keeps its scale on average."""
    w = 1.0 / ((1 - lam) * prior + lam / len(prior))
    return (w / np.sum(prior * w)).astype(np.float32)


def chroma_bins(
    uv: np.ndarray, step: float = BIN_STEP, smooth: float = 1.0, lam: float = REBALANCE_LAMBDA
) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres that occur in the training chroma, and their rebalancing weights."""
    centres, prior = chroma_prior(uv, step, smooth)
    return centres, rebalancing_weights(prior, lam)


def mse(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred))


def euclidean(y_true, y_pred):
    return ops.mean(ops.sqrt(ops.sum(ops.square(y_true - y_pred), axis=-1) + 1e-8))


def log_mse(y_true, y_pred):
    per_photo = ops.mean(ops.square(y_true - y_pred), axis=tuple(range(1, len(y_pred.shape))))
    return ops.mean(ops.log(per_photo + LOG_MSE_FLOOR))


REGRESSION = {"mse": mse, "euclidean": euclidean, "log_mse": log_mse}
LOSSES = (*REGRESSION, "classify")


def soft_encode(uv, centres: np.ndarray, sigma: float = SOFT_SIGMA):
    """UV (..., 2) -> soft class targets (..., Q): a Gaussian over the distances to every centre."""
    d2 = ops.sum(ops.square(ops.expand_dims(uv, -2) - ops.convert_to_tensor(centres)), axis=-1)
    return ops.softmax(-d2 / (2 * sigma**2), axis=-1)


def make_classify_loss(centres: np.ndarray, weights: np.ndarray):
    """Rebalanced soft-encoded cross-entropy, for logits (..., Q) against UV targets (..., 2)."""
    w = ops.convert_to_tensor(weights)

    def classify(y_true, logits):
        target = soft_encode(y_true, centres)
        ce = -ops.sum(target * ops.log_softmax(logits, axis=-1), axis=-1)
        pixel_w = ops.take(w, ops.argmax(target, axis=-1))
        return ops.mean(pixel_w * ce)

    return classify


def annealed_uv(logits, centres: np.ndarray, temperature: float):
    """The annealed-mean readout in keras ops (the exported model has the same as layers)."""
    p = ops.softmax(logits / temperature, axis=-1)
    return ops.matmul(p, ops.convert_to_tensor(centres))


def make_accuracy(
    threshold: float = 0.1, centres: np.ndarray | None = None, temperature: float = ANNEAL_T
):
    """Fraction of chroma pixels within `threshold` (Euclidean UV) of the truth:
    the 'accuracy' curve."""

    def chroma_acc(y_true, y_pred):
        uv = y_pred if centres is None else annealed_uv(y_pred, centres, temperature)
        err = ops.sqrt(ops.sum(ops.square(y_true - uv), axis=-1))
        return ops.mean(ops.cast(err < threshold, "float32"))

    chroma_acc.__name__ = "chroma_acc"
    return chroma_acc
