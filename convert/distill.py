"""Distillation: a student run trained toward a teacher's chroma instead of (or mixed with) the
photos' own. A teacher is a training run's folder or a LiteRT model (a shipped model's name or a
.tflite with its card: what users run, quantized); several teachers teach the mean of their chroma.
Each teacher's chroma is computed once into the student's run folder, with a sidecar naming the
teacher and the photos, so that a copied file is reused only where it fits."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from colorize_core.model import Model, ModelError, looks_like_path, resolve_model, sha256_of
from colorize_core.preprocess import model_view
from colorize_core.shipped import SHIPPED_MODELS
from convert import dataset, runs
from convert.errors import ConvertError
from convert.run_config import Mode, RunConfig


def configure(config: RunConfig, previous: RunConfig | None, run_dir: Path) -> RunConfig:
    """The run's distillation checked and its teachers resolved to absolute paths; ConvertError when
    it cannot be done or a resume would teach differently from the run's start.

    config.distill_from: the teacher(s) as given, each a run folder, a shipped model's name or a
    .tflite; none names a pruned run's own unpruned run (a --finetune-all of it)."""
    if config.distill:
        config = dataclasses.replace(config, distill_from=_teachers(config))
    elif config.distill_from or config.distill_mirror:
        raise ConvertError("--distill-from and --distill-mirror need --distill A")
    if previous is not None and _teaching(previous) != _teaching(config):
        mirror = " with mirrors" if previous.distill_mirror else ""
        raise ConvertError(
            f"{run_dir} holds a run distilled {previous.distill} from "
            f"{_named(previous.distill_from)}{mirror}; resume it the same way, or train into a new "
            "folder"
        )
    return config


def _teachers(config: RunConfig) -> tuple[str, ...]:
    """A distilled run's teachers, resolved: those named, else a pruned run's unpruned run."""
    if not 0 < config.distill <= 1:
        raise ConvertError(f"--distill A must be in (0, 1], not {config.distill}")
    if config.distill_from:
        return tuple(resolve_teacher(t) for t in config.distill_from)
    if config.mode is Mode.FINETUNE_ALL and config.pruned_from:
        return (config.pruned_from,)
    raise ConvertError(
        "--distill A needs a teacher: --distill-from RUN_OR_MODEL, or --finetune-all of a pruned "
        "run (convert.prune), whose unpruned run then teaches"
    )


def _teaching(config: RunConfig) -> tuple[float, tuple[str, ...], bool]:
    return config.distill, config.distill_from, config.distill_mirror


def _named(teachers: tuple[str, ...]) -> str | list[str] | None:
    """Teachers as config.json names them (one a string, several a list), for a message."""
    return (teachers[0] if len(teachers) == 1 else list(teachers)) if teachers else None


def resolve_teacher(teacher: str | Path) -> str:
    """A --distill-from value -> what the config records:
    a run folder's or a model file's absolute path."""
    text = str(teacher)
    if text in SHIPPED_MODELS or (looks_like_path(text) and text.lower().endswith(".tflite")):
        try:
            return str(resolve_model(text).resolve())
        except ModelError as exc:
            raise ConvertError(str(exc)) from exc
    if not (Path(text) / "config.json").is_file():
        raise ConvertError(
            f"{text}: not a training run (no config.json), a shipped model "
            f"({', '.join(SHIPPED_MODELS)}) or a .tflite"
        )
    return str(Path(text).resolve())


def targets(
    config: RunConfig, run_dir: Path, crops: np.ndarray, rows: np.ndarray, own: np.ndarray
) -> np.ndarray:
    """The training targets of a distilled run:
    distill x the teachers' mean chroma + (1 - distill) x own."""
    views = (False, True) if config.distill_mirror else (False,)
    uv = np.mean(
        [
            teacher_chroma(run_dir, teacher, crops, rows, config.chroma_size, mirrored=m, slot=i)
            for i, teacher in enumerate(config.distill_from)
            for m in views
        ],
        axis=0,
    )
    return config.distill * uv + (1 - config.distill) * own


