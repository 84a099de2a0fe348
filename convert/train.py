"""Train a colorization model: resumable, logged, with curves and the seed's Figure 5 per epoch.

Usage:
  python -m convert.train RUN_DIR --cache CACHE --model hyper --loss mse --weights VGG16.h5
  python -m convert.train RUN_DIR ... --end-to-end            # fine-tune the encoder too
  python -m convert.train RUN_DIR ... --end-to-end --scratch  # no ImageNet weights
  python -m convert.train RUN_DIR ... --finetune-block5 FROZEN_RUN --lr 5e-5
  python -m convert.train RUN_DIR ... --input-size 112  # the encoder sees the photo at 112x112
  python -m convert.train RUN_DIR ... --finetune-all PRUNED_RUN --distill 1 --lr 5e-5
  python -m convert.train RUN_DIR ... --distill 1 --distill-from default --distill-from hints
  python -m convert.train RUN_DIR ... --hints   # a hint model: colour dots steer it (convert.hints)
  python -m convert.train RUN_DIR ... --loss classify --hints --precision mixed_bfloat16  # the default's

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
from convert import dataset, features, losses, models, runs  # noqa: E402
from convert import distill as distill_module  # noqa: E402  (train() has an argument called distill)
from convert import hints as hints_module  # noqa: E402  (train() has an argument called hints)

FIGURE_PHOTOS = 4
PRECISIONS = ("float32", "mixed_bfloat16")


def targets_for(crops: np.ndarray, rows: np.ndarray, chroma_size: int) -> np.ndarray:
    """Compressed UV targets (len(rows), c, c, 2) for the given photo indices."""
    return dataset.chroma_targets(crops[rows] if len(rows) else crops[:0], chroma_size)


class Batches(keras.utils.PyDataset):
    """Batches of (inputs, UV targets) from in-memory or memory-mapped arrays, shuffled per epoch."""

    def __init__(self, inputs: list[np.ndarray], targets: np.ndarray, batch: int, shuffle: bool, seed: int = 0):
        super().__init__()
        self.inputs, self.targets, self.batch, self.shuffle = inputs, targets, batch, shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(targets))
        self.on_epoch_end()

    def __len__(self) -> int:
        return int(np.ceil(len(self.targets) / self.batch))

    def __getitem__(self, i: int):
        sel = np.sort(self.order[i * self.batch:(i + 1) * self.batch])
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
        return tuple(xs if isinstance(xs, tuple) else (xs,)) + (hints_module.simulate_batch(uv, rng),), uv


def figure5(crops: np.ndarray, predict_uv, path: Path, input_size: int | None = None) -> None:
    """The seed's Figure 5: ground truth | input | prediction, one photo per row."""
    rows = []
    uvs = predict_uv(dataset.lumas(crops, input_size))
    for crop, uv in zip(crops, uvs):
        y_img, _ = split_8bit(Image.fromarray(np.asarray(crop)))
        pred = to_uint8(merge(luma_to_unit(np.asarray(y_img)), uv))
        rows.append(np.concatenate([np.asarray(crop), np.asarray(y_img.convert("RGB")), pred], axis=1))
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
    for ax, key in zip(axes, ("loss", "chroma_acc")):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            if prefix + key in rows[0]:
                ax.plot(epochs, [float(r[prefix + key]) for r in rows], style, label=("tune " if prefix else "train ") + key)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=80)
    plt.close(fig)


def train(run_dir: Path, *, precision: str = "float32", **options) -> dict:
    """Train (or resume) one run under its arithmetic precision; returns its config (see _train).

    precision: "float32", or "mixed_bfloat16" (float32 weights, bfloat16 arithmetic: 1.6x the
    decoder's training speed on a CPU with bfloat16 matrix units); a resumed run keeps its own.
    The process's Keras policy is restored afterwards, so models built later (an export) are float32.
    """
    previous = runs.read_config(Path(run_dir))
    precision = previous.get("precision", precision) if previous else precision
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: choose from {PRECISIONS}")
    with models.precision_policy(precision):
        return _train(Path(run_dir), precision=precision, **options)


