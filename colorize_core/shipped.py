"""The models that ship inside the package, by the names --model, the API and the GIMP plug-in
accept (no heavy imports: the CLI's --help and argument checks read this)."""
from __future__ import annotations

from pathlib import Path

SHIPPED_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL = SHIPPED_DIR / "default.tflite"
SHIPPED_MODELS = {"default": "two VGG16 networks at 224x224, their colours averaged; the best colours measured",
                  "fast": "about 6x faster, colours about as good (a pruned VGG16 sees the photo at 112x112)",
                  "hints": "reads colour hints (dots of known colour); used whenever hints are given"}
HINT_MODEL = "hints"  # the model that colorizes whenever hints are given and no model is named