def teacher_chroma(
    run_dir: Path,
    teacher_run: Path | str,
    crops: np.ndarray,
    rows: np.ndarray,
    chroma_size: int,
    mirrored: bool = False,
    slot: int = 0,
) -> np.ndarray:
    """A teacher's chroma for the training photos, computed once and kept in the run folder.

    The teacher sees each photo at its own input size, so a 224x224 run can teach a 112x112 one.
    slot: the teacher's place among several (its file is teacher_uv_N for N = slot + 1 > 1).
    mirrored: the teacher sees each photo's mirror image; its chroma is flipped back to the photo.
    A sidecar .json names the teacher and the photos, so a copied file is reused only where it
    fits (files copied before sidecars existed are checked by their length alone).
    """
    name = "teacher_uv" + (f"_{slot + 1}" if slot else "") + ("_mirrored" if mirrored else "")
    path, sidecar = run_dir / f"{name}.npy", run_dir / f"{name}.json"
    litert = str(teacher_run).endswith(".tflite")
    made_by = {
        "teacher": str(Path(teacher_run).resolve()),
        "photos": len(rows),
        "rows_sha256": hashlib.sha256(np.asarray(rows, np.int64).tobytes()).hexdigest(),
    }
    if litert:  # a model file or its card (a gain) can change under the same name
        made_by["teacher_sha256"] = sha256_of(Path(teacher_run))
        made_by["teacher_card_sha256"] = sha256_of(Path(teacher_run).with_suffix(".json"))
    if path.exists():
        uv = np.load(path, mmap_mode="r")
        recorded = json.loads(sidecar.read_text()) if sidecar.exists() else None
        if recorded == made_by or (recorded is None and len(uv) == len(rows)):
            return np.asarray(uv)
        print(
            f"{path} was made for other photos or another teacher ({recorded or len(uv)}): "
            "computing it again",
            file=sys.stderr,
        )
    view = "mirror images of the " if mirrored else ""
    print(
        f"the teacher {teacher_run} colorizes the {view}{len(rows)} training photos",
        file=sys.stderr,
    )
    uv = (_litert_chroma if litert else _run_chroma)(
        Path(teacher_run), crops, rows, chroma_size, mirrored
    )
    if mirrored:
        uv = np.ascontiguousarray(uv[:, :, ::-1])
    np.save(path, uv)
    sidecar.write_text(json.dumps(made_by, indent=2))
    return uv


def _run_chroma(
    teacher_run: Path, crops: np.ndarray, rows: np.ndarray, chroma_size: int, mirrored: bool
) -> np.ndarray:
    """A training run's float chroma for the photos (or their mirror images), in batches."""
    teacher, teacher_config = runs.load_inference_model(teacher_run)
    _check_chroma_size(teacher_run, teacher_config.chroma_size, chroma_size)
    photos = crops[rows][:, :, ::-1] if mirrored else crops[rows]
    ys = dataset.lumas(photos, teacher_config.input_size)
    return np.asarray(teacher.predict(ys, batch_size=32, verbose=0), np.float32)


def _litert_chroma(
    model_path: Path, crops: np.ndarray, rows: np.ndarray, chroma_size: int, mirrored: bool
) -> np.ndarray:
    """A LiteRT model's chroma for the photos, one at a time as the runtime sees them (no hints)."""
    model = Model(model_path)
    _check_chroma_size(model_path, model.card.chroma_size[0], chroma_size)
    uv = np.empty((len(rows), chroma_size, chroma_size, 2), np.float32)
    for i, row in enumerate(rows):
        crop = np.asarray(crops[row])
        luma = Image.fromarray(crop[:, ::-1] if mirrored else crop).convert("L")
        uv[i] = model.predict(np.asarray(model_view(luma, model.card.input_size), np.float32))
        if (i + 1) % 2000 == 0:
            print(f"  {i + 1}/{len(rows)} photos", file=sys.stderr, flush=True)
    return uv


def _check_chroma_size(teacher: Path, theirs: int, ours: int) -> None:
    if theirs != ours:
        raise ConvertError(
            f"the teacher {teacher} predicts {theirs}x{theirs} chroma, this run {ours}x{ours}"
        )