def _train(run_dir: Path, *, cache: Path, model: str = "hyper", loss: str = "mse", weights: str | None = None,
          chroma_size: int = 56, end_to_end: bool = False, epochs: int = 10, batch: int = 16,
          optimizer: str = "adam", lr: float = 1e-3, cosine: bool = False, minutes: float | None = None,
          max_train: int | None = None, max_tune: int = 500, progress: int = 1,
          finetune_from: Path | None = None, finetune: str = "block5", distill: float = 0.0,
          distill_from: str | Path | list | None = None, distill_mirror: bool = False, input_size: int = 224,
          hints: bool = False, precision: str = "float32") -> dict:
    """One run's training under the precision train() set; returns its config with the final metrics.

    finetune_from: a run whose whole inference model starts a fine-tune; model, chroma size, input
    size, encoder widths and (if `loss` is None) the loss come from that run.
    finetune: what a fine-tune trains: "block5" (VGG16's block5 with the decoder, from cached block4
    features: `convert.features --extend block4`) or "all" (encoder and decoder, from the photos;
    how a pruned encoder from `convert.prune` recovers).
    distill: how much of each training target is the teacher's prediction (1: all, a student
    copying its teacher; 0: the photo's chroma only); a pruned run's teacher is its unpruned run.
    distill_from: the teacher(s) instead (convert.distill: a run folder, a shipped model's name or a
    .tflite; any input size, same chroma size; several teach their mean chroma).
    distill_mirror: the teacher's target is the mean of its chroma for the photo and for the photo's
    mirror image (flipped back): on the 224x224 default that mean scores ~0.1 dB higher at the same
    colourfulness, a better teacher (its students did not gain: docs/experiments.md, session 9).
    The tune loss stays against the photos' chroma, comparable with every other run.
    input_size: the side the encoder sees the photo at (a fine-tune keeps its frozen run's).
    hints: train a hint model (a frozen encoder; a block5 fine-tune of a hint run stays one): the
    decoder also reads simulated colour hints.
    precision: the Keras policy train() set for this run.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    previous = runs.read_config(run_dir)
    init = init_config = None
    if finetune_from is not None or previous.get("finetune_from"):
        finetune_from = str(Path(finetune_from).resolve()) if finetune_from is not None else None
        init, init_config = _starting_run(run_dir, previous, finetune_from, finetune, weights)
        loss = loss or init_config["loss"]
        end_to_end = end_to_end or finetune == "all"
        problem = _finetune_problem(init_config, loss, end_to_end, finetune)
        if problem:
            raise SystemExit(f"cannot fine-tune from {finetune_from}: {problem}")
        model, chroma_size, input_size = init_config["model"], init_config["chroma_size"], runs.input_size_of(init_config)
    elif previous and runs.input_size_of(previous) != input_size:
        raise SystemExit(f"{run_dir} holds a run started with --input-size {runs.input_size_of(previous)}; resume it the "
                         "same way, or train into a new folder")
    hints = hints or bool(previous.get("hints")) or bool(init_config and init_config.get("hints"))
    if hints and (end_to_end or distill or model != "hyper"):
        raise SystemExit("--hints trains a hyper decoder on cached features (frozen, or block5 fine-tuned): no "
                         "--end-to-end or --distill with it")
    crops, index = dataset.load(cache)
    # a fine-tune reads block4's output where the frozen run read block5's
    taps = ((models.ENCODER_OUTPUTS["hyper"][0], models.STAGE_IO["block5"][0]) if init is not None
            else models.ENCODER_OUTPUTS[model])
    rows, inputs = _photos(cache, crops, index, taps, end_to_end, input_size, max_train, max_tune)
    targets = {k: targets_for(crops, rows[k], chroma_size) for k in ("train", "tune")}

    # a resumed run keeps the decoder it started with (runs from before the leaky fix have no key)
    # a fine-tune keeps its frozen run's decoder too
    source = previous or init_config
    head_width = models.head_width_of(source) if source else models.HEAD_WIDTH[runs.head_of({"loss": loss})]
    config = dict(model=model, loss=loss, chroma_size=chroma_size, end_to_end=end_to_end,
                  transfer=weights is not None, optimizer=optimizer, lr=lr, cosine=cosine, epochs=epochs, batch=batch,
                  train_photos=int(len(rows["train"])), tune_photos=int(len(rows["tune"])), cache=str(cache),
                  last_activation=models.last_activation_of(source) if source else models.LAST_ACTIVATION,
                  input_size=input_size, head_width=head_width)
    if hints:
        config["hints"] = True
    if precision != "float32":
        config["precision"] = precision
    if init is not None:
        config.update(finetune=finetune, finetune_from=finetune_from)
        if init_config.get("widths"):
            config.update(widths=init_config["widths"], pruned_from=init_config["pruned_from"])
    distill_module.configure(config, previous, run_dir, distill, distill_from, distill_mirror)
    loss_fn, centres = _loss(run_dir, config, targets["train"], finetune_from)
    runs.write_config(run_dir, config)

    net, predict_model, save = _network(config, init, taps, weights, centres, run_dir)
    if distill:
        targets["train"] = distill_module.targets(config, run_dir, crops, rows["train"], targets["train"])
    if cosine:  # the step count lives in the optimizer's checkpoint, so a resumed run continues the curve
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=epochs * int(np.ceil(len(rows["train"]) / batch)))
    opt = {"adam": keras.optimizers.Adam(lr), "sgd": keras.optimizers.SGD(lr, momentum=0.9)}[optimizer]
    net.compile(optimizer=opt, loss=loss_fn, metrics=[losses.make_accuracy(centres=centres)])

    started = time.time()
    figures = np.asarray(crops[rows["tune"][:FIGURE_PHOTOS]])
    batches = HintBatches if hints else Batches
    net.fit(batches(inputs["train"], targets["train"], batch, shuffle=True),
            validation_data=batches(inputs["tune"], targets["tune"], batch, shuffle=False) if len(rows["tune"]) else None,
            epochs=epochs, verbose=progress,
            callbacks=_callbacks(run_dir, save, predict_model, figures, input_size, minutes, started))
    save()
    config["train_seconds"] = round(previous.get("train_seconds", 0.0) + time.time() - started, 1)  # every session
    config["final_lr"] = float(keras.ops.convert_to_numpy(opt.learning_rate))
    runs.write_config(run_dir, config)
    return config


def _starting_run(run_dir: Path, previous: dict, finetune_from: str | None, finetune: str, weights: str | None):
    """The run a fine-tune starts from, loaded; a resume must name the same one."""
    if previous and (previous.get("finetune_from"), previous.get("finetune")) != (finetune_from, finetune):
        started = (f"--finetune-{previous['finetune']} {previous['finetune_from']}" if previous.get("finetune_from")
                   else "no fine-tune")
        raise SystemExit(f"{run_dir} holds a run started with {started}; resume it the same way, "
                         "or train into a new folder")
    return runs.load_inference_model(finetune_from, weights)


def _photos(cache: Path, crops: np.ndarray, index: dict, taps: tuple[str, ...], end_to_end: bool, input_size: int,
            max_train: int | None, max_tune: int) -> tuple[dict, dict]:
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
        raise SystemExit("no training photos in the cache (run convert.dataset and convert.features first)")
    print(f"{len(rows['train'])} training and {len(rows['tune'])} tuning photos", file=sys.stderr)
    inputs = ({k: [dataset.lumas(crops[rows[k]], input_size)] for k in ("train", "tune")} if end_to_end else
              {k: [np.asarray(feats[t][row_of[k][:len(rows[k])]]) for t in taps] for k in ("train", "tune")})
    return rows, inputs


def _loss(run_dir: Path, config: dict, train_targets: np.ndarray, finetune_from: str | None = None):
    """The loss function, and the chroma bins of a classification run (made once, kept in bins.npz;
    a fine-tune keeps its starting run's bins, which its head's logits are over)."""
    if runs.head_of(config) == "regression":
        return losses.REGRESSION[config["loss"]], None
    bins_path = run_dir / "bins.npz"
    if not bins_path.exists() and finetune_from is not None:
        b = np.load(Path(finetune_from) / "bins.npz")
        np.savez(bins_path, centres=b["centres"], weights=b["weights"])
    elif not bins_path.exists():
        c, w = losses.chroma_bins(train_targets)
        np.savez(bins_path, centres=c, weights=w)
    b = np.load(bins_path)
    config["bins"] = int(len(b["centres"]))
    return losses.make_classify_loss(b["centres"], b["weights"]), b["centres"]


def _network(config: dict, init, taps: tuple[str, ...], weights: str | None, centres, run_dir: Path):
    """(the network trained, the inference model y -> UV saved, a function saving it) for one of the
    three ways a run trains: a fine-tune of a whole run, block5 over cached block4 features, or a
    new network (its decoder over cached features, or end to end)."""
    model, head, input_size = config["model"], runs.head_of(config), config["input_size"]
    upper = None
    if init is not None and config["finetune"] == "all":  # the run's own inference model, trained whole
        predict_model = net = init
    elif init is not None:  # the frozen run's own model is trained on and saved, its block5 copied back
        predict_model, decoder = init, init.get_layer(f"{model}_{head}_decoder")
        upper = models.build_vgg_stage("block5", None, input_size)
        models.copy_stage_weights(init, upper, "block5")
        f3, f4 = (keras.Input(models.feature_shape(t, input_size), name=t) for t in taps)
        hint_in = [keras.Input(t.shape[1:], name="hints") for t in decoder.inputs if "hints" in t.name]
        net = keras.Model([f3, f4] + hint_in, decoder([f3, upper(f4)] + hint_in), name="block5_finetune")
    else:
        encoder, decoder, full = models.build(model, weights=weights, chroma_size=config["chroma_size"], head=head,
                                              bins=centres, last_activation=config["last_activation"],
                                              input_size=input_size, hints=bool(config.get("hints")),
                                              head_width=config["head_width"])
        encoder.trainable = config["end_to_end"]  # end to end trains VGG16 too; frozen runs leave it
        net = full if config["end_to_end"] else decoder
        predict_model = models.build_inference_model(encoder, decoder, head, centres)

    def save() -> None:
        if upper is not None:  # the encoder shares no variables with the block5 being trained
            models.copy_stage_weights(upper, predict_model, "block5")
        predict_model.save_weights(run_dir / "model.weights.h5")
    return net, predict_model, save


def _callbacks(run_dir: Path, save, predict_model, figure_crops: np.ndarray, input_size: int,
               minutes: float | None, started: float) -> list:
    """Resume, CSV log, the inference model + Figure 5 + curves at every epoch's end, a time budget."""
    class EpochFigures(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            save()
            figure5(figure_crops, lambda y: np.asarray(predict_model.predict(_with_no_hints(predict_model, y), verbose=0)),
                    run_dir / "figures" / f"epoch_{epoch + 1:03d}.png", input_size)
            plot_curves(run_dir / "log.csv", run_dir / "curves.png")

    class TimeBudget(keras.callbacks.Callback):
        def on_train_batch_end(self, batch_i, logs=None):
            if minutes is not None and time.time() - started > minutes * 60:
                self.model.stop_training = True

    return [keras.callbacks.BackupAndRestore(str(run_dir / "backup"), delete_checkpoint=False),
            keras.callbacks.CSVLogger(str(run_dir / "log.csv"), append=True), EpochFigures(), TimeBudget()]


def _with_no_hints(model, y: np.ndarray):
    """A model's inputs for luminance y: a hint model also gets an empty hint grid (its no-hint colours)."""
    if len(model.inputs) == 1:
        return y
    return [y, np.zeros((len(y),) + tuple(model.inputs[1].shape[1:]), np.float32)]


def _finetune_problem(frozen_config: dict, loss: str, end_to_end: bool, finetune: str) -> str | None:
    """Why a run cannot start this fine-tune (`finetune`: "block5" or "all") with this loss, or None if it can."""
    if finetune not in ("block5", "all"):
        return f"unknown fine-tune {finetune!r} (block5 or all)"
    if finetune == "block5" and end_to_end:
        return "--end-to-end and --finetune-block5 exclude each other"
    if finetune == "block5" and frozen_config.get("end_to_end"):
        return "it was trained end to end: its decoder learned from encoder blocks the cache does not have"
    if finetune == "block5" and frozen_config.get("widths"):
        return "its encoder is pruned and the cache holds full VGG16 features: use --finetune-all"
    if frozen_config["model"] != "hyper":
        return f"its model is {frozen_config['model']!r}: only 'hyper' reads block5 and block3 features"
    if loss == "classify" or frozen_config["loss"] == "classify":
        if loss != frozen_config["loss"] or finetune != "block5":
            return "a classification run is fine-tuned (block5) with its own loss, classify"
    elif loss not in losses.REGRESSION or frozen_config["loss"] not in losses.REGRESSION:
        return f"fine-tuning needs a regression loss ({', '.join(losses.REGRESSION)}), and a run trained with one"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m convert.train", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("run_dir", type=Path, help="folder for this run's checkpoints, logs and figures")
    ap.add_argument("--cache", type=Path, required=True, help="cache from convert.dataset (+ convert.features)")
    ap.add_argument("--model", default="hyper", choices=("seed", "hyper"))
    ap.add_argument("--loss", choices=losses.LOSSES, help="default: mse (every shipped model's), or a fine-tune's "
                                                          "frozen run's loss")
    ap.add_argument("--weights", help="ImageNet VGG16 notop .h5 (transfer learning)")
    ap.add_argument("--scratch", action="store_true", help="no ImageNet weights (needs --end-to-end)")
    ap.add_argument("--end-to-end", action="store_true", help="train the encoder too, from the photos")
    ap.add_argument("--chroma-size", type=int, default=56, help="compressed chroma size (seed: 33)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--optimizer", default="adam", choices=("adam", "sgd"))
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--cosine", action="store_true", help="decay the learning rate to 0 along a cosine over --epochs")
    ap.add_argument("--finetune-block5", type=Path, metavar="FROZEN_RUN",
                    help="fine-tune VGG16's block5 with the decoder of this frozen run (needs block4 features)")
    ap.add_argument("--finetune-all", type=Path, metavar="RUN",
                    help="train this run's whole model (encoder and decoder) further, from the photos; how a pruned "
                         "encoder (convert.prune) recovers")
    ap.add_argument("--distill", type=float, default=0.0, metavar="A",
                    help="train toward A x a teacher's chroma + (1-A) x the photo's (default 0); a --finetune-all of "
                         "a pruned run is taught by its unpruned run unless --distill-from names a teacher")
    ap.add_argument("--distill-from", action="append", metavar="TEACHER",
                    help="with --distill: the teacher, a run folder, a shipped model's name (default, fast) "
                         "or a .tflite (same chroma size, any input size); repeat it for the mean of several")
    ap.add_argument("--distill-mirror", action="store_true",
                    help="with --distill: the teacher's chroma is the mean over each photo and its mirror image")
    ap.add_argument("--input-size", type=int, default=224,
                    help="side the encoder sees the photo at (a multiple of 16; default 224; a fine-tune keeps its "
                         "frozen run's)")
    ap.add_argument("--hints", action="store_true",
                    help="train a hint model: the decoder also reads colour hints simulated from each photo's chroma "
                         "(frozen encoder, hyper decoder)")
    ap.add_argument("--precision", choices=PRECISIONS, default="float32",
                    help="mixed_bfloat16: bfloat16 arithmetic, float32 weights (faster on CPUs with bfloat16 "
                         "matrix units; the exported model is float as ever)")
    ap.add_argument("--minutes", type=float, help="stop after this many minutes (the run stays resumable)")
    ap.add_argument("--max-train", type=int, help="use at most N training photos")
    ap.add_argument("--max-tune", type=int, default=500, help="tune photos scored each epoch (default 500)")
    args = ap.parse_args(argv)
    if args.scratch and not args.end_to_end:
        ap.error("--scratch needs --end-to-end: a random frozen encoder learns nothing")
    if not args.scratch and not args.weights:
        ap.error("give --weights VGG16.h5 for transfer learning, or --scratch --end-to-end")
    try:
        models.check_input_size(args.input_size)
    except ValueError as e:
        ap.error(str(e))
    if args.finetune_block5 and args.finetune_all:
        ap.error("--finetune-block5 and --finetune-all exclude each other")
    finetune_from = args.finetune_block5 or args.finetune_all
    loss = args.loss or (None if finetune_from else "mse")
    config = train(args.run_dir, cache=args.cache, model=args.model, loss=loss,
                   weights=None if args.scratch else args.weights, chroma_size=args.chroma_size,
                   end_to_end=args.end_to_end, epochs=args.epochs, batch=args.batch, optimizer=args.optimizer,
                   lr=args.lr, cosine=args.cosine, minutes=args.minutes, max_train=args.max_train, max_tune=args.max_tune,
                   finetune_from=finetune_from, finetune="all" if args.finetune_all else "block5", distill=args.distill,
                   distill_from=args.distill_from, distill_mirror=args.distill_mirror, input_size=args.input_size,
                   hints=args.hints, precision=args.precision)
    print(json.dumps(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
