"""The models that ship inside the package, by the names --model, the API and the GIMP plug-in
accept (no heavy imports: the CLI's --help and argument checks read this)."""

from __future__ import annotations

from pathlib import Path

SHIPPED_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL = SHIPPED_DIR / "default.tflite"
SHIPPED_MODELS = {
    "default": (
        "one VGG16 network at 224x224 that predicts a distribution of colours; reads colour hints"
    ),
    "fast": (
        "about 6x faster, muted colours, no colour hints (a pruned VGG16 sees the photo at 112x112)"
    ),
}
