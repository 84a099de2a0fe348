#!/usr/bin/env python2
# -*- coding: utf-8 -*-
"""GIMP 2.10 plug-in (Python-Fu, Python 2.7): Filters > Colorize > Auto Colorize (Deep Learning).

For GIMP 2.10's Windows and macOS builds, which bundle Python 2.7 and gimpfu. Installed as
<profile>/plug-ins/colorize_gimp210.py with the shared bridge (and colorize-core.json) in
<profile>/plug-ins/colorize_gimp210_lib/. The bridge to colorize-core is the same code the
GIMP 3 plug-in uses (colorize_bridge.py).

Tested only against a stand-in gimpfu under Python 2.7 (tests/test_gimp210.py): no Debian
release can run 2.10's Python-Fu any more.

GIMP 2.10's pixel regions hand plug-ins 8 bits per channel, so on a high-bit-depth image the
colour is computed from 8-bit values (the written result is still stored at the image's precision).
"""
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
LIB = os.path.join(HERE, "colorize_gimp210_lib")
sys.path.insert(0, LIB)

from gimpfu import (PF_DRAWABLE, PF_IMAGE, PF_INT, PF_SLIDER, PF_STRING, RGB,  # noqa: E402
                    gimp, main, pdb, register)

import colorize_bridge as bridge  # noqa: E402


def _expand_gray(data, bpp):
    """Gray (1 B) / gray+alpha (2 B) pixels -> RGB / RGBA bytes, with bulk slicing only."""
    n = len(data) // bpp
    out = bytearray(n * (bpp + 2))
    src = bytearray(data)
    step = bpp + 2
    g = src[0::bpp]
    out[0::step] = g
    out[1::step] = g
    out[2::step] = g
    if bpp == 2:
        out[3::step] = src[1::2]
    return bytes(out)


def colorize_layer(image, drawable, strength, model, threads, timeout):
    """Colorize one layer in place; raises bridge.BridgeError and leaves the layer untouched."""
    if not pdb.gimp_item_is_layer(drawable) or pdb.gimp_item_is_layer_mask(drawable):
        raise bridge.BridgeError(bridge.NOT_A_LAYER)
    if pdb.gimp_item_is_group(drawable):
        raise bridge.BridgeError(bridge.GROUP_LAYER)
    bridge.find_core(LIB)  # a missing core is reported before the layer is read
    non_empty, sx, sy, sw, sh = pdb.gimp_drawable_mask_intersect(drawable)
    if not non_empty or sw <= 0 or sh <= 0:
        raise bridge.BridgeError(bridge.NO_SELECTION)
    w, h = drawable.width, drawable.height
    bpp = drawable.bpp
    alpha = drawable.has_alpha
    channels = 4 if alpha else 3
    gimp.progress_init("Colorizing %s" % drawable.name)
    src = drawable.get_pixel_rgn(0, 0, w, h, False, False)
    data = src[0:w, 0:h]
    if bpp in (1, 2):  # grayscale layer: hand over RGB(A)
        data = _expand_gray(data, bpp)
    elif bpp != channels:
        raise bridge.BridgeError("Unsupported pixel layout (%d bytes per pixel)." % bpp)
    out = bridge.colorize_layer_pixels(LIB, data, "|u1", (h, w, channels), strength, model, threads, timeout,
                                       gimp.progress_update)
    pdb.gimp_image_undo_group_start(image)
    try:
        if pdb.gimp_image_base_type(image) != RGB:
            pdb.gimp_image_convert_rgb(image)
        if (sx, sy, sw, sh) != (0, 0, w, h):
            out = bridge.crop(out, w, channels, sx, sy, sw, sh)
        dst = drawable.get_pixel_rgn(sx, sy, sw, sh, True, True)
        dst[sx:sx + sw, sy:sy + sh] = out
        drawable.flush()
        drawable.merge_shadow(True)  # applies the selection mask; pushes undo
        drawable.update(sx, sy, sw, sh)
    finally:
        pdb.gimp_image_undo_group_end(image)
    gimp.progress_update(1.0)


def auto_colorize(image, drawable, strength=1.0, model="", threads=0, timeout=0):
    try:
        colorize_layer(image, drawable, strength, model or "", threads, timeout)
    except bridge.BridgeError as e:
        gimp.message("Auto Colorize: %s" % e)
        raise RuntimeError("Auto Colorize: %s" % e)
    gimp.displays_flush()


register(
    "plug-in-colorize-auto",  # the GIMP 3 plug-in's name too: one name for scripts in both GIMPs
    "Colorize a black-and-white photo with a neural network",
    "Colorizes the active layer in place from its luminance; the network sees the whole layer, "
    "only selected pixels change. Grayscale images are converted to RGB, alpha is kept. "
    "One Edit > Undo restores the original.",
    "colorize project", "colorize project", "2026",
    "Auto Colorize (Deep Learning)...",
    "RGB*, GRAY*",
    [
        (PF_IMAGE, "image", "Input image", None),
        (PF_DRAWABLE, "drawable", "Input layer", None),
        (PF_SLIDER, "strength", "Strength", 1.0, (0.0, 2.0, 0.05)),
        (PF_STRING, "model", "Model: fast, a .tflite file, or empty for default", ""),
        (PF_INT, "threads", "Threads (0: automatic)", 0),
        (PF_INT, "timeout", "Timeout in s (0: automatic)", 0),
    ],
    [],
    auto_colorize,
    menu="<Image>/Filters/Colorize",
)

if __name__ == "__main__":
    main()
