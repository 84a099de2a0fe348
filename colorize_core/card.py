"""The model card: the JSON beside a .tflite that tells the runtime everything about the model.

Training's export writes cards through `new_card` and `write_card`, the runtime reads them through
`ModelCard.read`; both go through `ModelCard.from_dict`, so a card is validated the same way when
it is written and when it is read. The runtime hard-codes nothing a card says: input size and
normalisation, chroma size and scaling, colour space, quantization, and a second input for colour
hints (its grid and encoding).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_atomic
from .hints import HINT_CHANNELS

CARD_FORMAT = "colorize-core model card 1"
COLOR_SPACE = "YUV BT.601 full range (JPEG YCbCr), each channel scaled to [-1, 1]"
HINT_ENCODING = "u * mask, v * mask, mask (colorize_core.hints)"


class ModelError(Exception):
    """The model file or its card is missing, corrupt or does not match."""


@dataclass(frozen=True)
class ModelCard:
    """What the runtime needs to know about a model (read from its JSON card)."""

    path: Path
    name: str
    sha256: str
    input_size: tuple[int, int]  # (width, height)
    input_channels: int
    input_scale: float  # model input = luminance code (0..255) * scale + offset
    input_offset: float
    chroma_size: tuple[int, int]  # (width, height) of the predicted U, V
    output_scale: float  # uv in [-1, 1] = model output * scale + offset
    output_offset: float
    quantization: str
    raw: dict
    hint_grid: tuple[int, int] | None = None  # (width, height) of a hint model's hint input
    hint_spread: tuple[float, float] | None = (
        None  # (reach, edge) of hints.propagate, None: not spread
    )

    @property
    def takes_hints(self) -> bool:
        return self.hint_grid is not None

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """The luminance input tensor's shape: (1, height, width, channels)."""
        return (1, self.input_size[1], self.input_size[0], self.input_channels)

    @property
    def hint_shape(self) -> tuple[int, int, int, int] | None:
        """The hint input tensor's shape, or None for a model that takes no hints."""
        if self.hint_grid is None:
            return None
        return (1, self.hint_grid[1], self.hint_grid[0], HINT_CHANNELS)

    @classmethod
    def read(cls, model_path: Path) -> ModelCard:
        """The card beside `model_path` (same name, .json). ModelError if missing or malformed."""
        card_path = Path(model_path).with_suffix(".json")
        if not card_path.is_file():
            raise ModelError(f"{model_path}: no model card {card_path.name} beside the model file")
        try:
            raw = json.loads(card_path.read_text())
        except ValueError as exc:
            raise ModelError(f"{card_path}: malformed model card (ValueError: {exc})") from exc
        return cls.from_dict(raw, Path(model_path), where=card_path)

    @classmethod
    def from_dict(
        cls, raw: dict, model_path: Path, *, where: Path | str = "model card"
    ) -> ModelCard:
        """A card's JSON object, checked: ModelError naming `where` and what is wrong."""
        if not isinstance(raw, dict) or raw.get("format") != CARD_FORMAT:
            got = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
            raise ModelError(f"{where}: not a colorize-core model card (format {got!r})")
        if "blend" in raw:
            raise ModelError(
                f"{where}: blends in {raw['blend'].get('model')!r}, a card format this version no "
                "longer runs (the default is one network): use the model files shipped with it"
            )
        try:
            if raw["color_space"] != COLOR_SPACE:
                raise ModelError(f"{where}: unsupported colour space {raw['color_space']!r}")
            inp, out, hints = raw["input"], raw["output"], raw.get("hints")
            if hints is not None and hints["encoding"] != HINT_ENCODING:
                raise ModelError(f"{where}: unsupported hint encoding {hints['encoding']!r}")
            return cls(
                path=Path(model_path),
                name=raw["name"],
                sha256=raw["sha256"],
                input_size=(int(inp["width"]), int(inp["height"])),
                input_channels=int(inp["channels"]),
                input_scale=float(inp["scale"]),
                input_offset=float(inp["offset"]),
                chroma_size=(int(out["width"]), int(out["height"])),
                output_scale=float(out["scale"]),
                output_offset=float(out["offset"]),
                quantization=raw["quantization"],
                raw=raw,
                hint_grid=(int(hints["width"]), int(hints["height"]))
                if hints is not None
                else None,
                hint_spread=_spread_of(hints),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(
                f"{where}: malformed model card ({type(exc).__name__}: {exc})"
            ) from exc


def _spread_of(hints: dict | None) -> tuple[float, float] | None:
    """A hint card's (reach, edge) for hints.propagate, checked finite and positive; None if
    absent."""
    spread = (hints or {}).get("spread")
    if spread is None:
        return None
    reach, edge = float(spread["reach"]), float(spread["edge"])
    if not (math.isfinite(reach) and math.isfinite(edge) and reach > 0 and edge > 0):
        raise ValueError(f"hints spread needs finite positive reach and edge, got {spread}")
    return reach, edge


def new_card(
    tflite: bytes,
    file_name: str,
    *,
    name: str,
    input_size: int,
    chroma_size: int,
    quantization: str,
    output_gain: float = 1.0,
    hints: bool = False,
    hint_spread: tuple[float, float] | None = None,
    extra: dict | None = None,
) -> dict:
    """The card of a freshly exported model (its bytes and file name): the fields the runtime
    reads, then `extra` (architecture, training, terms, metrics, ...).

    hints: the model has a second input, colour hints on the chroma grid (colorize_core.hints).
    hint_spread: (reach, edge) with which the runtime spreads the hints' corrections
        (hints.propagate).
    output_gain: uv = model output * gain, a saturation calibration the runtime applies before
        --strength.
    """
    card = {
        "format": CARD_FORMAT,
        "name": name,
        "file": file_name,
        "sha256": hashlib.sha256(tflite).hexdigest(),
        "size_bytes": len(tflite),
        "color_space": COLOR_SPACE,
        "input": {
            "width": input_size,
            "height": input_size,
            "channels": 1,
            "quantity": "luminance Y",
            "scale": 2.0 / 255.0,
            "offset": -1.0,
            "note": "model input = 8-bit luminance code * scale + offset (y in [-1, 1])",
        },
        "output": {
            "width": chroma_size,
            "height": chroma_size,
            "channels": 2,
            "quantity": "chroma U, V",
            "scale": output_gain,
            "offset": 0.0,
            "note": "u, v in [-1, 1] = model output * scale + offset",
        },
        "quantization": quantization,
    }
    if hints:
        card["hints"] = {
            "width": chroma_size,
            "height": chroma_size,
            "channels": HINT_CHANNELS,
            "encoding": HINT_ENCODING,
        }
        if hint_spread is not None:
            card["hints"]["spread"] = {"reach": hint_spread[0], "edge": hint_spread[1]}
    card.update(extra or {})
    return card


def write_card(model_path: Path, card: dict) -> ModelCard:
    """Check `card` as the runtime will read it, then write it beside `model_path` (atomically)."""
    checked = ModelCard.from_dict(
        card, Path(model_path), where=Path(model_path).with_suffix(".json")
    )
    text = (json.dumps(card, indent=2) + "\n").encode()
    write_atomic(Path(model_path).with_suffix(".json"), lambda f: f.write(text), overwrite=True)
    return checked
