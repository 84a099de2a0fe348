"""colorize_core: automatic colorization of black-and-white photos (numpy + Pillow + LiteRT).

    from colorize_core import colorize, Colorizer
    color_photo = colorize(Image.open("scan.jpg"))          # PIL image in, PIL image out
    c = Colorizer(threads=2); outs = [c.colorize(a) for a in arrays]   # model loaded once
    colorize(photo, hints=[(120, 80, (40, 60, 200))])      # a blue dot at pixel (120, 80) steers it

Imports are lazy so that `colorize-core --version` and the CLI start fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["colorize", "Colorizer", "HintError", "Model", "ModelError", "__version__"]


def __getattr__(name: str):
    if name in ("colorize", "Colorizer"):
        from . import pipeline

        return getattr(pipeline, name)
    if name in ("Model", "ModelError"):
        from . import model

        return getattr(model, name)
    if name == "HintError":
        from . import hints

        return hints.HintError
    raise AttributeError(f"module 'colorize_core' has no attribute {name!r}")
