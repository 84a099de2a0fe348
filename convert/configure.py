"""A requested run settled into the run's configuration: what a resume keeps, what a fine-tune
takes from the run it starts from, and the combinations no run can train (ConvertError).

Kept apart from the training loop so that the rules can be read (and tested) in one place; they
load at most the starting run's model, never the photos."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from convert import distill, losses, models, runs
from convert.errors import ConvertError
from convert.run_config import Mode, RunConfig


@dataclasses.dataclass(frozen=True)
class StartingRun:
    """The run a fine-tune starts from: its inference model (trained on) and its configuration."""

    model: object  # a keras.Model; typed loosely so this module does not import Keras itself
    config: RunConfig


def absolute(request: RunConfig) -> RunConfig:
    """The request with the run it fine-tunes named by its absolute path
    (what config.json records)."""
    if request.finetune_from is None:
        return request
    return dataclasses.replace(request, finetune_from=str(Path(request.finetune_from).resolve()))


def starting_run(
    run_dir: Path, request: RunConfig, previous: RunConfig | None, weights: str | None
) -> StartingRun | None:
    """The run a fine-tune starts from, loaded (None for a fresh run);
    a resume must name the same one."""
    if previous is not None and (previous.finetune_from, previous.mode.finetune) != (
        request.finetune_from,
        request.mode.finetune,
    ):
        started = (
            f"--finetune-{previous.mode.finetune} {previous.finetune_from}"
            if previous.finetune_from
            else "no fine-tune"
        )
        raise ConvertError(
            f"{run_dir} holds a run started with {started}; resume it the same way, "
            "or train into a new folder"
        )
    if request.finetune_from is None:
        return None
    return StartingRun(*runs.load_inference_model(Path(request.finetune_from), weights))


def settle(
    run_dir: Path,
    request: RunConfig,
    previous: RunConfig | None,
    start: StartingRun | None,
    weights: str | None,
) -> RunConfig:
    """The configuration the run trains with (not yet its record): a fine-tune's inherited fields, a
    resumed run's decoder, the teachers resolved; ConvertError for what cannot train."""
    config = _fine_tune(request, start.config) if start is not None else request
    if start is None and previous is not None and previous.input_size != request.input_size:
        raise ConvertError(
            f"{run_dir} holds a run started with --input-size {previous.input_size}; resume it "
            "the same way, or train into a new folder"
        )
    # whose decoder the run keeps
    source = previous or (start.config if start is not None else None)
    config = dataclasses.replace(
        config,
        transfer=weights is not None,
        hints=config.hints or bool(previous and previous.hints),
        last_activation=source.last_activation if source else config.last_activation,
        head_width=source.head_width
        if source
        else (config.head_width or models.HEAD_WIDTH[config.head]),
    )
    _check_hints(config)
    return distill.configure(config, previous, run_dir)


def _fine_tune(request: RunConfig, frozen: RunConfig) -> RunConfig:
    """A fine-tune's configuration: model, sizes, hints, encoder widths and (unless given) loss are
    its starting run's."""
    config = dataclasses.replace(
        request,
        loss=request.loss or frozen.loss,
        model=frozen.model,
        chroma_size=frozen.chroma_size,
        input_size=frozen.input_size,
        hints=request.hints or frozen.hints,
        widths=frozen.widths,
        pruned_from=frozen.pruned_from,
    )
    problem = _finetune_problem(frozen, config.loss, config.mode)
    if problem:
        raise ConvertError(f"cannot fine-tune from {request.finetune_from}: {problem}")
    return config


def _finetune_problem(frozen: RunConfig, loss: str, mode: Mode) -> str | None:
    """Why a run cannot start this fine-tune with this loss, or None if it can."""
    if mode is Mode.FINETUNE_BLOCK5 and frozen.mode.from_photos:
        return (
            "it was trained end to end: its decoder learned from encoder blocks "
            "the cache does not have"
        )
    if mode is Mode.FINETUNE_BLOCK5 and frozen.widths:
        return "its encoder is pruned and the cache holds full VGG16 features: use --finetune-all"
    if frozen.model != "hyper":
        return f"its model is {frozen.model!r}: only 'hyper' reads block5 and block3 features"
    if loss == "classify" or frozen.loss == "classify":
        if loss != frozen.loss or mode is not Mode.FINETUNE_BLOCK5:
            return "a classification run is fine-tuned (block5) with its own loss, classify"
    elif loss not in losses.REGRESSION or frozen.loss not in losses.REGRESSION:
        return (
            f"fine-tuning needs a regression loss ({', '.join(losses.REGRESSION)}), "
            "and a run trained with one"
        )
    return None


def _check_hints(config: RunConfig) -> None:
    """A hint model is a hyper decoder on cached features: no end-to-end, no distillation."""
    if config.hints and (config.mode.from_photos or config.distill or config.model != "hyper"):
        raise ConvertError(
            "--hints trains a hyper decoder on cached features (frozen, or block5 fine-tuned): no "
            "--end-to-end or --distill with it"
        )
