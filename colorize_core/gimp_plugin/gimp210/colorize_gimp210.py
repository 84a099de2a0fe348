#!/usr/bin/env python2
# -*- coding: utf-8 -*-
"""GIMP 2.10 plug-in (Python-Fu, Python 2.7): Filters > Colorize > Auto Colorize (Deep Learning).

For GIMP 2.10's Windows and macOS builds, which bundle Python 2.7 and gimpfu. Installed as
<profile>/plug-ins/colorize_gimp210.py with the shared bridge (and colorize-core.json) in
<profile>/plug-ins/colorize_gimp210_lib/ by ``colorize-core gimp install``. The bridge to
colorize-core is the same code the GIMP 3 plug-in uses (colorize_bridge.py), and so are the
choices: strength, model, colour hints (a layer named in the dialog, "Colour hints" by default)
and the output (replace the layer, or a new colour layer above it).

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

from gimpfu import (LAYER_MODE_LCH_COLOR, PF_DRAWABLE, PF_IMAGE, PF_INT, PF_OPTION,  # noqa: E402
                    PF_SLIDER, PF_STRING, RGB, RGBA_IMAGE, gimp, main, pdb, register)

import colorize_bridge as bridge  # noqa: E402

OUTPUTS = ("replace", "new-layer")  # the GIMP 3 plug-in's output choices, by index here


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


def _hints_layer(image, drawable, name):
    """The layer named `name` (the default name may be absent: no hints), checked as GIMP 3's
    plug-in checks its hints layer. Raises bridge.BridgeError."""
    if not name:
        return None
    layer = pdb.gimp_image_get_layer_by_name(image, name)
    if layer is None:
        if name == bridge.HINTS_LAYER_NAME:
            return None
        raise bridge.BridgeError("There is no layer named '%s' for the colour hints." % name)
    if layer.ID == drawable.ID:
        raise bridge.BridgeError(bridge.HINTS_IS_TARGET)
    if not layer.has_alpha:
        raise bridge.BridgeError(bridge.HINTS_NO_ALPHA)
    if pdb.gimp_image_base_type(image) != RGB:
        raise bridge.BridgeError(bridge.HINTS_IN_GRAY_IMAGE)
    return layer


def _hint_pixels(drawable, hints_layer):
    """The hints layer's R'G'B'A u8 pixels over `drawable` (transparent where it does not reach):
    (bytes, (h, w)). Pixel regions stay inside a layer, so only the overlap is read."""
    w, h = drawable.width, drawable.height
    (dx, dy), (hx, hy) = drawable.offsets, hints_layer.offsets
    x0, y0 = max(dx, hx), max(dy, hy)
    x1, y1 = min(dx + w, hx + hints_layer.width), min(dy + h, hy + hints_layer.height)
    out = bytearray(w * h * 4)
    if x1 > x0 and y1 > y0:
        rgn = hints_layer.get_pixel_rgn(x0 - hx, y0 - hy, x1 - x0, y1 - y0, False, False)
        part = rgn[x0 - hx:x1 - hx, y0 - hy:y1 - hy]
        row = (x1 - x0) * 4
        for r in range(y1 - y0):
            at = ((y0 - dy + r) * w + (x0 - dx)) * 4
            out[at:at + row] = part[r * row:(r + 1) * row]
    return bytes(out), (h, w)


def _colour_layer(image, drawable):
    """A new transparent layer exactly over `drawable`, in LCh colour mode, inserted above it."""
    layer = gimp.Layer(image, drawable.name + bridge.NEW_LAYER_SUFFIX, drawable.width, drawable.height,
                       RGBA_IMAGE, 100, LAYER_MODE_LCH_COLOR)
    pdb.gimp_image_insert_layer(image, layer, pdb.gimp_item_get_parent(drawable),
                                pdb.gimp_image_get_item_position(image, drawable))
    layer.set_offsets(*drawable.offsets)
    return layer


def _read_layer(drawable):
    """The whole layer as R'G'B'(A) u8 bytes and its channel count (the model sees all of it)."""
    w, h, bpp = drawable.width, drawable.height, drawable.bpp
    channels = 4 if drawable.has_alpha else 3
    data = drawable.get_pixel_rgn(0, 0, w, h, False, False)[0:w, 0:h]
    if bpp in (1, 2):  # grayscale layer: hand over RGB(A)
        data = _expand_gray(data, bpp)
    elif bpp != channels:
        raise bridge.BridgeError("Unsupported pixel layout (%d bytes per pixel)." % bpp)
    return data, channels


