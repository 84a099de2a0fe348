"""Prepare a photo folder for training: drop grayscale photos, crop to 224x224, split, cache.

Usage: python -m convert.dataset PHOTO_DIR --cache CACHE_DIR

The cache holds the 224x224 RGB crops as one uint8 array (`photos.npy`, memory-mapped later)
plus `index.json` (source paths, split of every photo, the seed). Inputs (luminance) and targets
(compressed chroma) are derived from the crops through colorize_core's colour math, so that
any chroma size can be trained from one cache.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from colorize_core.color import compress_chroma, luma_to_unit, split_8bit
from colorize_core.formats import PHOTO_SUFFIXES
from colorize_core.preprocess import center_crop_square, is_grayscale, model_view

SPLITS = ("train", "tune", "test")
SPLIT_FRACTIONS = (0.7, 0.2, 0.1)


def list_photos(folder: Path) -> list[Path]:
    """All photo files under `folder`, sorted, so a split is reproducible."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())


def _prepare_one(path: Path, size: int) -> np.ndarray | None:
    """One photo -> its size x size RGB crop, or None when it is grayscale."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        if is_grayscale(im):
            return None
        return np.asarray(center_crop_square(im, size))


def split_indices(n: int, seed: int = 838) -> dict[str, np.ndarray]:
    """Seeded 70/20/10 split of n items into train/tune/test index arrays."""
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(n * SPLIT_FRACTIONS[0]))
    n_tune = int(round(n * SPLIT_FRACTIONS[1]))
    return {"train": np.sort(order[:n_train]), "tune": np.sort(order[n_train:n_train + n_tune]),
            "test": np.sort(order[n_train + n_tune:])}


def prepare(folder: Path, cache: Path, *, size: int = 224, seed: int = 838, workers: int | None = None,
            limit: int | None = None, progress: bool = True) -> dict:
    """Build (or reuse) the cache for `folder`; returns the index."""
    cache = Path(cache)
    index_path = cache / "index.json"
    if index_path.exists():
        index = json.loads(index_path.read_text())
        if index["source"] == str(Path(folder).resolve()) and index["size"] == size and index["seed"] == seed \
                and index.get("limit") == limit:
            return index
    paths = list_photos(folder)[:limit]
    if not paths:
        raise SystemExit(f"no photos found under {folder}")
    cache.mkdir(parents=True, exist_ok=True)
    crops, kept, dropped = [], [], []
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        for i, (path, crop) in enumerate(zip(paths, pool.map(_prepare_one, paths, [size] * len(paths), chunksize=64))):
            (dropped if crop is None else kept).append(str(Path(path).resolve()))
            if crop is not None:
                crops.append(crop)
            if progress and (i + 1) % 500 == 0:
                print(f"\rprepared {i + 1}/{len(paths)} photos", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    np.save(cache / "photos.npy", np.stack(crops))
    splits = split_indices(len(kept), seed)
    index = {"source": str(Path(folder).resolve()), "size": size, "seed": seed, "limit": limit,
             "photos": kept, "dropped_grayscale": dropped,
             "splits": {k: v.tolist() for k, v in splits.items()}}
    index_path.write_text(json.dumps(index))
    return index


def load(cache: Path) -> tuple[np.ndarray, dict]:
    """The cached crops (memory-mapped, N x size x size x 3 uint8) and the index."""
    cache = Path(cache)
    return np.load(cache / "photos.npy", mmap_mode="r"), json.loads((cache / "index.json").read_text())


def original_path(index: dict, i: int) -> Path:
    """The source file of cached photo i (caches made before paths were stored resolved hold
    them relative to the directory convert.dataset ran in)."""
    path = Path(index["photos"][i])
    if not path.exists():
        raise SystemExit(f"{path}: photo {i} of the cache is not there (run from the directory "
                         f"convert.dataset ran in, or prepare the cache again)")
    return path


def lumas(crops: np.ndarray, size: int | None = None) -> np.ndarray:
    """RGB crops (N, S, S, 3) uint8 -> model inputs y (N, s, s, 1) in [-1, 1] (Pillow's BT.601 luma).

    size: the model's input side s when it is not the crops' S (resized as the runtime does).
    """
    s = size or crops.shape[1]
    ys = np.empty((len(crops), s, s, 1), np.float32)
    for i, crop in enumerate(crops):
        luma = Image.fromarray(np.asarray(crop)).convert("L")
        ys[i, ..., 0] = luma_to_unit(np.asarray(luma if s == luma.width else model_view(luma, (s, s))))
    return ys


def chroma_targets(crops: np.ndarray, chroma_size: int) -> np.ndarray:
    """RGB crops (N, S, S, 3) uint8 -> compressed UV targets (N, c, c, 2) in [-1, 1]."""
    uvs = np.empty((len(crops), chroma_size, chroma_size, 2), np.float32)
    for i, crop in enumerate(crops):
        uvs[i] = compress_chroma(split_8bit(Image.fromarray(np.asarray(crop)))[1], (chroma_size, chroma_size))
    return uvs


def inputs_and_targets(crops: np.ndarray, chroma_size: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB crops (N, S, S, 3) uint8 -> Y inputs (N, S, S, 1) in [-1, 1] and UV targets (N, c, c, 2).

    The inputs are `lumas` (the runtime's luma), not the YCbCr Y, which Pillow rounds differently.
    """
    return lumas(crops), chroma_targets(crops, chroma_size)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m convert.dataset", description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="folder of colour photos (searched recursively)")
    ap.add_argument("--cache", type=Path, required=True, help="where to write the prepared arrays")
    ap.add_argument("--size", type=int, default=224, help="crop size (default 224)")
    ap.add_argument("--seed", type=int, default=838, help="split seed (default 838)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N photos")
    args = ap.parse_args(argv)
    index = prepare(args.folder, args.cache, size=args.size, seed=args.seed, limit=args.limit)
    counts = {k: len(v) for k, v in index["splits"].items()}
    print(f"{len(index['photos'])} colour photos kept, {len(index['dropped_grayscale'])} grayscale dropped; "
          f"split {counts}; cache {args.cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
