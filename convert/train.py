r"""Train a colorization model: resumable, logged, with curves and the seed's Figure 5 per epoch.

Usage:
  python -m convert.train RUN_DIR --cache CACHE --model hyper --loss mse --weights VGG16.h5
  python -m convert.train RUN_DIR ... --end-to-end            # fine-tune the encoder too
  python -m convert.train RUN_DIR ... --end-to-end --scratch  # no ImageNet weights
  python -m convert.train RUN_DIR ... --finetune-block5 FROZEN_RUN --lr 5e-5
  python -m convert.train RUN_DIR ... --input-size 112  # the encoder sees the photo at 112x112
  python -m convert.train RUN_DIR ... --finetune-all PRUNED_RUN --distill 1 --lr 5e-5
  python -m convert.train RUN_DIR ... --distill 1 --distill-from default --distill-from hints
  python -m convert.train RUN_DIR ... --hints   # a hint model: colour dots steer it (convert.hints)
  python -m convert.train RUN_DIR ... --loss classify --hints \
         --precision mixed_bfloat16  # the default's

Modes:
  frozen (default)  the ImageNet encoder is frozen; its features come from the cache made by
                    convert.features, so a decoder trains at tens of photos a second on a CPU.
  --end-to-end      the whole network trains on the photos (about 1 photo a second on 2 cores).
  --finetune-block5 frozen, then fine-tuned: starts from a frozen run's decoder and trains it
                    together with VGG16's block5 on cached block4 features
                    (`convert.features --extend block4`), about 7 photos a second.
  --finetune-all    starts from any run (a pruned one from convert.prune included) and trains its
                    whole inference model from the photos' luminance, 6 to 7 photos a second at 112.
  --distill A       the targets become A x a teacher's chroma (computed once into
                    RUN_DIR/teacher_uv*.npy) + (1 - A) x the photos'; the teacher of a
                    --finetune-all of a pruned run is its unpruned run, --distill-from TEACHER
                    names another (a run folder, a shipped model's name or a .tflite; any mode);
                    given twice or more, the teachers' mean chroma teaches;
                    --distill-mirror averages the teacher's chroma for each photo and its mirror
                    image (a second teacher pass, kept in RUN_DIR/teacher_uv_mirrored.npy).
  --loss classify   Zhang et al. 2016's colour-distribution head: logits over the chroma bins of
                    the training photos, rebalanced by their prior, read out by the annealed mean
                    (the temperature is an export choice: convert.export --temperature).
  --input-size S    the encoder sees each photo at SxS instead of 224x224: VGG16 costs S^2, so
                    112 runs in about a quarter of the time; frozen runs read the features
                    cached by `convert.features --input-size S`.
Re-running the same command resumes from the last finished epoch (Keras BackupAndRestore).
RUN_DIR gets config.json, log.csv, curves.png, figures/epoch_NNN.png and model.weights.h5
(the inference model: encoder, decoder and read-out, saved at every epoch's end).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from colorize_core.color import luma_to_unit, merge, split_8bit, to_uint8  # noqa: E402
from convert import (  # noqa: E402
    command,
    configure,
    dataset,
    distill,
    features,
    hints,
    losses,
    models,
    runs,
)
from convert.errors import ConvertError, reports_errors  # noqa: E402
from convert.run_config import PRECISIONS, Mode, RunConfig  # noqa: E402

FIGURE_PHOTOS = 4


def targets_for(crops: np.ndarray, rows: np.ndarray, chroma_size: int) -> np.ndarray:
    """Compressed UV targets (len(rows), c, c, 2) for the given photo indices."""
    return dataset.chroma_targets(crops[rows] if len(rows) else crops[:0], chroma_size)


class Batches(keras.utils.PyDataset):
    """Batches of (inputs, UV targets) from in-memory or memory-mapped arrays,
    shuffled per epoch."""

    def __init__(
        self,
        inputs: list[np.ndarray],
        targets: np.ndarray,
        batch: int,
        shuffle: bool,
        seed: int = 0,
    ):
        super().__init__()
        self.inputs, self.targets, self.batch, self.shuffle = inputs, targets, batch, shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(targets))
        self.on_epoch_end()

    def __len__(self) -> int:
        return int(np.ceil(len(self.targets) / self.batch))

    def __getitem__(self, i: int):
        sel = np.sort(self.order[i * self.batch : (i + 1) * self.batch])
        xs = [np.asarray(a[sel], np.float32) for a in self.inputs]
        return (tuple(xs) if len(xs) > 1 else xs[0]), np.asarray(self.targets[sel], np.float32)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.order)


class HintBatches(Batches):
    """Batches whose inputs end with simulated colour hints drawn from the targets (convert.hints):
    fresh hints every epoch when shuffled, the same hints every time for the tune photos."""

    def __getitem__(self, i: int):
        xs, uv = super().__getitem__(i)
        rng = self.rng if self.shuffle else np.random.default_rng(i)
        return tuple(xs if isinstance(xs, tuple) else (xs,)) + (hints.simulate_batch(uv, rng),), uv


def figure5(crops: np.ndarray, predict_uv, path: Path, input_size: int | None = None) -> None:
    """The seed's Figure 5: ground truth | input | prediction, one photo per row."""
    rows = []
    uvs = predict_uv(dataset.lumas(crops, input_size))
    for crop, uv in zip(crops, uvs, strict=True):
        y_img, _ = split_8bit(Image.fromarray(np.asarray(crop)))
        pred = to_uint8(merge(luma_to_unit(np.asarray(y_img)), uv))
        rows.append(
            np.concatenate([np.asarray(crop), np.asarray(y_img.convert("RGB")), pred], axis=1)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def plot_curves(log_csv: Path, out_png: Path) -> None:
    """Loss and accuracy curves (train and tune) from the CSV log, as one PNG."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(log_csv.open()))
    if not rows:
        return
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "chroma_acc"), strict=True):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            if prefix + key in rows[0]:
                ax.plot(
                    epochs,
                    [float(r[prefix + key]) for r in rows],
                    style,
                    label=("tune " if prefix else "train ") + key,
                )
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=80)
    plt.close(fig)


@dataclasses.dataclass(frozen=True)
class Session:
    """How this sitting of a run goes, none of it part of what the run is: the ImageNet VGG16 file
    (the run records only that it had one), a time budget, how many photos,
    Keras' progress output."""

    weights: str | None = None
    minutes: float | None = None
    max_train: int | None = None
    max_tune: int = 500
    progress: int = 1


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """A run's photos: the crops, the cache rows of each split,
    the network's inputs and UV targets."""

    crops: np.ndarray
    taps: tuple[str, ...]
    rows: dict[str, np.ndarray]
    inputs: dict[str, list[np.ndarray]]
    targets: dict[str, np.ndarray]


def train(run_dir: Path, request: RunConfig, session: Session | None = None) -> RunConfig:
    """Train (or resume) one run; returns its configuration with what it measured.

    request: the run asked for (convert.configure settles it: a resume keeps what its folder records
    and refuses what would change it, a fine-tune takes its starting run's model and sizes).
    The arithmetic precision (float32, or mixed_bfloat16: float32 weights, bfloat16 arithmetic, 1.6x
    the decoder's speed on a CPU with bfloat16 matrix units) is Keras' policy during the run only,
    so models built later (an export) are float32; a resumed run keeps its own.
    """
    run_dir, session = Path(run_dir), session or Session()
    run_dir.mkdir(parents=True, exist_ok=True)
    previous = runs.read_config(run_dir)
    request = configure.absolute(request)
    precision = previous.precision if previous is not None else request.precision
    with models.precision_policy(precision):
        request = dataclasses.replace(request, precision=precision)
        start = configure.starting_run(run_dir, request, previous, session.weights)
        config = configure.settle(run_dir, request, previous, start, session.weights)
        return _train(run_dir, config, previous, start, session)


def _train(
    run_dir: Path,
    config: RunConfig,
    previous: RunConfig | None,
    start: configure.StartingRun | None,
    session: Session,
) -> RunConfig:
    """The training of a settled run, step by step;
    config.json is written before fitting and after."""
    data = _training_data(config, session)
    config = config.with_record(
        train_photos=int(len(data.rows["train"])), tune_photos=int(len(data.rows["tune"]))
    )
    loss_fn, centres, config = _loss(run_dir, config, data.targets["train"])
    runs.write_config(run_dir, config)
    net, predict_model, save = _network(config, start, data.taps, session.weights, centres, run_dir)
    optimizer = _compile(net, config, loss_fn, centres, len(data.rows["train"]))
    data = _distilled(run_dir, config, data)
    started = time.time()
    _fit(
        net,
        data,
        config,
        session,
        _callbacks(run_dir, save, predict_model, data, config.input_size, session.minutes, started),
    )
    save()
    # every sitting's time, summed
    before = previous.record.get("train_seconds", 0.0) if previous else 0.0
    config = config.with_record(
        train_seconds=round(before + time.time() - started, 1),
        final_lr=float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
    )
    runs.write_config(run_dir, config)
    return config


def _training_data(config: RunConfig, session: Session) -> TrainingData:
    """The photos of the cache's train and tune splits, their network inputs and their UV targets.

    A block5 fine-tune reads block4's output where the frozen run read block5's."""
    cache = Path(config.cache)
    crops, index = dataset.load(cache)
    taps = (
        (models.ENCODER_OUTPUTS["hyper"][0], models.STAGE_IO["block5"][0])
        if config.mode is Mode.FINETUNE_BLOCK5
        else models.ENCODER_OUTPUTS[config.model]
    )
    rows, inputs = _photos(
        cache,
        crops,
        index,
        taps,
        config.mode.from_photos,
        config.input_size,
        session.max_train,
        session.max_tune,
    )
    targets = {k: targets_for(crops, rows[k], config.chroma_size) for k in ("train", "tune")}
    return TrainingData(crops, taps, rows, inputs, targets)


def _distilled(run_dir: Path, config: RunConfig, data: TrainingData) -> TrainingData:
    """The data with a distilled run's training targets (its teachers' chroma mixed in);
    as is otherwise."""
    if not config.distill:
        return data
    taught = distill.targets(config, run_dir, data.crops, data.rows["train"], data.targets["train"])
    return dataclasses.replace(data, targets={**data.targets, "train": taught})


def _photos(
    cache: Path,
    crops: np.ndarray,
    index: dict,
    taps: tuple[str, ...],
    end_to_end: bool,
    input_size: int,
    max_train: int | None,
    max_tune: int,
) -> tuple[dict, dict]:
    """The training and tuning photos' cache rows, and the network's inputs for them: luminance
    for a network trained from the photos, cached encoder features for a frozen one."""
    splits = {k: np.asarray(v) for k, v in index["splits"].items()}
    if end_to_end:
        rows = {k: splits[k] for k in ("train", "tune")}
    else:
        feats, order = features.load(cache, taps, input_size=input_size)
        row_of = {k: np.nonzero(np.isin(order, splits[k]))[0] for k in ("train", "tune")}
        rows = {k: order[row_of[k]] for k in ("train", "tune")}
    rows["train"], rows["tune"] = rows["train"][:max_train], rows["tune"][:max_tune]
    if len(rows["train"]) == 0:
        raise ConvertError(
            "no training photos in the cache (run convert.dataset and convert.features first)"
        )
    print(f"{len(rows['train'])} training and {len(rows['tune'])} tuning photos", file=sys.stderr)
    inputs = (
        {k: [dataset.lumas(crops[rows[k]], input_size)] for k in ("train", "tune")}
        if end_to_end
        else {
            k: [np.asarray(feats[t][row_of[k][: len(rows[k])]]) for t in taps]
            for k in ("train", "tune")
        }
    )
    return rows, inputs


def _loss(run_dir: Path, config: RunConfig, train_targets: np.ndarray):
    """(the loss function, a classification run's chroma bins,
    the config with its bin count recorded).

    The bins are made once and kept in bins.npz; a fine-tune keeps its starting run's, which its
    head's logits are over."""
    if config.head == "regression":
        return losses.REGRESSION[config.loss], None, config
    bins_path = run_dir / "bins.npz"
    if not bins_path.exists() and config.finetune_from is not None:
        b = np.load(Path(config.finetune_from) / "bins.npz")
        np.savez(bins_path, centres=b["centres"], weights=b["weights"])
    elif not bins_path.exists():
        c, w = losses.chroma_bins(train_targets)
        np.savez(bins_path, centres=c, weights=w)
    b = np.load(bins_path)
    return (
        losses.make_classify_loss(b["centres"], b["weights"]),
        b["centres"],
        config.with_record(bins=int(len(b["centres"]))),
    )


def _network(
    config: RunConfig,
    start: configure.StartingRun | None,
    taps: tuple[str, ...],
    weights: str | None,
    centres,
    run_dir: Path,
):
    """(the network trained, the inference model y -> UV saved, a function saving it) for one of the
    three ways a run trains: a fine-tune of a whole run, block5 over cached block4 features, or a
    new network (its decoder over cached features, or end to end)."""
    upper = None
    if config.mode is Mode.FINETUNE_ALL:  # the run's own inference model, trained whole
        predict_model = net = start.model
    elif config.mode is Mode.FINETUNE_BLOCK5:  # the frozen run's own model is trained on and saved
        predict_model, upper = (
            start.model,
            models.build_vgg_stage("block5", None, config.input_size),
        )
        net = _block5_network(config, predict_model, upper, taps)
    else:
        encoder, decoder, full = runs.build_networks(config, weights, centres)
        # end to end trains VGG16 too; frozen runs leave it
        encoder.trainable = config.mode.from_photos
        net = full if config.mode.from_photos else decoder
        predict_model = models.build_inference_model(encoder, decoder, config.head, centres)

    def save() -> None:
        if upper is not None:  # the encoder shares no variables with the block5 being trained
            models.copy_stage_weights(upper, predict_model, "block5")
        predict_model.save_weights(run_dir / "model.weights.h5")

    return net, predict_model, save


def _block5_network(config: RunConfig, frozen_model, upper, taps: tuple[str, ...]):
    """The frozen run's decoder over `upper` (its VGG16 block5, weights copied in)
    on cached block4 features."""
    decoder = frozen_model.get_layer(f"{config.model}_{config.head}_decoder")
    models.copy_stage_weights(frozen_model, upper, "block5")
    f3, f4 = (keras.Input(models.feature_shape(t, config.input_size), name=t) for t in taps)
    hint_in = [keras.Input(t.shape[1:], name="hints") for t in decoder.inputs if "hints" in t.name]
    return keras.Model(
        [f3, f4] + hint_in, decoder([f3, upper(f4)] + hint_in), name="block5_finetune"
    )


def _compile(net, config: RunConfig, loss_fn, centres, n_train: int):
    """Compile the network with the run's optimizer; returns the optimizer
    (its final learning rate is recorded)."""
    lr = config.lr
    # the step count lives in the optimizer's checkpoint, so a resumed run continues the curve
    if config.cosine:
        steps = config.epochs * int(np.ceil(n_train / config.batch))
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps)
    optimizer = {"adam": keras.optimizers.Adam(lr), "sgd": keras.optimizers.SGD(lr, momentum=0.9)}[
        config.optimizer
    ]
    net.compile(optimizer=optimizer, loss=loss_fn, metrics=[losses.make_accuracy(centres=centres)])
    return optimizer


