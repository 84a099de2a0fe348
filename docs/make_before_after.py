"""Rebuild docs/images/before_after.png: input | shipped model | truth (scikit-image's Chelsea,
CC0)."""

from pathlib import Path

import numpy as np
from PIL import Image
from skimage.data import chelsea

from colorize_core import colorize

root = Path(__file__).resolve().parent
truth = Image.fromarray(chelsea())
gray = Image.open(root.parent / "colorize_core" / "samples" / "chelsea_gray.png")
panels = [gray.convert("RGB"), colorize(gray), truth]
strip = Image.new(
    "RGB", (sum(p.width for p in panels) + 8 * (len(panels) - 1), truth.height), "white"
)
x = 0
for p in panels:
    strip.paste(p, (x, 0))
    x += p.width + 8
strip.save(root / "images" / "before_after.png", optimize=True)
uv = np.asarray(panels[1].convert("YCbCr"), float)[..., 1:].transpose(2, 0, 1) - 128
print(
    f"wrote {root / 'images' / 'before_after.png'}; saturation of the colorization: "
    f"{np.hypot(*uv).mean():.1f}"
)
