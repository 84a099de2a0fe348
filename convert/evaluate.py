r"""Evaluate models on a folder of colour photos, beside the gray and oracle references.

Usage:
  python -m convert.evaluate PHOTO_DIR --model A.tflite [--model B.tflite ...] --out DIR
  python -m convert.evaluate CACHE --split tune --match /bsds/ --originals --model A.tflite \
         --out DIR
  python -m convert.evaluate CACHE --split tune --sample 1500 --model A.tflite \
         --out DIR   # per group too
  python -m convert.evaluate PHOTO_DIR --compression-study --out DIR

Protocol (shared/docs/metrics.md): each photo resized straight to 256x256, its luminance is
the input, the photo itself the reference. PSNR, SSIM, colourfulness (CF), dCF and Zhang's AuC
for every model, for "gray" (zero chroma: the floor) and for "oracle" (the truth's chroma through
the model's own chroma compression: the ceiling its output size allows). Writes results.md,
results.json and grid.png. --compression-study is the seed's Figure 4: how much chroma can be
discarded (oracle PSNR and CF at several chroma sizes), as compression.md and compression.png.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from colorize_core.color import luma_to_unit, merge, resize_chroma, split_8bit, to_uint8
from colorize_core.pipeline import Colorizer
from convert import command, dataset, metrics, semantic
from convert.errors import ConvertError, reports_errors

EVAL_SIZE = 256
STUDY_SIZES = (8, 16, 22, 33, 45, 56, 75, 112, 224)
# the training set's folders (shared/data/README.md)
# -> the groups every evaluation of a split reports
GROUPS = {
    "people": ("webfaces", "webfaces2", "utkfaces", "filmfaces", "streetfashion"),
    "rooms and houses": ("houses",),
    "scenes": ("scenes",),
    "ImageNet classes": ("imagenette",),
    "BSDS": ("bsds",),
}
OTHER_GROUP = "other"


def photo_group(source: str) -> str:
    """The group of a training-set photo, from the folder it came from
    (pets, PACS, Caltech-101: other)."""
    parts = Path(source).parts
    for group, folders in GROUPS.items():
        if any(f in parts for f in folders):
            return group
    return OTHER_GROUP


@dataclass(frozen=True)
class Selection:
    """Which photos are evaluated. Without a split: a folder's photos, the first `limit`. With a
    split of a prepared cache (folder = cache): its photos whose source path contains `match`
    (e.g. "/bsds/", the subset most like users' photos); with `clean`, only those no earlier
    shipped model trained on; a seeded random `sample` of them (a split is sorted by folder); the
    first `limit`; `originals` reads their source files (whole frames, as the Kodak protocol sees
    them) instead of the cached square crops."""

    split: str | None = None
    limit: int | None = None
    match: str | None = None
    sample: int | None = None
    clean: bool = False
    originals: bool = False

    def describe(self, folder: Path) -> str:
        """Where the photos came from, for a table's caption: a split's selection changes the
        scores, so the caption names every option that narrowed it."""
        if not self.split:
            return folder.name
        clean_note = " (clean: no earlier shipped model trained on them)" if self.clean else ""
        return (
            f"the {self.split} split of {folder}{clean_note}"
            + (f", source paths containing {self.match!r}" if self.match else "")
            + (f", a seeded sample of {self.sample}" if self.sample else "")
            + (", whole original frames" if self.originals else "")
        )


ALL_PHOTOS = Selection()  # a folder's photos, all of them


def _split_rows(folder: Path, selection: Selection) -> tuple[list[int], dict, np.ndarray]:
    """The cache rows of the selection's split, the cache index and its crops."""
    split, match = selection.split, selection.match
    crops, index = dataset.load(folder)
    candidates = dataset.clean_rows(index, split) if selection.clean else index["splits"][split]
    rows = [i for i in candidates if match is None or match in index["photos"][i]]
    if selection.sample is not None and selection.sample < len(rows):
        rows = np.random.default_rng(0).choice(rows, selection.sample, replace=False).tolist()
        rows = sorted(rows)
    rows = rows[: selection.limit]
    if not rows:
        raise ConvertError(f"no photos of the {split} split of {folder} match {match!r}")
    return rows, index, crops


def split_sources(folder: Path, selection: Selection) -> list[str]:
    """The source path of every photo load_eval_photos returns for the same selection (of a
    split), in its order."""
    rows, index, _ = _split_rows(folder, selection)
    return [index["photos"][i] for i in rows]


def split_groups(folder: Path, selection: Selection) -> list[str]:
    """photo_group of every photo load_eval_photos returns for the same selection, in its order."""
    return [photo_group(s) for s in split_sources(folder, selection)]


def load_eval_photos(
    folder: Path, size: int = EVAL_SIZE, selection: Selection = ALL_PHOTOS
) -> tuple[list[str], list[np.ndarray]]:
    """(names, photos resized straight to size x size) of the selection (see Selection)."""
    split = selection.split
    if split is not None:
        rows, index, crops = _split_rows(folder, selection)
        if selection.originals:
            paths = [dataset.original_path(index, i) for i in rows]
            return [f"{split}/{p.name}" for p in paths], [_load(p, size) for p in paths]
        return (
            [f"{split}/{i}" for i in rows],
            [
                np.asarray(
                    Image.fromarray(np.asarray(crops[i])).resize((size, size), Image.BICUBIC)
                )
                for i in rows
            ],
        )
    if selection != Selection(limit=selection.limit):
        raise ConvertError(
            "--match, --originals, --sample and --clean select within a --split of a cache"
        )
    paths = dataset.list_photos(folder)[: selection.limit]
    if not paths:
        raise ConvertError(f"no photos under {folder}")
    return [p.name for p in paths], [_load(p, size) for p in paths]


def _load(path: Path, size: int) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB").resize((size, size), Image.BICUBIC))


def compressed_chroma(
    truth: np.ndarray, chroma_size: tuple[int, int], model_input: tuple[int, int] = (224, 224)
) -> tuple[Image.Image, np.ndarray]:
    """(the truth's luminance, its chroma at chroma_size) as a model sees it: the chroma of the
    model_input view of the photo, compressed to the model's chroma (or hint) grid."""
    y_img, uv = split_8bit(Image.fromarray(truth))
    return y_img, resize_chroma(resize_chroma(uv, model_input), chroma_size)


def oracle(truth: np.ndarray, chroma_size: int, model_input: int = 224) -> np.ndarray:
    """The truth's chroma squeezed through a chroma_size compression,
    as the model's output would be.

    The model predicts chroma_size^2 values for a model_input^2 view of the photo, so the
    compression is applied at that scale and expanded back to the photo's size.
    """
    y_img, small = compressed_chroma(truth, (chroma_size, chroma_size), (model_input, model_input))
    return to_uint8(merge(luma_to_unit(np.asarray(y_img)), small))


def gray(truth: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(truth).convert("L").convert("RGB"))


def summarise(
    name: str, truths: list[np.ndarray], preds: list[np.ndarray], groups: list[str] | None = None
) -> dict:
    """Mean scores of a system over the photos; with groups, also per group (row["groups"][g])."""
    scores = [metrics.score(t, p) for t, p in zip(truths, preds, strict=True)]
    truth_cf = [metrics.colorfulness(t) for t in truths]
    row = _mean_row(name, scores, truth_cf, range(len(scores)))
    if groups is not None:
        row["groups"] = {
            g: _mean_row(name, scores, truth_cf, [i for i, x in enumerate(groups) if x == g])
            for g in sorted(set(groups), key=_group_order)
        }
    return row


def _mean_row(name: str, scores: list[dict], truth_cf: list[float], idx) -> dict:
    idx = list(idx)
    row = {k: float(np.mean([scores[i][k] for i in idx])) for k in scores[0]}
    row["dcf"] = abs(row["cf"] - float(np.mean([truth_cf[i] for i in idx])))
    row["name"], row["photos"] = name, len(idx)
    return row


def _group_order(group: str) -> int:
    order = list(GROUPS) + [OTHER_GROUP]
    return order.index(group) if group in order else len(order)


def evaluate(
    folder: Path,
    model_paths: list[Path],
    out: Path,
    *,
    strength: float = 1.0,
    grid_photos: int = 6,
    threads: int | None = None,
    selection: Selection = ALL_PHOTOS,
    semantic: bool = False,
) -> list[dict]:
    """Score every model beside gray, oracle and truth; a split is also reported per photo group.

    semantic: also the top-1 accuracy of an ImageNet classifier (convert.semantic) on the split's
    photos of known ImageNet class, for the gray inputs, each model's outputs and the truth.
    """
    names, truths = load_eval_photos(folder, selection=selection)
    sources = split_sources(folder, selection) if selection.split else None
    groups = [photo_group(s) for s in sources] if sources else None
    check = _semantic_check(sources) if semantic else None
    out.mkdir(parents=True, exist_ok=True)
    rows, columns = _score_systems(
        truths,
        model_paths,
        groups,
        check,
        strength=strength,
        threads=threads,
        grid_photos=grid_photos,
    )
    (out / "results.json").write_text(
        json.dumps(
            {"photos": names, "size": EVAL_SIZE, "strength": strength, "rows": rows}, indent=2
        )
    )
    source = selection.describe(folder)
    (out / "results.md").write_text(
        _results_markdown(rows, len(truths), source, strength, check is not None)
    )
    save_grid(columns, out / "grid.png")
    return rows


def _score_systems(
    truths: list[np.ndarray],
    model_paths: list[Path],
    groups: list[str] | None,
    check: Callable[[dict, list[np.ndarray]], None] | None,
    *,
    strength: float,
    threads: int | None,
    grid_photos: int,
) -> tuple[list[dict], dict[str, list[np.ndarray]]]:
    """The table's rows (gray, each model followed by its chroma size's oracle the first time that
    size comes, truth) and the grid's columns: every system is scored on the same photos, so the
    floor and ceiling bracket each model."""
    rows = [summarise("gray (floor)", truths, [gray(t) for t in truths], groups)]
    if check:
        check(rows[-1], [gray(t) for t in truths])
    columns = {"input (gray)": [gray(t) for t in truths[:grid_photos]]}
    for path in model_paths:
        c = Colorizer(path, threads=threads)
        chroma = c.model.card.chroma_size[0]
        preds = [
            np.asarray(c.colorize(Image.fromarray(t).convert("L"), strength=strength))
            for t in truths
        ]
        label = f"{c.model.card.name} ({c.model.card.quantization})"
        rows.append(summarise(label, truths, preds, groups))
        if check:
            check(rows[-1], preds)
        ceiling = f"oracle {chroma}x{chroma} (ceiling)"
        if ceiling not in {r["name"] for r in rows}:  # once per chroma size
            rows.append(summarise(ceiling, truths, [oracle(t, chroma) for t in truths], groups))
        columns[c.model.card.name] = preds[:grid_photos]
    rows.append(summarise("truth", truths, truths, groups))
    if check:
        check(rows[-1], truths)
    columns["truth"] = truths[:grid_photos]
    return rows, columns


def _results_markdown(
    rows: list[dict], photos: int, source: str, strength: float, semantic: bool
) -> str:
    """results.md: the table of all the photos, the classifier's table when it ran, then one table
    per photo group of a split (a mean over the split can hide a group a model fails on)."""
    text = markdown_table(
        rows, f"{photos} photos from {source}, {EVAL_SIZE}x{EVAL_SIZE}, strength {strength}"
    )
    if semantic:
        text += _semantic_table(rows)
    for g in rows[0].get("groups") or {}:
        text += "\n" + markdown_table(
            [r["groups"][g] for r in rows], f"{g}: {rows[0]['groups'][g]['photos']} photos"
        )
    return text


def _semantic_table(rows: list[dict]) -> str:
    """The classifier's top-1 per system, as a table of its own: it covers only the photos of
    known class, not all the photos of the main table."""
    return (
        "\n"
        + "\n".join(
            [
                f"ImageNet top-1 (EfficientNet-Lite0) on the {rows[0]['top1_photos']} "
                "photos of known class:\n",
                "| | top-1 |",
                "|---|---|",
            ]
            + [f"| {r['name']} | {100 * r['top1']:.1f}% |" for r in rows if "top1" in r]
        )
        + "\n"
    )


def _semantic_check(sources: list[str] | None):
    """A function adding the classifier's top-1 on the photos of known class to a row."""
    if not sources:
        raise ConvertError(
            "--semantic needs --split: the classes come from the cache's source folders"
        )
    classes = [semantic.imagenet_class(s) for s in sources]
    known = [i for i, c in enumerate(classes) if c is not None]
    if not known:
        raise ConvertError(
            "--semantic: no photo of a known ImageNet class (Imagenette folders) in this selection"
        )
    classifier = semantic.Classifier()

    def add(row: dict, photos: list[np.ndarray]) -> None:
        row["top1"] = semantic.accuracy(
            classifier, [photos[i] for i in known], [classes[i] for i in known]
        )
        row["top1_photos"] = len(known)

    return add


def markdown_table(rows: list[dict], caption: str) -> str:
    lines = [f"{caption}\n", "| | PSNR dB | SSIM | CF | dCF | AuC |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['cf']:.1f} | {r['dcf']:.1f} | "
            f"{r['auc']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def save_grid(columns: dict[str, list[np.ndarray]], path: Path, cell: int = 160) -> None:
    """Photos in rows, one column per system (titles on top)."""
    from PIL import ImageDraw

    names = list(columns)
    n = len(next(iter(columns.values())))
    grid = Image.new("RGB", (cell * len(names), 18 + cell * n), "white")
    draw = ImageDraw.Draw(grid)
    for j, name in enumerate(names):
        draw.text((j * cell + 4, 3), name[:26], fill="black")
        for i, img in enumerate(columns[name]):
            grid.paste(Image.fromarray(img).resize((cell, cell)), (j * cell, 18 + i * cell))
    grid.save(path)


def compression_study(folder: Path, out: Path) -> list[dict]:
    """The seed's Figure 4: oracle PSNR and CF when chroma is kept at each size (of 224)."""
    _, truths = load_eval_photos(folder)
    out.mkdir(parents=True, exist_ok=True)
    truth_cf = float(np.mean([metrics.colorfulness(t) for t in truths]))
    rows = []
    for s in STUDY_SIZES:
        preds = [oracle(t, s) for t in truths]
        rows.append(
            {
                "chroma_size": s,
                "discarded_pct": round(100 * (1 - s * s / 224**2), 1),
                "psnr": float(
                    np.mean([metrics.psnr(t, p) for t, p in zip(truths, preds, strict=True)])
                ),
                "cf": float(np.mean([metrics.colorfulness(p) for p in preds])),
            }
        )
    lines = [
        f"Oracle chroma round trip on {len(truths)} photos at {EVAL_SIZE}x{EVAL_SIZE} "
        f"(truth CF {truth_cf:.1f})\n",
        "| chroma size (of 224) | chroma discarded | PSNR dB | CF |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['chroma_size']}x{r['chroma_size']} | {r['discarded_pct']}% "
        f"| {r['psnr']:.2f} | {r['cf']:.1f} |"
        for r in rows
    ]
    (out / "compression.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["discarded_pct"] for r in rows], [r["psnr"] for r in rows], "-o")
    ax.set_xlabel("chroma discarded (%)")
    ax.set_ylabel("oracle PSNR (dB)")
    ax.set_title("How much chroma can go (seed Figure 4)")
    fig.tight_layout()
    fig.savefig(out / "compression.png", dpi=80)
    plt.close(fig)
    return rows


def _add_selection_arguments(ap: argparse.ArgumentParser) -> None:
    """Which photos of FOLDER to score: most options narrow a split of a convert.dataset cache, so
    they are declared together (in --help order)."""
    ap.add_argument(
        "--split",
        choices=("train", "tune", "test"),
        help="FOLDER is a cache from convert.dataset: evaluate on this split of it",
    )
    ap.add_argument("--limit", type=int, help="use only the first N photos")
    ap.add_argument(
        "--match", help="with --split: only photos whose source path contains this (e.g. /bsds/)"
    )
    ap.add_argument(
        "--originals",
        action="store_true",
        help="with --split: read the photos' source files (whole frames) "
        "instead of the cached crops",
    )
    ap.add_argument(
        "--sample",
        type=int,
        help="with --split: a seeded random sample of N of its photos (every group)",
    )
    ap.add_argument(
        "--clean",
        action="store_true",
        help="with --split: only the photos no earlier shipped model trained on "
        "(dataset.clean_rows)",
    )
    ap.add_argument(
        "--semantic",
        action="store_true",
        help="with --split: ImageNet top-1 of EfficientNet-Lite0 on the outputs "
        "against the gray inputs (the semantic extra)",
    )


@reports_errors
def main(argv: list[str] | None = None) -> int:
    ap = command.parser("convert.evaluate", __doc__)
    ap.add_argument(
        "folder", type=Path, help="folder of colour photos (e.g. ../shared/data/eval/kodak24)"
    )
    ap.add_argument(
        "--model", type=Path, action="append", default=[], help=".tflite with its card (repeatable)"
    )
    ap.add_argument("--out", type=Path, required=True, help="where to write the table and figures")
    ap.add_argument("--strength", type=float, default=1.0)
    _add_selection_arguments(ap)
    ap.add_argument(
        "--compression-study", action="store_true", help="the seed's Figure 4 experiment"
    )
    args = ap.parse_args(argv)
    if args.compression_study:
        compression_study(args.folder, args.out)
        print((args.out / "compression.md").read_text())
        return 0
    if not args.model:
        ap.error("give at least one --model (or --compression-study)")
    evaluate(
        args.folder,
        args.model,
        args.out,
        strength=args.strength,
        selection=Selection(
            split=args.split,
            limit=args.limit,
            match=args.match,
            sample=args.sample,
            clean=args.clean,
            originals=args.originals,
        ),
        semantic=args.semantic,
    )
    print((args.out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