def _fit(net, data: TrainingData, config: RunConfig, session: Session, callbacks: list) -> None:
    """Fit on the training photos (fresh hints each epoch for a hint model),
    scored on the tune photos."""
    batches = HintBatches if config.hints else Batches
    tune = batches(data.inputs["tune"], data.targets["tune"], config.batch, shuffle=False)
    net.fit(
        batches(data.inputs["train"], data.targets["train"], config.batch, shuffle=True),
        validation_data=tune if len(data.rows["tune"]) else None,
        epochs=config.epochs,
        verbose=session.progress,
        callbacks=callbacks,
    )


def _callbacks(
    run_dir: Path,
    save,
    predict_model,
    data: TrainingData,
    input_size: int,
    minutes: float | None,
    started: float,
) -> list:
    """Resume, CSV log, the inference model + Figure 5 + curves at every epoch's end,
    a time budget."""
    figure_crops = np.asarray(data.crops[data.rows["tune"][:FIGURE_PHOTOS]])

    class EpochFigures(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            save()
            figure5(
                figure_crops,
                lambda y: np.asarray(
                    predict_model.predict(_with_no_hints(predict_model, y), verbose=0)
                ),
                run_dir / "figures" / f"epoch_{epoch + 1:03d}.png",
                input_size,
            )
            plot_curves(run_dir / "log.csv", run_dir / "curves.png")

    class TimeBudget(keras.callbacks.Callback):
        def on_train_batch_end(self, batch_i, logs=None):
            if minutes is not None and time.time() - started > minutes * 60:
                self.model.stop_training = True

    return [
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), delete_checkpoint=False),
        keras.callbacks.CSVLogger(str(run_dir / "log.csv"), append=True),
        EpochFigures(),
        TimeBudget(),
    ]


