"""Prepare a photo folder for training: drop grayscale photos, crop to 224x224, split, cache.

Usage: python -m convert.dataset PHOTO_DIR --cache CACHE_DIR

The cache holds the 224x224 RGB crops as one uint8 array (`photos.npy`, memory-mapped later)
plus `index.json` (source paths, split of every photo, the folder's fingerprint). A photo's split
comes from a hash of its path inside the folder without its extension, so adding photos never
moves another photo between splits, and re-encoding one (JPEG to WebP) keeps it where it was.
A cache whose folder changed since it was made is rebuilt by `prepare` and refused by `load`.
Inputs (luminance) and targets (compressed chroma) are derived from the crops through
colorize_core's colour math, so that any chroma size can be trained from one cache.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from colorize_core.color import luma_to_unit, resize_chroma, split_8bit
from colorize_core.formats import PHOTO_SUFFIXES
from colorize_core.preprocess import center_crop_square, is_grayscale, model_view
from convert.errors import ConvertError, reports_errors

SPLIT_FRACTIONS = {"train": 0.7, "tune": 0.2, "test": 0.1}
SPLIT_RULE = "sha256 of the path inside the folder, without extension: 70/20/10"


class StaleCacheError(RuntimeError):
    """The photo folder changed after the cache was made: its rows no longer match the photos."""


def list_photos(folder: Path) -> list[Path]:
    """All photo files under `folder`, sorted, so a split is reproducible."""
    return sorted(
        p for p in Path(folder).rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file()
    )


def _prepare_one(path: Path, size: int) -> np.ndarray | None:
    """One photo -> its size x size RGB crop, or None when it is grayscale."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        if is_grayscale(im):
            return None
        return np.asarray(center_crop_square(im, size))


def split_of(relative: str | Path) -> str:
    """The split of a photo, from its path inside the photo folder without the extension: stable
    when photos are added or re-encoded, the same on every machine."""
    key = Path(relative).with_suffix("").as_posix().encode()
    u = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2.0**64
    edge = 0.0
    for split, fraction in SPLIT_FRACTIONS.items():
        edge += fraction
        if u < edge:
            return split
    return split


def split_rows(relatives: list[str]) -> dict[str, np.ndarray]:
    """Row indices of each split for photos listed by their paths inside the folder."""
    names = [split_of(r) for r in relatives]
    return {
        k: np.array([i for i, n in enumerate(names) if n == k], dtype=np.int64)
        for k in SPLIT_FRACTIONS
    }


def legacy_split_indices(n: int, seed: int = 838) -> dict[str, np.ndarray]:
    """The split before the hash rule: a seeded permutation of the sorted list (the models shipped
    before it trained on it; `clean_rows` uses it to find the photos they never saw)."""
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(n * SPLIT_FRACTIONS["train"]))
    n_tune = int(round(n * SPLIT_FRACTIONS["tune"]))
    return {
        "train": np.sort(order[:n_train]),
        "tune": np.sort(order[n_train : n_train + n_tune]),
        "test": np.sort(order[n_train + n_tune :]),
    }


# the photo sets earlier models trained on, by folder: each was split by legacy_split_indices over
# its sorted list (vgg16-ft5-hyper-mse-56-v4 and fast on the first, the hint model on the second)
LEGACY_SETS = {
    "13400": ("bsds", "imagenette", "scenes"),
    "24740": (
        "bsds",
        "imagenette",
        "scenes",
        "webfaces",
        "streetfashion",
        "utkfaces",
        "webfaces2",
        "filmfaces",
        "houses",
        "pacs",
        "pets",
        "caltech101",
    ),
}


def legacy_train_photos(folder: Path) -> set[str]:
    """Paths inside `folder`, without extension, that any earlier model's training split held."""
    folder = Path(folder)
    seen: set[str] = set()
    for folders in LEGACY_SETS.values():
        paths = sorted(p for p in list_photos(folder) if p.relative_to(folder).parts[0] in folders)
        train = legacy_split_indices(len(paths))["train"]
        seen.update(paths[i].relative_to(folder).with_suffix("").as_posix() for i in train)
    return seen


def clean_rows(index: dict, split: str = "tune") -> list[int]:
    """The rows of `split` that no earlier shipped model trained on:
    candidates are compared on these."""
    folder = Path(index["source"])
    seen = legacy_train_photos(folder)
    return [
        i
        for i in index["splits"][split]
        if Path(index["photos"][i]).relative_to(folder).with_suffix("").as_posix() not in seen
    ]


def fingerprint(folder: Path, paths: list[Path]) -> str:
    """A digest of the photo files (path inside the folder, size): changes when any is added,
    removed or re-encoded, not when the folder is copied (a copy gets new modification times)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(f"{Path(p).relative_to(folder).as_posix()}\t{p.stat().st_size}\n".encode())
    return h.hexdigest()


def _crop_photos(
    paths: list[Path], size: int, workers: int | None, progress: bool
) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Crop every photo in worker processes (decoding dominates a build); returns the crops of the
    colour photos, their resolved paths and the resolved paths of the grayscale ones dropped."""
    crops, kept, dropped = [], [], []
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        for i, (path, crop) in enumerate(
            zip(
                paths, pool.map(_prepare_one, paths, [size] * len(paths), chunksize=64), strict=True
            )
        ):
            (dropped if crop is None else kept).append(str(Path(path).resolve()))
            if crop is not None:
                crops.append(crop)
            if progress and (i + 1) % 500 == 0:
                print(
                    f"\rprepared {i + 1}/{len(paths)} photos", end="", file=sys.stderr, flush=True
                )
    if progress:
        print(file=sys.stderr)
    return crops, kept, dropped


