"""A colorization model: the .tflite file and the model card (JSON) beside it.

The runtime hard-codes nothing about a model: input size and normalisation, chroma size and
scaling, colour space and quantization all come from the card, and the file's sha256 is
checked at load, so a corrupt or mismatched model fails early with a message naming it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .limits import check_threads

CARD_FORMAT = "colorize-core model card 1"
COLOR_SPACE = "YUV BT.601 full range (JPEG YCbCr), each channel scaled to [-1, 1]"
SHIPPED_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL = SHIPPED_DIR / "default.tflite"
# the shipped models, by the name the CLI, the API and the GIMP plug-in accept for --model
SHIPPED_MODELS = {"default": "VGG16 sees the photo at 224x224; the better colours on photos like the training set",
                  "fast": "about 6x faster, colours about as good (a pruned VGG16 sees the photo at 112x112)"}


class ModelError(Exception):
    """The model file or its card is missing, corrupt or does not match."""


@dataclass(frozen=True)
class ModelCard:
    """What the runtime needs to know about a model (read from its JSON card)."""
    path: Path
    name: str
    sha256: str
    input_size: tuple[int, int]      # (width, height)
    input_channels: int
    input_scale: float               # model input = luminance code (0..255) * scale + offset
    input_offset: float
    chroma_size: tuple[int, int]     # (width, height) of the predicted U, V
    output_scale: float              # uv in [-1, 1] = model output * scale + offset
    output_offset: float
    quantization: str
    raw: dict

    @classmethod
    def read(cls, model_path: Path) -> "ModelCard":
        card_path = Path(model_path).with_suffix(".json")
        if not card_path.is_file():
            raise ModelError(f"{model_path}: no model card {card_path.name} beside the model file")
        try:
            raw = json.loads(card_path.read_text())
            if raw.get("format") != CARD_FORMAT:
                raise ModelError(f"{card_path}: not a colorize-core model card (format {raw.get('format')!r})")
            if raw["color_space"] != COLOR_SPACE:
                raise ModelError(f"{card_path}: unsupported colour space {raw['color_space']!r}")
            inp, out = raw["input"], raw["output"]
            return cls(path=Path(model_path), name=raw["name"], sha256=raw["sha256"],
                       input_size=(int(inp["width"]), int(inp["height"])), input_channels=int(inp["channels"]),
                       input_scale=float(inp["scale"]), input_offset=float(inp["offset"]),
                       chroma_size=(int(out["width"]), int(out["height"])),
                       output_scale=float(out["scale"]), output_offset=float(out["offset"]),
                       quantization=raw["quantization"], raw=raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{card_path}: malformed model card ({type(exc).__name__}: {exc})") from exc


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
        raise ModelError(f"{path}: model file not found (shipped models, by name: {', '.join(SHIPPED_MODELS)})")
    return path


class Model:
    """A loaded, checked LiteRT model that maps luminance codes to compressed chroma."""

    def __init__(self, path: str | os.PathLike | None = None, *, threads: int | None = None):
        """path: a .tflite with its card, a shipped model's name ("default", "fast"), or None (default).

        threads: None for all cores, else 1 or more (ValueError otherwise)."""
        threads = check_threads(threads)
        path = resolve_model(path)
        if not path.is_file():
            raise ModelError(f"{path}: model file not found")
        self.card = ModelCard.read(path)
        actual = sha256_of(path)
        if actual != self.card.sha256:
            raise ModelError(f"{path}: checksum mismatch (file {actual[:12]}..., card {self.card.sha256[:12]}...): "
                             "the model file is corrupt or does not belong to this card")
        try:
            with _native_stderr_captured() as captured:
                self._interp = make_interpreter(path, threads)
        except (ValueError, RuntimeError) as exc:
            detail = " ".join(captured.read().split())
            raise ModelError(f"{path}: LiteRT cannot load this model ({' '.join(filter(None, [str(exc), detail]))})") from exc
        self._lock = threading.Lock()
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        w, h = self.card.input_size
        cw, ch = self.card.chroma_size
        want_in, want_out = (1, h, w, self.card.input_channels), (1, ch, cw, 2)
        if tuple(self._in["shape"]) != want_in or tuple(self._out["shape"]) != want_out:
            raise ModelError(f"{path}: tensor shapes {tuple(self._in['shape'])} -> {tuple(self._out['shape'])} "
                             f"do not match the card's {want_in} -> {want_out}")

    def predict(self, luma: np.ndarray) -> np.ndarray:
        """Luminance codes (H, W) at the card's input size, float 0..255 -> UV (h, w, 2) in [-1, 1]."""
        x = np.asarray(luma, np.float32) * self.card.input_scale + self.card.input_offset
        x = np.repeat(x[None, :, :, None], self.card.input_channels, axis=-1)
        with self._lock:  # one interpreter, many batch threads: LiteRT runs one invoke at a time
            self._interp.set_tensor(self._in["index"], _quantize(x, self._in))
            self._interp.invoke()
            out = _dequantize(self._interp.get_tensor(self._out["index"])[0], self._out)
        return np.clip(out * self.card.output_scale + self.card.output_offset, -1.0, 1.0)


def make_interpreter(model: Path | bytes, threads: int | None = None):
    """A LiteRT interpreter for a .tflite file or its bytes, tensors allocated: the one place the
    runtime, the conversion checks and the feature cache set LiteRT up."""
    from ai_edge_litert.interpreter import Interpreter
    source = {"model_content": model} if isinstance(model, (bytes, bytearray)) else {"model_path": str(model)}
    interp = Interpreter(num_threads=threads or os.cpu_count() or 1, **source)
    interp.allocate_tensors()
    return interp


class _native_stderr_captured:
    """Catch what LiteRT's C++ prints on fd 2 while loading (its INFO banner), to report on failure."""

    def __enter__(self):
        import tempfile
        sys.stderr.flush()
        self._buf = tempfile.TemporaryFile(mode="w+")
        self._saved = os.dup(2)
        os.dup2(self._buf.fileno(), 2)
        return self

    def read(self) -> str:
        self._buf.seek(0)
        return self._buf.read()

    def __exit__(self, *exc) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    """Float input -> the tensor's dtype (integer inputs use the tensor's own scale and zero point)."""
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