def _with_no_hints(model, y: np.ndarray):
    """A model's inputs for luminance y: a hint model also gets an empty hint grid
    (its no-hint colours)."""
    if len(model.inputs) == 1:
        return y
    return [y, np.zeros((len(y),) + tuple(model.inputs[1].shape[1:]), np.float32)]


def _add_schedule_arguments(ap: argparse.ArgumentParser) -> None:
    """How long and how fast it learns: epochs, batch and the optimizer's settings (the cosine
    schedule spans --epochs, so they are read together)."""
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--optimizer", default="adam", choices=("adam", "sgd"))
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument(
        "--cosine",
        action="store_true",
        help="decay the learning rate to 0 along a cosine over --epochs",
    )


def _add_starting_point_arguments(ap: argparse.ArgumentParser) -> None:
    """What a run starts from and learns toward besides the photos: a fine-tune of an earlier
    run, a teacher to distill; they go together (a pruned run recovers by both)."""
    ap.add_argument(
        "--finetune-block5",
        type=Path,
        metavar="FROZEN_RUN",
        help="fine-tune VGG16's block5 with the decoder of this frozen run (needs block4 features)",
    )
    ap.add_argument(
        "--finetune-all",
        type=Path,
        metavar="RUN",
        help="train this run's whole model (encoder and decoder) further, from the photos; "
        "how a pruned encoder (convert.prune) recovers",
    )
    ap.add_argument(
        "--distill",
        type=float,
        default=0.0,
        metavar="A",
        help="train toward A x a teacher's chroma + (1-A) x the photo's (default 0); "
        "a --finetune-all of a pruned run is taught by its unpruned run "
        "unless --distill-from names a teacher",
    )
    ap.add_argument(
        "--distill-from",
        action="append",
        metavar="TEACHER",
        help="with --distill: the teacher, a run folder, a shipped model's name (default, fast) "
        "or a .tflite (same chroma size, any input size); repeat it for the mean of several",
    )
    ap.add_argument(
        "--distill-mirror",
        action="store_true",
        help="with --distill: the teacher's chroma is the mean over each photo "
        "and its mirror image",
    )


