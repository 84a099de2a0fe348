"""A colorization model: the .tflite file, loaded and checked against its model card (card.py).

The runtime hard-codes nothing about a model: everything comes from the card, and the file's
sha256 is checked at load, so a corrupt or mismatched model fails early with a message naming it.
A model may take colour hints as a second input; its card declares them.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from .card import ModelCard, ModelError
from .hints import empty as empty_hints
from .limits import check_threads
from .native_stderr import native_stderr_captured
from .shipped import DEFAULT_MODEL, SHIPPED_DIR, SHIPPED_MODELS
from .threads import hashing


def sha256_of(path: Path) -> str:
    """The file's sha256, hashed from a memory map in one call (outside the GIL throughout)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return hashlib.sha256().hexdigest()
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return hashlib.sha256(data).hexdigest()


def checksum(path: Path) -> "Future[str]":
    """The sha256 of a model file, hashed once per process and file version in a helper thread.

    A model's hash runs beside LiteRT's interpreter build, which holds the GIL for its ~40 ms, so
    it is ready when the build ends. Keyed by the file's identity and modification, so a replaced
    file is hashed again.
    """
    st = os.stat(path)
    key = (os.fspath(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _CHECKSUMS_LOCK:
        if key not in _CHECKSUMS:
            _CHECKSUMS[key] = hashing(sha256_of, path)
        return _CHECKSUMS[key]


_CHECKSUMS: dict[tuple, "Future[str]"] = {}
_CHECKSUMS_LOCK = threading.Lock()


def looks_like_path(model: str | os.PathLike) -> bool:
    """True when a --model argument names a file rather than a shipped model: it contains a
    folder separator or ends in .tflite."""
    text = os.fspath(model)
    return os.sep in text or (os.altsep or os.sep) in text or text.lower().endswith(".tflite")


def resolve_model(model: str | os.PathLike | None) -> Path:
    """A model argument -> its .tflite: None is the default, a shipped model's name is that
    shipped file (even if a file of that name is in the current folder: write ./NAME for it),
    anything else is a path."""
    if model is None:
        return DEFAULT_MODEL
    if os.fspath(model) in SHIPPED_MODELS and not looks_like_path(model):
        return SHIPPED_DIR / f"{os.fspath(model)}.tflite"
    path = Path(model)
    if not path.is_file():
        raise ModelError(
            f"{path}: model file not found (shipped models, by name: {', '.join(SHIPPED_MODELS)})"
        )
    return path


class Model:
    """A loaded, checked LiteRT model that maps luminance codes to compressed chroma."""

    def __init__(self, path: str | os.PathLike | None = None, *, threads: int | None = None):
        """path: a .tflite with its card, a shipped model's name ("default", "fast"), or None
        (default).

        threads: None for all cores, else 1 or more (ValueError otherwise)."""
        threads = check_threads(threads)
        path = resolve_model(path)
        if not path.is_file():
            raise ModelError(f"{path}: model file not found")
        self.card = ModelCard.read(path)
        # hashed while LiteRT builds the interpreter, checked before the model is used; a mismatch
        # is also the first word when LiteRT refuses the file
        digest = checksum(path)
        try:
            with native_stderr_captured() as captured:
                self._interp = make_interpreter(path, threads)
        except (ValueError, RuntimeError) as exc:
            self._check_sum(digest.result())
            detail = " ".join(captured.read().split())
            raise ModelError(
                f"{path}: LiteRT cannot load this model "
                f"({' '.join(filter(None, [str(exc), detail]))})"
            ) from exc
        self._check_sum(digest.result())
        self._lock = threading.Lock()
        self._in, self._hints = split_inputs(
            self._interp.get_input_details(), self.card.input_shape, path
        )
        self._out = self._interp.get_output_details()[0]
        cw, ch = self.card.chroma_size
        want = [self.card.input_shape, (1, ch, cw, 2)] + (
            [self.card.hint_shape] if self.card.takes_hints else []
        )
        got = [tuple(self._in["shape"]), tuple(self._out["shape"])]
        if self._hints is not None:
            got.append(tuple(self._hints["shape"]))
        if got != want:
            raise ModelError(
                f"{path}: tensor shapes {got} do not match the card's {want} (input, output, hints)"
            )

    def _check_sum(self, actual: str) -> None:
        if actual != self.card.sha256:
            raise ModelError(
                f"{self.card.path}: checksum mismatch (file {actual[:12]}..., card "
                f"{self.card.sha256[:12]}...): "
                "the model file is corrupt or does not belong to this card"
            )

    def predict(self, luma: np.ndarray, hints: np.ndarray | None = None) -> np.ndarray:
        """Luminance codes (H, W) at the card's input size, float 0..255 -> UV (h, w, 2) in [-1, 1].

        hints: a hint model's hint grid (colorize_core.hints; None: no hints); ModelError if given
        to a model without a hint input.
        """
        if hints is not None and self._hints is None:
            raise ModelError(f"{self.card.path}: this model takes no colour hints")
        x = np.asarray(luma, np.float32) * self.card.input_scale + self.card.input_offset
        x = np.repeat(x[None, :, :, None], self.card.input_channels, axis=-1)
        with self._lock:  # one interpreter, many batch threads: LiteRT runs one invoke at a time
            self._interp.set_tensor(self._in["index"], _quantize(x, self._in))
            if self._hints is not None:
                grid = hints if hints is not None else empty_hints(self.card.hint_grid)
                self._interp.set_tensor(self._hints["index"], _quantize(grid[None], self._hints))
            self._interp.invoke()
            out = _dequantize(self._interp.get_tensor(self._out["index"])[0], self._out)
        return np.clip(out * self.card.output_scale + self.card.output_offset, -1.0, 1.0)


def split_inputs(
    details: list[dict], luma_shape: tuple[int, ...], where: Path | str = "model"
) -> tuple[dict, dict | None]:
    """An interpreter's input details -> (the luminance input, the hint input or None), told apart
    by the luminance input's shape (the card declares it; tensor names are the converter's)."""
    luma = [d for d in details if tuple(d["shape"]) == tuple(luma_shape)]
    rest = [d for d in details if tuple(d["shape"]) != tuple(luma_shape)]
    if len(luma) != 1 or len(rest) > 1:
        raise ModelError(
            f"{where}: expected one luminance input of shape {tuple(luma_shape)} and at most one "
            f"hint input, got {[tuple(d['shape']) for d in details]}"
        )
    return luma[0], (rest[0] if rest else None)


def make_interpreter(model: Path | bytes, threads: int | None = None):
    """A LiteRT interpreter for a .tflite file or its bytes, tensors allocated: the one place the
    runtime, the conversion checks and the feature cache set LiteRT up."""
    from ai_edge_litert.interpreter import Interpreter

    source = (
        {"model_content": model}
        if isinstance(model, (bytes, bytearray))
        else {"model_path": str(model)}
    )
    interp = Interpreter(num_threads=threads or os.cpu_count() or 1, **source)
    interp.allocate_tensors()
    return interp


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    """Float input -> the tensor's dtype (integer inputs use the tensor's own scale and zero
    point)."""
    dtype = detail["dtype"]
    if np.issubdtype(dtype, np.floating):
        return x.astype(dtype)
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.rint(x / scale + zero), info.min, info.max).astype(dtype)


def _dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    if np.issubdtype(y.dtype, np.floating):
        return y.astype(np.float32)
    scale, zero = detail["quantization"]
    return (y.astype(np.float32) - zero) * scale
