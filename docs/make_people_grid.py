"""Rebuild docs/images/people_grid.png: tune-split people photos, gray | each model | truth
(256x256).

Usage: python docs/make_people_grid.py CACHE [--model default ...] [--photos 6]
CACHE is convert.dataset's cache of ../shared/data/train (not in the repository). The photos are
the first of each people folder in the seeded 1,500-photo tune sample the models were chosen on,
then the next ones in its order: no model trained on them.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from colorize_core import Colorizer
from convert import evaluate

OUT = Path(__file__).resolve().parent / "images" / "people_grid.png"


def people(cache: Path, count: int) -> list[np.ndarray]:
    """count people photos of the tune sample, one per source folder first."""
    selection = evaluate.Selection(split="tune", sample=1500)
    _, truths = evaluate.load_eval_photos(cache, selection=selection)
    sources = evaluate.split_sources(cache, selection)
    picked, folders = [], set()
    candidates = [i for i, s in enumerate(sources) if evaluate.photo_group(s) == "people"]
    for i in candidates:  # one per folder first
        folder = Path(sources[i]).parent.name
        if folder not in folders:
            folders.add(folder)
            picked.append(i)
    picked += [i for i in candidates if i not in picked][: max(0, count - len(picked))]
    return [truths[i] for i in picked[:count]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument(
        "--model", action="append", help="shipped model name or .tflite (default: default)"
    )
    ap.add_argument("--photos", type=int, default=6)
    args = ap.parse_args()
    truths = people(args.cache, args.photos)
    columns = {"gray input": [evaluate.gray(t) for t in truths]}
    for model in args.model or ["default"]:
        c = Colorizer(model)
        columns[f"{model} model" if "/" not in model else c.model.card.name] = [
            np.asarray(c.colorize(Image.fromarray(t).convert("L"))) for t in truths
        ]
    columns["truth"] = truths
    evaluate.save_grid(columns, OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