def _add_network_arguments(ap: argparse.ArgumentParser) -> None:
    """The network's shape and arithmetic: input size, hint input, precision (a fine-tune keeps
    its frozen run's input size)."""
    ap.add_argument(
        "--input-size",
        type=int,
        default=224,
        help="side the encoder sees the photo at "
        "(a multiple of 16; default 224; a fine-tune keeps its frozen run's)",
    )
    ap.add_argument(
        "--hints",
        action="store_true",
        help="train a hint model: the decoder also reads colour hints simulated "
        "from each photo's chroma (frozen encoder, hyper decoder)",
    )
    ap.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="mixed_bfloat16: bfloat16 arithmetic, float32 weights (faster on CPUs with bfloat16 "
        "matrix units; the exported model is float as ever)",
    )


def _parser() -> argparse.ArgumentParser:
    """The command line; its flags and defaults are the RunConfig's and Session's,
    spelled for people."""
    ap = command.parser("convert.train", __doc__)
    ap.add_argument(
        "run_dir", type=Path, help="folder for this run's checkpoints, logs and figures"
    )
    ap.add_argument(
        "--cache", type=Path, required=True, help="cache from convert.dataset (+ convert.features)"
    )
    ap.add_argument("--model", default="hyper", choices=("seed", "hyper"))
    ap.add_argument(
        "--loss",
        choices=losses.LOSSES,
        help="default: mse (every shipped model's), or a fine-tune's frozen run's loss",
    )
    ap.add_argument("--weights", help="ImageNet VGG16 notop .h5 (transfer learning)")
    ap.add_argument(
        "--scratch", action="store_true", help="no ImageNet weights (needs --end-to-end)"
    )
    ap.add_argument(
        "--end-to-end", action="store_true", help="train the encoder too, from the photos"
    )
    ap.add_argument("--chroma-size", type=int, default=56, help="compressed chroma size (seed: 33)")
    _add_schedule_arguments(ap)
    _add_starting_point_arguments(ap)
    _add_network_arguments(ap)
    ap.add_argument(
        "--minutes", type=float, help="stop after this many minutes (the run stays resumable)"
    )
    ap.add_argument("--max-train", type=int, help="use at most N training photos")
    ap.add_argument(
        "--max-tune", type=int, default=500, help="tune photos scored each epoch (default 500)"
    )
    return ap


