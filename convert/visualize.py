"""What the layers learned (the seed's last open item): filters and activations as PNG.

Usage: python -m convert.visualize RUN_DIR PHOTO --out DIR [--weights VGG16.h5]

Writes filters_block1_conv1.png (the 64 first-layer 3x3 kernels, summed over the input
channels as the 1-channel luminance input sees them), activations_<layer>.png (the 16
strongest feature maps of a few encoder and decoder layers for PHOTO).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from colorize_core.color import luma_to_unit  # noqa: E402
from colorize_core.preprocess import center_crop_square  # noqa: E402
from convert import command, runs  # noqa: E402
from convert.errors import reports_errors  # noqa: E402
from convert.models import luma_to_vgg  # noqa: E402

LAYERS = ("block1_conv2", "block3_conv3", "block5_conv3")
DECODER_LAYERS = ("dec_conv2_relu", "dec_conv3")


def tile(maps: np.ndarray, cols: int, cell: int) -> Image.Image:
    """Feature maps (H, W, N) -> one grid image, each map normalised to 0..255."""
    n = maps.shape[-1]
    rows = int(np.ceil(n / cols))
    grid = Image.new("L", (cols * (cell + 2), rows * (cell + 2)), 255)
    for i in range(n):
        m = maps[..., i].astype(np.float32)
        m = (m - m.min()) / (np.ptp(m) + 1e-8) * 255
        grid.paste(
            Image.fromarray(m.astype(np.uint8)).resize((cell, cell), Image.NEAREST),
            ((i % cols) * (cell + 2), (i // cols) * (cell + 2)),
        )
    return grid


def visualize(run_dir: Path, photo: Path, out: Path, weights: str | None = None) -> list[Path]:
    import keras

    out.mkdir(parents=True, exist_ok=True)
    model, _ = runs.load_inference_model(run_dir, weights)
    encoder = next(layer for layer in model.layers if layer.name.endswith("_encoder"))
    decoder = next(layer for layer in model.layers if layer.name.endswith("_decoder"))
    vgg = encoder.get_layer("vgg16")
    written = []
    kernel = vgg.get_layer("block1_conv1").get_weights()[0].sum(axis=2)  # (3, 3, 64)
    path = out / "filters_block1_conv1.png"
    tile(kernel, 16, 24).save(path)
    written.append(path)

    size = int(model.input_shape[1])  # the side the encoder sees the photo at
    crop = center_crop_square(Image.open(photo).convert("RGB"), size)
    y = luma_to_unit(np.asarray(crop.convert("L")))[None, ..., None]
    inp = keras.Input((size, size, 1))
    taps = keras.Model(vgg.input, [vgg.get_layer(n).output for n in LAYERS])
    feats = keras.Model(inp, taps(luma_to_vgg(inp))).predict(y, verbose=0)
    dec_taps = keras.Model(
        decoder.inputs,
        [
            decoder.get_layer(n).output
            for n in DECODER_LAYERS
            if n in [layer.name for layer in decoder.layers]
        ],
    )
    dec_feats = dec_taps.predict(encoder.predict(y, verbose=0), verbose=0)
    dec_feats = dec_feats if isinstance(dec_feats, list) else [dec_feats]
    encoder_maps = list(zip(LAYERS, feats, strict=True))
    # dec_feats holds only the DECODER_LAYERS this decoder has, so it may be shorter
    decoder_maps = list(zip(DECODER_LAYERS, dec_feats, strict=False))
    for name, f in encoder_maps + decoder_maps:
        strongest = np.argsort(f[0].mean(axis=(0, 1)))[::-1][:16]
        path = out / f"activations_{name}.png"
        tile(f[0][..., strongest], 8, 96).save(path)
        written.append(path)
    crop.save(out / "photo.png")
    return written


@reports_errors
def main(argv: list[str] | None = None) -> int:
    ap = command.parser("convert.visualize", __doc__)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("photo", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--weights", help="the ImageNet VGG16 .h5 of a frozen-encoder run")
    args = ap.parse_args(argv)
    for p in visualize(args.run_dir, args.photo, args.out, args.weights):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