def _write_layer(image, drawable, out, channels, rect, output):
    """Write the colorized pixels of the selection's bounds into the layer, or into a new colour
    layer above it: one undo group."""
    sx, sy, sw, sh = rect
    w, h = drawable.width, drawable.height
    pdb.gimp_image_undo_group_start(image)
    try:
        if pdb.gimp_image_base_type(image) != RGB:
            pdb.gimp_image_convert_rgb(image)
        target = drawable
        if output == "new-layer":
            target = _colour_layer(image, drawable)
            if channels == 3:  # the colour layer has alpha; opaque where the photo is
                out = _with_opaque_alpha(out)
                channels = 4
        if (sx, sy, sw, sh) != (0, 0, w, h):
            out = bridge.crop(out, w, channels, sx, sy, sw, sh)
        dst = target.get_pixel_rgn(sx, sy, sw, sh, True, True)
        dst[sx:sx + sw, sy:sy + sh] = out
        target.flush()
        target.merge_shadow(True)  # applies the selection mask; pushes undo
        target.update(sx, sy, sw, sh)
    finally:
        pdb.gimp_image_undo_group_end(image)


def _with_opaque_alpha(rgb):
    n = len(rgb) // 3
    out = bytearray(b"\xff" * (n * 4))
    src = bytearray(rgb)
    out[0::4], out[1::4], out[2::4] = src[0::3], src[1::3], src[2::3]
    return bytes(out)


def colorize_layer(image, drawable, strength, model, threads, timeout, hints_name="", output="replace"):
    """Colorize one layer in place (or into a new colour layer above it); raises bridge.BridgeError
    and leaves the image untouched."""
    if not pdb.gimp_item_is_layer(drawable) or pdb.gimp_item_is_layer_mask(drawable):
        raise bridge.BridgeError(bridge.NOT_A_LAYER)
    if pdb.gimp_item_is_group(drawable):
        raise bridge.BridgeError(bridge.GROUP_LAYER)
    non_empty, sx, sy, sw, sh = pdb.gimp_drawable_mask_intersect(drawable)
    if not non_empty or sw <= 0 or sh <= 0:
        raise bridge.BridgeError(bridge.NO_SELECTION)
    hints_layer = _hints_layer(image, drawable, hints_name)
    # a missing core is reported before the layer is read, and a resident one loads meanwhile
    core = bridge.prepare_core(LIB)
    gimp.progress_init("Colorizing %s" % drawable.name)
    try:
        data, channels = _read_layer(drawable)
        hints = _hint_pixels(drawable, hints_layer) if hints_layer is not None else None
    except BaseException:
        core.close()  # its connection to the resident core, which would wait for the run
        raise
    out = bridge.colorize_layer_pixels(core, data, "|u1", (drawable.height, drawable.width, channels), strength,
                                       model, threads, timeout, gimp.progress_update, hints=hints)
    _write_layer(image, drawable, out, channels, (sx, sy, sw, sh), output)
    gimp.progress_update(1.0)


def auto_colorize(image, drawable, strength=1.0, model="", threads=0, timeout=0,
                  hints_layer=bridge.HINTS_LAYER_NAME, output=0):
    try:
        colorize_layer(image, drawable, strength, model or "", threads, timeout, hints_layer or "",
                       OUTPUTS[int(output)] if 0 <= int(output) < len(OUTPUTS) else OUTPUTS[0])
    except bridge.BridgeError as e:
        gimp.message("Auto Colorize: %s" % e)
        raise RuntimeError("Auto Colorize: %s" % e)
    gimp.displays_flush()


register(
    "plug-in-colorize-auto",  # the GIMP 3 plug-in's name too: one name for scripts in both GIMPs
    "Colorize a black-and-white photo with a neural network",
    "Colorizes the active layer from its luminance, in place or into a new colour layer above it "
    "(LCh colour mode, the original untouched); the network sees the whole layer, only selected "
    "pixels change. Dots of colour painted on a transparent layer named 'Colour hints' steer the "
    "colours (that layer is only read). Grayscale images are converted to RGB, alpha is kept. "
    "One Edit > Undo restores the original.",
    "colorize project", "colorize project", "2026",
    "Auto Colorize (Deep Learning)...",
    "RGB*, GRAY*",
    [
        (PF_IMAGE, "image", "Input image", None),
        (PF_DRAWABLE, "drawable", "Input layer", None),
        (PF_SLIDER, "strength", "Strength", 1.0, (0.0, bridge.MAX_STRENGTH, 0.05)),
        (PF_STRING, "model", "Model: fast, a .tflite file, or empty for default", ""),
        (PF_INT, "threads", "Threads (0: automatic)", 0),
        (PF_INT, "timeout", "Timeout in s (0: automatic)", 0),
        (PF_STRING, "hints_layer", "Colour hints layer (its name; empty for none)", bridge.HINTS_LAYER_NAME),
        (PF_OPTION, "output", "Output", 0, ["Replace the layer", "New colour layer"]),
    ],
    [],
    auto_colorize,
    menu="<Image>/Filters/Colorize",
)

if __name__ == "__main__":
    main()