def _mode(args: argparse.Namespace, ap: argparse.ArgumentParser) -> Mode:
    """The training mode the flags ask for
    (ArgumentParser.error for flags that exclude each other)."""
    if args.finetune_block5 and args.finetune_all:
        ap.error("--finetune-block5 and --finetune-all exclude each other")
    if args.finetune_block5 and args.end_to_end:
        ap.error("--end-to-end and --finetune-block5 exclude each other")
    if args.finetune_all:
        return Mode.FINETUNE_ALL
    if args.finetune_block5:
        return Mode.FINETUNE_BLOCK5
    return Mode.END_TO_END if args.end_to_end else Mode.FROZEN


def _request(args: argparse.Namespace, mode: Mode) -> RunConfig:
    """The run the command line asks for."""
    finetune_from = args.finetune_block5 or args.finetune_all
    return RunConfig(
        cache=args.cache,
        model=args.model,
        loss=args.loss or (None if finetune_from else "mse"),
        chroma_size=args.chroma_size,
        mode=mode,
        optimizer=args.optimizer,
        lr=args.lr,
        cosine=args.cosine,
        epochs=args.epochs,
        batch=args.batch,
        input_size=args.input_size,
        hints=args.hints,
        precision=args.precision,
        finetune_from=finetune_from,
        distill=args.distill,
        distill_from=tuple(args.distill_from or ()),
        distill_mirror=args.distill_mirror,
    )


@reports_errors
def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.scratch and not args.end_to_end:
        ap.error("--scratch needs --end-to-end: a random frozen encoder learns nothing")
    if not args.scratch and not args.weights:
        ap.error("give --weights VGG16.h5 for transfer learning, or --scratch --end-to-end")
    try:
        models.check_input_size(args.input_size)
    except ValueError as e:
        ap.error(str(e))
    session = Session(
        weights=None if args.scratch else args.weights,
        minutes=args.minutes,
        max_train=args.max_train,
        max_tune=args.max_tune,
    )
    config = train(args.run_dir, _request(args, _mode(args, ap)), session)
    print(json.dumps(config.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
