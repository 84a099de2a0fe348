"""Rebuild docs/images/tune_grid.png: clean tune photos, gray | each model | truth (256x256).

Usage: python docs/make_tune_grid.py CACHE --model OLD.tflite --model default [--photos 12]
CACHE is convert.dataset's cache of ../shared/data/train (not in the repository). The photos are
clean tune photos (no shipped model trained on them), taken in turn from each photo group and
each source folder, in the split's order: chosen before any model's output is seen.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from colorize_core import Colorizer
from convert import evaluate

OUT = Path(__file__).resolve().parent / "images" / "tune_grid.png"


def pick(sources: list[str], count: int) -> list[int]:
    """count indices, one group after another and one source folder after another within a group."""
    queues: dict[str, dict[str, list[int]]] = {}
    for i, s in enumerate(sources):
        queues.setdefault(evaluate.photo_group(s), {}).setdefault(Path(s).parent.name, []).append(i)
    picked: list[int] = []
    while len(picked) < count and any(any(q.values()) for q in queues.values()):
        for folders in queues.values():
            for folder in sorted(folders):
                if folders[folder] and len(picked) < count:
                    picked.append(folders[folder].pop(0))
                    break
    return picked


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument(
        "--model", action="append", required=True, help="shipped model name or .tflite (repeatable)"
    )
    ap.add_argument("--photos", type=int, default=12)
    args = ap.parse_args()
    selection = evaluate.Selection(split="tune", clean=True)
    sources = evaluate.split_sources(args.cache, selection)
    _, truths = evaluate.load_eval_photos(args.cache, selection=selection)
    truths = [truths[i] for i in pick(sources, args.photos)]
    columns = {"gray input": [evaluate.gray(t) for t in truths]}
    for model in args.model:
        c = Colorizer(model)
        columns[c.model.card.name] = [
            np.asarray(c.colorize(Image.fromarray(t).convert("L"))) for t in truths
        ]
    columns["truth"] = truths
    evaluate.save_grid(columns, OUT, cell=192)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