def prepare(
    folder: Path,
    cache: Path,
    *,
    size: int = 224,
    workers: int | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> dict:
    """Build the cache for `folder`, or reuse it when the folder is unchanged; returns the index.

    A cache made from another folder, size or limit, or before the folder changed, is rebuilt
    (its feature caches then restart: convert.features checks the fingerprint too).
    """
    cache = Path(cache)
    index_path = cache / "index.json"
    folder = Path(folder).resolve()
    paths = list_photos(folder)[:limit]
    if not paths:
        raise ValueError(f"no photos found under {folder}")
    digest = fingerprint(folder, paths)
    if index_path.exists():
        index = json.loads(index_path.read_text())
        if (index["source"], index["size"], index.get("limit"), index.get("fingerprint")) == (
            str(folder),
            size,
            limit,
            digest,
        ):
            return index
        if progress:
            print(
                f"{cache}: made from another folder, size or version of the photos; rebuilding it",
                file=sys.stderr,
            )
    cache.mkdir(parents=True, exist_ok=True)
    crops, kept, dropped = _crop_photos(paths, size, workers, progress)
    np.save(cache / "photos.npy", np.stack(crops))
    splits = split_rows([os.path.relpath(p, folder) for p in kept])
    index = {
        "source": str(folder),
        "size": size,
        "limit": limit,
        "fingerprint": digest,
        "split_rule": SPLIT_RULE,
        "photos": kept,
        "dropped_grayscale": dropped,
        "splits": {k: v.tolist() for k, v in splits.items()},
    }
    index_path.write_text(json.dumps(index))
    return index


def load(cache: Path, *, check: bool = True) -> tuple[np.ndarray, dict]:
    """The cached crops (memory-mapped, N x size x size x 3 uint8) and the index.

    check: refuse (StaleCacheError) a cache whose photo folder changed since it was made, or one
    made before splits came from path hashes; False reads it anyway (inspecting an old cache).
    """
    cache = Path(cache)
    index = json.loads((cache / "index.json").read_text())
    if check:
        stale = index.get("split_rule") != SPLIT_RULE
        if not stale and Path(index["source"]).is_dir():
            source = Path(index["source"])
            stale = (
                fingerprint(source, list_photos(source)[: index.get("limit")])
                != index["fingerprint"]
            )
        if stale:
            raise StaleCacheError(
                f"{cache}: made from an older version of {index['source']} or an older split rule; "
                f"run `python -m convert.dataset {index['source']} --cache {cache}` to rebuild it"
            )
    return np.load(cache / "photos.npy", mmap_mode="r"), index


def original_path(index: dict, i: int) -> Path:
    """The source file of cached photo i (caches made before paths were stored resolved hold
    them relative to the directory convert.dataset ran in)."""
    path = Path(index["photos"][i])
    if not path.exists():
        raise ConvertError(
            f"{path}: photo {i} of the cache is not there (run from the directory "
            f"convert.dataset ran in, or prepare the cache again)"
        )
    return path


def lumas(crops: np.ndarray, size: int | None = None) -> np.ndarray:
    """RGB crops (N, S, S, 3) uint8 -> model inputs y (N, s, s, 1) in [-1, 1]
    (Pillow's BT.601 luma).

    size: the model's input side s when it is not the crops' S (resized as the runtime does).
    """
    s = size or crops.shape[1]
    ys = np.empty((len(crops), s, s, 1), np.float32)
    for i, crop in enumerate(crops):
        luma = Image.fromarray(np.asarray(crop)).convert("L")
        ys[i, ..., 0] = luma_to_unit(
            np.asarray(luma if s == luma.width else model_view(luma, (s, s)))
        )
    return ys


def chroma_targets(crops: np.ndarray, chroma_size: int) -> np.ndarray:
    """RGB crops (N, S, S, 3) uint8 -> compressed UV targets (N, c, c, 2) in [-1, 1]."""
    uvs = np.empty((len(crops), chroma_size, chroma_size, 2), np.float32)
    for i, crop in enumerate(crops):
        uvs[i] = resize_chroma(
            split_8bit(Image.fromarray(np.asarray(crop)))[1], (chroma_size, chroma_size)
        )
    return uvs


@reports_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m convert.dataset", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("folder", type=Path, help="folder of colour photos (searched recursively)")
    ap.add_argument("--cache", type=Path, required=True, help="where to write the prepared arrays")
    ap.add_argument("--size", type=int, default=224, help="crop size (default 224)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N photos")
    args = ap.parse_args(argv)
    try:
        index = prepare(args.folder, args.cache, size=args.size, limit=args.limit)
    except ValueError as e:
        ap.error(str(e))
    counts = {k: len(v) for k, v in index["splits"].items()}
    print(
        f"{len(index['photos'])} colour photos kept, "
        f"{len(index['dropped_grayscale'])} grayscale dropped; "
        f"split {counts}; cache {args.cache}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
