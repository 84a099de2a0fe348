"""Distillation: a student run trained toward a teacher run's chroma instead of (or mixed with) the
photos' own. The teacher's chroma is computed once into the student's run folder, with a sidecar
naming the teacher and the photos, so that a copied file is reused only where it fits."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from convert import dataset, runs

TEACHING_KEYS = ("distill", "distill_from", "distill_mirror")


def configure(config: dict, previous: dict, run_dir: Path, distill: float, distill_from: Path | None,
              distill_mirror: bool) -> None:
    """Record the distillation in a new run's config, or SystemExit when it cannot be done or a resume
    would teach differently from the run's start."""
    if distill:
        if not 0 < distill <= 1 or config.get("finetune") != "all" or not config.get("pruned_from"):
            raise SystemExit("--distill A (0 < A <= 1) needs --finetune-all of a pruned run (convert.prune): "
                             "its unpruned run is the teacher")
        teacher = str(Path(distill_from).resolve()) if distill_from is not None else config["pruned_from"]
        config.update(distill=distill, distill_from=teacher)
        if distill_mirror:
            config["distill_mirror"] = True
    elif distill_from is not None or distill_mirror:
        raise SystemExit("--distill-from and --distill-mirror need --distill A")
    if previous and [previous.get(k) for k in TEACHING_KEYS] != [config.get(k) for k in TEACHING_KEYS]:
        mirror = " with mirrors" if previous.get("distill_mirror") else ""
        raise SystemExit(f"{run_dir} holds a run distilled {previous.get('distill') or 0} from "
                         f"{previous.get('distill_from')}{mirror}; resume it the same way, or train into a new folder")


def targets(config: dict, run_dir: Path, crops: np.ndarray, rows: np.ndarray, own: np.ndarray) -> np.ndarray:
    """The training targets of a distilled run: distill x the teacher's chroma + (1 - distill) x own."""
    teacher = Path(config["distill_from"])
    uv = teacher_chroma(run_dir, teacher, crops, rows, config["chroma_size"])
    if config.get("distill_mirror"):
        uv = (uv + teacher_chroma(run_dir, teacher, crops, rows, config["chroma_size"], mirrored=True)) / 2
    return config["distill"] * uv + (1 - config["distill"]) * own


def teacher_chroma(run_dir: Path, teacher_run: Path, crops: np.ndarray, rows: np.ndarray,
                   chroma_size: int, mirrored: bool = False) -> np.ndarray:
    """The teacher run's chroma for the training photos, computed once and kept in the run folder.

    The teacher sees each photo at its own input size, so a 224x224 run can teach a 112x112 one.
    mirrored: the teacher sees each photo's mirror image; its chroma is flipped back to the photo.
    A sidecar .json names the teacher and the photos, so a copied file is reused only where it
    fits (files copied before sidecars existed are checked by their length alone).
    """
    name = "teacher_uv_mirrored" if mirrored else "teacher_uv"
    path, sidecar = run_dir / f"{name}.npy", run_dir / f"{name}.json"
    made_by = {"teacher": str(Path(teacher_run).resolve()), "photos": len(rows),
               "rows_sha256": hashlib.sha256(np.asarray(rows, np.int64).tobytes()).hexdigest()}
    if path.exists():
        uv = np.load(path, mmap_mode="r")
        recorded = json.loads(sidecar.read_text()) if sidecar.exists() else None
        if recorded == made_by or (recorded is None and len(uv) == len(rows)):
            return np.asarray(uv)
        print(f"{path} was made for other photos or another teacher ({recorded or len(uv)}): computing it again",
              file=sys.stderr)
    teacher, teacher_config = runs.load_inference_model(teacher_run)
    if teacher_config["chroma_size"] != chroma_size:
        raise SystemExit(f"the teacher {teacher_run} predicts {teacher_config['chroma_size']}x"
                         f"{teacher_config['chroma_size']} chroma, this run {chroma_size}x{chroma_size}")
    view = "mirror images of the " if mirrored else ""
    print(f"the teacher {teacher_run} colorizes the {view}{len(rows)} training photos", file=sys.stderr)
    photos = crops[rows][:, :, ::-1] if mirrored else crops[rows]
    ys = dataset.lumas(photos, runs.input_size_of(teacher_config))
    uv = np.asarray(teacher.predict(ys, batch_size=32, verbose=0), np.float32)
    if mirrored:
        uv = np.ascontiguousarray(uv[:, :, ::-1])
    np.save(path, uv)
    sidecar.write_text(json.dumps(made_by, indent=2))
    return uv
