"""Run folders: what convert.train writes (config.json, model.weights.h5, bins.npz) and how every
other command (export, prune, evaluate's teachers, visualize, distillation) reads a run back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from convert import models
from convert.errors import ConvertError
from convert.run_config import RunConfig


def read_config(run_dir: Path) -> RunConfig | None:
    """A run's saved configuration, or None for a folder no run has started in."""
    path = Path(run_dir) / "config.json"
    return RunConfig.from_json(json.loads(path.read_text())) if path.exists() else None


def write_config(run_dir: Path, config: RunConfig) -> None:
    (Path(run_dir) / "config.json").write_text(json.dumps(config.to_json(), indent=2))


def load_inference_model(
    run_dir: Path,
    weights: str | None = None,
    temperature: float | None = None,
    prior_correction: float = 0.0,
):
    """Rebuild a run's inference model (y -> UV) from its config and saved weights;
    returns (model, config).

    temperature: the annealed-mean read-out's (classification runs; default models.ANNEAL_T).
    prior_correction: alpha, the read-out divides the predicted distribution by w^alpha, w the
    rebalancing weights (models.annealed_mean): 0 the plain read-out, 1 the posterior itself.
    """
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if config is None:
        raise ConvertError(f"{run_dir}: no run here (no config.json)")
    bins = np.load(run_dir / "bins.npz") if config.head == "classification" else None
    centres = bins["centres"] if bins is not None else None
    if prior_correction and bins is None:
        raise ValueError(f"{run_dir}: a prior-corrected read-out needs a classification run")
    encoder, decoder, _ = build_networks(config, weights, centres)
    model = models.build_inference_model(
        encoder,
        decoder,
        config.head,
        centres,
        temperature or models.ANNEAL_T,
        np.power(bins["weights"], prior_correction) if prior_correction else None,
    )
    model.load_weights(run_dir / "model.weights.h5")
    return model, config


def build_networks(config: RunConfig, weights: str | None, centres: np.ndarray | None) -> tuple:
    """models.build for a run's configuration: (encoder, decoder, the two joined). Training and
    loading a run build its networks alike. A pruned encoder's weights are all in the run's
    file (VGG16's ImageNet file does not fit it), so `weights` is not used for one."""
    return models.build(
        config.model,
        weights=None if config.widths else weights,
        chroma_size=config.chroma_size,
        head=config.head,
        bins=centres,
        last_activation=config.last_activation,
        input_size=config.input_size,
        widths=config.widths,
        hints=config.hints,
        head_width=config.head_width,
    )
