"""How much colour hints help: PSNR and colourfulness against the number of hint points.

Usage:
  python -m convert.hint_curve --model hints.tflite --photos ../shared/data/eval/kodak24 \
      --cache CACHE --split tune --group people --sample 1500 --out DIR

For each photo (the 256x256 protocol of convert.evaluate) and each count n in POINTS, n points
are drawn at seeded random places on the model's chroma grid, each revealing the truth's mean
chroma over a 3x3-cell patch (about 12x12 pixels of a 224x224 view: a brush dot), and the model
colorizes the luminance with them. n = 0 is the same model without hints. Writes hints.md,
hints.json, hints.png (one curve per photo set) and hints_grid.png (photos of the last set: gray,
no dots, 5 dots, truth).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from colorize_core.color import luma_to_unit, merge, resize_chroma, to_uint8
from colorize_core.model import Model
from colorize_core.pipeline import Colorizer
from convert import command, evaluate, metrics
from convert.errors import ConvertError, reports_errors
from convert.hints import simulate

POINTS = (0, 1, 2, 5, 10, 20)
PATCH_HALF = 1  # 3x3 cells of the 56x56 grid


def truth_hints(truth: np.ndarray, model: Model, n: int, seed) -> np.ndarray:
    """n simulated dots (3x3-cell patches of the truth's mean chroma) at seeded places: the grid."""
    _, uv = evaluate.compressed_chroma(truth, model.card.hint_grid, model.card.input_size)
    return simulate(uv, np.random.default_rng(seed), n_points=n, half=PATCH_HALF)


def colorize_with(colorizer: Colorizer, truth: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The truth's luminance colorized as the runtime does with a hint grid, uint8 RGB."""
    luma = Image.fromarray(truth).convert("L")
    uv = colorizer.chroma_with_grid(luma, grid)
    return to_uint8(merge(luma_to_unit(np.asarray(luma)), resize_chroma(uv, luma.size)))


def curve(
    colorizer: Colorizer, truths: list[np.ndarray], points=POINTS, seed: int = 0
) -> list[dict]:
    """Mean PSNR and CF of the hint model's colorizations at each hint count (seeded per photo and
    count; 0 is the same model without hints)."""
    model = colorizer.hint_model()
    rows = []
    for n in points:
        scores = []
        for k, truth in enumerate(truths):
            pred = colorize_with(colorizer, truth, truth_hints(truth, model, n, (seed, k, n)))
            scores.append((metrics.psnr(truth, pred), metrics.colorfulness(pred)))
        psnr, cf = np.mean(scores, axis=0)
        rows.append({"points": n, "psnr": float(psnr), "cf": float(cf), "photos": len(truths)})
    return rows


# distance from the dot, in cells of the 56x56 grid
SPREAD_RINGS = ((0, 2), (3, 8), (9, 16), (17, 80))


def spread(colorizer: Colorizer, truths: list[np.ndarray], seed: int = 0) -> list[dict]:
    """How far one dot's colour reaches: the mean change of the chroma (|delta uv| on the grid,
    against no hint) in rings of distance from the dot, averaged over the photos."""
    model = colorizer.hint_model()
    sums = np.zeros(len(SPREAD_RINGS))
    for k, truth in enumerate(truths):
        luma = Image.fromarray(truth).convert("L")
        grid = truth_hints(truth, model, 1, (seed, k))
        delta = np.linalg.norm(
            colorizer.chroma_with_grid(luma, grid) - colorizer.chroma_with_grid(luma, grid * 0),
            axis=-1,
        )
        ys, xs = np.nonzero(grid[..., 2] > 0)
        yy, xx = np.mgrid[0 : delta.shape[0], 0 : delta.shape[1]]
        dist = np.hypot(yy - ys.mean(), xx - xs.mean())
        sums += [delta[(dist >= lo) & (dist <= hi + 0.5)].mean() for lo, hi in SPREAD_RINGS]
    return [
        {"cells": f"{lo}-{hi}", "mean_delta_uv": float(v / len(truths))}
        for (lo, hi), v in zip(SPREAD_RINGS, sums, strict=True)
    ]


FAR = 1 / 3  # "far from a dot": beyond this share of the photo's long side
FAR_STREAM = 9001  # a seed word of its own, so the far dot is not one of the curve's dots


def far_change(colorizer: Colorizer, truths: list[np.ndarray], seed: int = 0) -> dict:
    """What one dot does far from itself: the mean |RGB change| in 8-bit levels (against no hint)
    over the pixels farther than FAR x the long side from the dot, averaged over the photos; and
    the largest photo's mean. A hint should recolour its object, not the whole photo."""
    model = colorizer.hint_model()
    means = []
    for k, truth in enumerate(truths):
        grid = truth_hints(truth, model, 1, (seed, k, FAR_STREAM))
        delta = np.abs(
            colorize_with(colorizer, truth, grid).astype(np.float32)
            - colorize_with(colorizer, truth, grid * 0)
        ).mean(-1)
        gh, gw = grid.shape[:2]
        ys, xs = np.nonzero(grid[..., 2] > 0)
        cy, cx = (ys.mean() + 0.5) * truth.shape[0] / gh, (xs.mean() + 0.5) * truth.shape[1] / gw
        yy, xx = np.mgrid[0 : truth.shape[0], 0 : truth.shape[1]]
        far = np.hypot(yy - cy, xx - cx) > FAR * max(truth.shape[:2])
        if far.any():
            means.append(float(delta[far].mean()))
    return {
        "mean_levels": float(np.mean(means)),
        "max_photo_levels": float(np.max(means)),
        "photos": len(means),
    }


GRID_POINTS = 5


def grid_columns(
    colorizer: Colorizer, truths: list[np.ndarray], seed: int = 0
) -> dict[str, list[np.ndarray]]:
    """A figure's columns: the gray input, the hint model without dots, with GRID_POINTS dots (their
    patches outlined in white), and the truth."""
    from PIL import ImageDraw

    model = colorizer.hint_model()
    columns = {"gray input": [], "no dots": [], f"{GRID_POINTS} dots (outlined)": [], "truth": []}
    for k, truth in enumerate(truths):
        grid = truth_hints(truth, model, GRID_POINTS, (seed, k, GRID_POINTS))
        marked = Image.fromarray(colorize_with(colorizer, truth, grid))
        draw = ImageDraw.Draw(marked)
        gw, gh = model.card.hint_grid
        sx, sy = marked.width / gw, marked.height / gh
        for i, j in zip(*np.nonzero(grid[..., 2] > 0), strict=True):
            draw.rectangle(
                [j * sx, i * sy, (j + 1) * sx - 1, (i + 1) * sy - 1], outline=(255, 255, 255)
            )
        columns["gray input"].append(evaluate.gray(truth))
        columns["no dots"].append(colorize_with(colorizer, truth, grid * 0))
        columns[f"{GRID_POINTS} dots (outlined)"].append(np.asarray(marked))
        columns["truth"].append(truth)
    return columns


def people_photos(cache: Path, split: str, group: str, sample: int | None) -> list[np.ndarray]:
    """A split's photos (a seeded sample) of one group (convert.evaluate.GROUPS), 256x256."""
    selection = evaluate.Selection(split=split, sample=sample)
    names, truths = evaluate.load_eval_photos(cache, selection=selection)
    groups = evaluate.split_groups(cache, selection)
    chosen = [t for t, g in zip(truths, groups, strict=True) if g == group]
    if not chosen:
        raise ConvertError(f"no {group} photos in the {split} split of {cache}")
    return chosen


def plot(sets: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for name, rows in sets.items():
        xs = [r["points"] for r in rows]
        axes[0].plot(xs, [r["psnr"] for r in rows], "-o", label=name)
        axes[1].plot(xs, [r["cf"] for r in rows], "-o", label=name)
    for ax, label in zip(axes, ("PSNR (dB)", "colourfulness"), strict=True):
        ax.set_xlabel("hint points")
        ax.set_ylabel(label)
        ax.legend()
    axes[0].set_title("Colour hints: PSNR")
    axes[1].set_title("Colour hints: colourfulness")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def markdown(
    sets: dict[str, list[dict]],
    model_name: str,
    spreads: dict[str, list[dict]] | None = None,
    spread_params: tuple[float, float] | None = None,
    fars: dict[str, dict] | None = None,
) -> str:
    how = (
        f"corrections spread by hints.propagate (reach {spread_params[0]:g}, "
        f"edge {spread_params[1]:g})"
        if spread_params
        else "the network alone (no spreading)"
    )
    lines = [
        f"Model {model_name}, {how}: each point reveals the truth's mean chroma "
        "over a 3x3-cell patch of the 56x56 grid, at a seeded random place; 256x256 protocol.\n",
        "| photos | " + " | ".join(f"{n} points" for n in POINTS) + " |",
        "|---|" + "---|" * len(POINTS),
    ]
    for name, rows in sets.items():
        gain = [r["psnr"] - rows[0]["psnr"] for r in rows]
        lines.append(
            f"| {name} ({rows[0]['photos']}) PSNR dB | "
            + " | ".join(
                f"{r['psnr']:.2f}" + (f" ({g:+.2f})" if r["points"] else "")
                for r, g in zip(rows, gain, strict=True)
            )
            + " |"
        )
        lines.append(f"| {name} CF | " + " | ".join(f"{r['cf']:.1f}" for r in rows) + " |")
    if spreads:
        rings = [r["cells"] for r in next(iter(spreads.values()))]
        lines += [
            "",
            "How far one dot reaches: mean change of the predicted chroma |delta uv| "
            "(against no hint), by distance from the dot in cells of the 56x56 grid:\n",
            "| photos | " + " | ".join(f"{c} cells" for c in rings) + " |",
            "|---|" + "---|" * len(rings),
        ]
        lines += [
            f"| {name} | " + " | ".join(f"{r['mean_delta_uv']:.3f}" for r in rows) + " |"
            for name, rows in spreads.items()
        ]
    if fars:
        lines += [
            "",
            f"Far from one dot (beyond {FAR:.2g} of the long side): "
            "mean |RGB change| against no hint, 8-bit levels:\n",
            "| photos | mean | largest photo |",
            "|---|---|---|",
        ]
        lines += [
            f"| {name} | {f['mean_levels']:.2f} | {f['max_photo_levels']:.2f} |"
            for name, f in fars.items()
        ]
    return "\n".join(lines) + "\n"


def _measure(
    colorizer: Colorizer, photo_sets: dict[str, list[np.ndarray]]
) -> tuple[dict[str, list[dict]], dict[str, list[dict]], dict[str, dict]]:
    """Each photo set's curve, one dot's reach and its far change, by set name; each set's numbers
    go to stderr as soon as they are known, since a large set takes long."""
    sets, spreads, fars = {}, {}, {}
    for name, truths in photo_sets.items():
        sets[name], spreads[name] = curve(colorizer, truths), spread(colorizer, truths)
        fars[name] = far_change(colorizer, truths)
        print(
            name,
            json.dumps(sets[name]),
            json.dumps(spreads[name]),
            json.dumps(fars[name]),
            file=sys.stderr,
        )
    return sets, spreads, fars


@reports_errors
def main(argv: list[str] | None = None) -> int:
    ap = command.parser("convert.hint_curve", __doc__)
    ap.add_argument(
        "--model", type=Path, required=True, help="a hint model (.tflite with its card)"
    )
    ap.add_argument(
        "--photos",
        type=Path,
        action="append",
        default=[],
        help="a folder of colour photos (repeatable)",
    )
    ap.add_argument(
        "--cache", type=Path, help="a cache from convert.dataset: also its --split's --group photos"
    )
    ap.add_argument("--split", default="tune", choices=("train", "tune", "test"))
    ap.add_argument("--group", default="people", help="photo group of the split (default people)")
    ap.add_argument(
        "--sample", type=int, help="a seeded sample of N photos of the split, then the group's"
    )
    ap.add_argument(
        "--grid",
        type=int,
        default=6,
        help="photos in hints_grid.png (evenly spread over the last set: the --group's)",
    )
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    colorizer = Colorizer(args.model)
    model = colorizer.model
    if not model.card.takes_hints:
        raise ConvertError(f"{args.model}: not a hint model (its card has no hints input)")
    photo_sets = {folder.name: evaluate.load_eval_photos(folder)[1] for folder in args.photos}
    if args.cache:
        photo_sets[f"{args.split} {args.group}"] = people_photos(
            args.cache, args.split, args.group, args.sample
        )
    sets, spreads, fars = _measure(colorizer, photo_sets)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hints.json").write_text(
        json.dumps(
            {"model": model.card.name, "sets": sets, "spread": spreads, "far": fars}, indent=2
        )
    )
    (args.out / "hints.md").write_text(
        markdown(sets, model.card.name, spreads, model.card.hint_spread, fars)
    )
    plot(sets, args.out / "hints.png")
    name, truths = list(photo_sets.items())[-1]
    picks = truths[:: max(1, len(truths) // args.grid)][
        : args.grid
    ]  # spread over the set's folders
    evaluate.save_grid(grid_columns(colorizer, picks), args.out / "hints_grid.png", cell=192)
    print((args.out / "hints.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
