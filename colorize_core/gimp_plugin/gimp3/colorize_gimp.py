#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""GIMP 3 plug-in: Filters > Colorize > Auto Colorize (Deep Learning).

Colorizes the active layer in place with the ``colorize-core`` helper of the Python environment
that ran ``colorize-core gimp install`` (found through colorize-core.json next to this file, or
the COLORIZE_CORE environment variable). Standard library + GIMP's GI bindings only.

Installed as <GIMP profile>/plug-ins/colorize_gimp/colorize_gimp.py (GIMP 3 needs the folder
name to equal the file name) with colorize_bridge.py beside it.

Procedures:
  plug-in-colorize-auto   (image, drawables, strength, model, threads, timeout, hints-layer, output)
  plug-in-colorize-check  shows which colorize-core is used and whether its model loads

Colour hints: a transparent layer with dots of colour painted on it steers the colours (the
dialog picks a layer called "Colour hints" when the image has one; scripts pass hints-layer,
None for no hints). It is only read, never changed, and the model sees the photo layer alone.
output "replace" colorizes the layer in place; "new-layer" puts the colour in a new layer above
it in LCh colour mode (the original's lightness shows through), leaving the original untouched.
Either way the whole run is one undo step.
"""

import os
import sys
import time

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GLib, GObject  # noqa: E402

HERE = os.path.dirname(os.path.realpath(__file__))
sys.dont_write_bytecode = True  # keep the plug-in folder exactly as the install left it
sys.path.insert(0, HERE)
import colorize_bridge as bridge  # noqa: E402

PROC_AUTO = "plug-in-colorize-auto"
PROC_CHECK = "plug-in-colorize-check"
MENU = "<Image>/Filters/Colorize"
TIMING = bool(os.environ.get("COLORIZE_GIMP_TIMING"))


def _error(procedure, msg):
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(msg))


def _pixel_format(image, drawable):
    """The babl format and .npy dtype the layer is handed over in."""
    prec = image.get_precision().value_name  # e.g. GIMP_PRECISION_U8_NON_LINEAR
    high = "_U8_" not in prec
    fmt = "R'G'B'A" if drawable.has_alpha() else "R'G'B'"
    fmt += " u16" if high else " u8"
    return fmt, ("<u2" if high else "|u1"), (4 if drawable.has_alpha() else 3)


def _check_hints(drawable, hints_layer):
    """bridge.BridgeError unless `hints_layer` (None: no hints) can steer `drawable`'s colours."""
    if hints_layer is None:
        return
    if hints_layer.get_id() == drawable.get_id():
        raise bridge.BridgeError(bridge.HINTS_IS_TARGET)
    if not hints_layer.has_alpha():
        raise bridge.BridgeError(bridge.HINTS_NO_ALPHA)
    if hints_layer.get_image().get_base_type() != Gimp.ImageBaseType.RGB:
        raise bridge.BridgeError(bridge.HINTS_IN_GRAY_IMAGE)


def _hint_pixels(drawable, hints_layer):
    """The hints layer's R'G'B'A u8 pixels over `drawable` (transparent where it does not reach):
    (bytes, (h, w)), or None without a hints layer (_check_hints has passed)."""
    if hints_layer is None:
        return None
    w, h = drawable.get_width(), drawable.get_height()
    (_, dx, dy), (_, hx, hy) = drawable.get_offsets(), hints_layer.get_offsets()
    rect = Gegl.Rectangle.new(dx - hx, dy - hy, w, h)
    return hints_layer.get_buffer().get(rect, 1.0, "R'G'B'A u8", Gegl.AbyssPolicy.NONE), (h, w)


def _colour_layer(image, drawable):
    """A new transparent layer exactly over `drawable`, in LCh colour mode, inserted above it."""
    layer = Gimp.Layer.new(
        image,
        drawable.get_name() + bridge.NEW_LAYER_SUFFIX,
        drawable.get_width(),
        drawable.get_height(),
        Gimp.ImageType.RGBA_IMAGE,
        100.0,
        Gimp.LayerMode.LCH_COLOR,
    )
    image.insert_layer(layer, drawable.get_parent(), image.get_item_position(drawable))
    _, ox, oy = drawable.get_offsets()
    layer.set_offsets(ox, oy)
    return layer


def colorize_drawable(
    image, drawable, strength, model, threads, timeout, hints_layer=None, output="replace"
):
    """Colorize one layer in place, or into a new colour layer above it (output "new-layer").
    Raises bridge.BridgeError; the image is untouched then."""
    t0 = time.time()
    sx, sy, sw, sh = _checked_bounds(drawable, hints_layer)
    # a missing core is reported before the layer is read, and a resident one loads meanwhile
    # (or, running, keeps a CPU awake for GIMP's tile exchange: colorize_bridge.prepare_core)
    core = bridge.prepare_core(HERE)
    w, h = drawable.get_width(), drawable.get_height()
    fmt, dtype, channels = _pixel_format(image, drawable)
    Gimp.progress_init("Colorizing %s" % drawable.get_name())
    data, hints = _read_pixels(core, drawable, fmt, hints_layer)
    t_read = time.time()
    # In place on an RGB image, the rows go into the layer's shadow as the core makes them (only
    # merging the shadow, below, changes the layer); otherwise all at once afterwards.
    streamed = output != "new-layer" and image.get_base_type() == Gimp.ImageBaseType.RGB
    bpp = channels * (2 if dtype == "<u2" else 1)
    on_rows = _rows_into(drawable, fmt, bpp, (sx, sy, sw, sh)) if streamed else None
    try:
        out = bridge.colorize_layer_pixels(
            core,
            data,
            dtype,
            (h, w, channels),
            strength,
            model,
            threads,
            timeout,
            Gimp.progress_update,
            hints=hints,
            on_rows=on_rows,
        )
    except Exception:
        if streamed:
            drawable.free_shadow()
        raise
    t_core = time.time()
    Gimp.progress_set_text("Writing colorized pixels")
    Gimp.progress_update(0.92)
    _write_back(image, drawable, out, fmt, bpp, (sx, sy, sw, sh), output)
    Gimp.progress_update(1.0)
    if TIMING:
        t_end = time.time()
        sys.stderr.write(
            "colorize-gimp timing: read %.3f s, core %.3f s, write %.3f s, total %.3f s\n"
            % (t_read - t0, t_core - t_read, t_end - t_core, t_end - t0)
        )


def _checked_bounds(drawable, hints_layer):
    """The selection's bounds on `drawable` (x, y, w, h); bridge.BridgeError where there is
    nothing to colorize or the hints layer cannot steer it."""
    if not isinstance(drawable, Gimp.Layer) or isinstance(drawable, Gimp.LayerMask):
        raise bridge.BridgeError(bridge.NOT_A_LAYER)
    if drawable.is_group():
        raise bridge.BridgeError(bridge.GROUP_LAYER)
    ok, sx, sy, sw, sh = drawable.mask_intersect()
    if not ok or sw <= 0 or sh <= 0:
        raise bridge.BridgeError(bridge.NO_SELECTION)
    _check_hints(drawable, hints_layer)
    return sx, sy, sw, sh


def _read_pixels(core, drawable, fmt, hints_layer):
    """The whole layer's pixels in `fmt` (the model sees all of it, not only the selection) and
    the hints (_hint_pixels); should reading fail, `core` lets go of its connection to the
    resident core, which would otherwise wait for the run."""
    try:
        w, h = drawable.get_width(), drawable.get_height()
        data = drawable.get_buffer().get(
            Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.CLAMP
        )
        return data, _hint_pixels(drawable, hints_layer)
    except BaseException:
        core.close()
        raise


def _rows_into(drawable, fmt, bpp, bounds):
    """colorize_layer_pixels' on_rows: the core's rows into the drawable's shadow where the
    selection's bounds reach, handed to GIMP band by band while the core makes the next ones."""
    sx, sy, sw, sh = bounds
    width = drawable.get_width()
    shadow = drawable.get_shadow_buffer()

    def put(top, bottom, data):
        a, b = max(top, sy), min(bottom, sy + sh)
        if a < b:
            band = bridge.crop(data, width, bpp, sx, a - top, sw, b - a)
            shadow.set(Gegl.Rectangle.new(sx, a, sw, b - a), fmt, band)
            shadow.flush()

    return put


def _write_back(image, drawable, out, fmt, bpp, bounds, output):
    """The colorized pixels into the layer, or a new colour layer above it: one undo group, so
    one Ctrl+Z restores everything. `out` None: they are in the drawable's shadow already."""
    sx, sy, sw, sh = bounds
    image.undo_group_start()
    try:
        if image.get_base_type() != Gimp.ImageBaseType.RGB:
            image.convert_rgb()
        target = _colour_layer(image, drawable) if output == "new-layer" else drawable
        if out is not None:
            w, h = drawable.get_width(), drawable.get_height()
            if (sx, sy, sw, sh) != (0, 0, w, h):
                out = bridge.crop(out, w, bpp, sx, sy, sw, sh)
            shadow = target.get_shadow_buffer()
            shadow.set(Gegl.Rectangle.new(sx, sy, sw, sh), fmt, out)
            shadow.flush()
        target.merge_shadow(True)  # applies the selection mask (feathering blends), pushes undo
        target.update(sx, sy, sw, sh)
    finally:
        image.undo_group_end()


def run_auto(procedure, run_mode, image, drawables, config, data):
    if run_mode == Gimp.RunMode.INTERACTIVE:
        gi.require_version("GimpUi", "3.0")
        from gi.repository import GimpUi

        GimpUi.init("colorize_gimp")
        # the default: the image's "Colour hints" layer
        if config.get_property("hints-layer") is None:
            config.set_property("hints-layer", image.get_layer_by_name(bridge.HINTS_LAYER_NAME))
        dialog = GimpUi.ProcedureDialog.new(procedure, config, "Auto Colorize (Deep Learning)")
        dialog.fill(None)
        if not dialog.run():
            dialog.destroy()
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        dialog.destroy()
    if len(drawables) != 1:
        return _error(procedure, bridge.ONE_LAYER)
    try:
        colorize_drawable(
            image,
            drawables[0],
            config.get_property("strength"),
            config.get_property("model") or "",
            config.get_property("threads"),
            config.get_property("timeout"),
            config.get_property("hints-layer"),
            config.get_property("output"),
        )
    except bridge.BridgeError as e:
        return _error(procedure, "Auto Colorize: %s" % e)
    except Exception as e:  # a bug here must still reach the user, not a log
        return _error(
            procedure,
            "Auto Colorize: unexpected %s: %s. The layer was not changed "
            "unless this happened while writing it (then use Edit > Undo)." % (type(e).__name__, e),
        )
    finally:
        Gimp.progress_end()
    Gimp.displays_flush()
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def run_check(procedure, run_mode, image, drawables, config, data):
    try:
        core, origin = bridge.find_core(HERE)
        info = bridge.check_core(core)
    except bridge.BridgeError as e:
        return _error(procedure, "Colorize installation check failed: %s" % e)
    msg = "Colorize is ready.\ncolorize-core: %s\n(from %s)\nversion: %s\nmodel: %s" % (
        core,
        origin,
        info.get("version"),
        info.get("model"),
    )
    if run_mode == Gimp.RunMode.INTERACTIVE:
        Gimp.message(msg)
    else:
        sys.stderr.write(msg + "\n")
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def _auto_procedure(plugin: Gimp.PlugIn, name: str) -> Gimp.ImageProcedure:
    """plug-in-colorize-auto, for RGB and gray layers: its menu entry, help text and arguments."""
    p = Gimp.ImageProcedure.new(plugin, name, Gimp.PDBProcType.PLUGIN, run_auto, None)
    p.set_image_types("RGB*, GRAY*")
    p.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
    p.set_menu_label("Auto Colorize (Deep Learning)...")
    p.add_menu_path(MENU)
    p.set_documentation(
        "Colorize a black-and-white photo with a neural network",
        "Colorizes the active layer from its luminance (brightness is kept, colour is "
        "predicted), in place or into a new colour layer above it. The network sees the "
        "whole layer; only selected pixels change, and a feathered selection blends. "
        "Dots of colour painted on a transparent 'Colour hints' layer steer the colours "
        "(that layer is never changed). Grayscale images are converted to RGB. Alpha is "
        "kept. One Edit > Undo restores the original.",
        name,
    )
    p.set_attribution("colorize project", "colorize project", "2026")
    _add_auto_arguments(p)
    return p


def _add_auto_arguments(p: Gimp.ImageProcedure) -> None:
    """The auto procedure's arguments after (image, drawables), in the order scripts pass them:
    strength, model, threads, timeout, hints-layer, output."""
    rw = GObject.ParamFlags.READWRITE
    p.add_double_argument(
        "strength",
        "_Strength",
        "Colour strength: 0 keeps the photo gray, 1 is the model's colour, above 1 more saturated",
        0.0,
        bridge.MAX_STRENGTH,
        1.0,
        rw,
    )
    p.add_string_argument(
        "model",
        "_Model",
        "fast (about 6x faster, no colour hints), a .tflite file, or empty for the default model",
        "",
        rw,
    )
    p.add_int_argument("threads", "_Threads", "Inference threads (0: automatic)", 0, 64, 0, rw)
    p.add_int_argument(
        "timeout",
        "T_imeout (s)",
        "Stop the helper after this many seconds (0: automatic, 120 s + 10 s per megapixel)",
        0,
        3600,
        0,
        rw,
    )
    p.add_layer_argument(
        "hints-layer",
        "Colour _hints",
        "A transparent layer with dots of colour painted where you know the colour "
        "(only its hue and saturation count); none for automatic colours",
        True,
        rw,
    )
    p.add_choice_argument(
        "output", "_Output", "Where the colour goes", _output_choice(), "replace", rw
    )


def _output_choice() -> Gimp.Choice:
    """The output argument's choices: "replace" the layer, or a "new-layer" of colour above it."""
    output = Gimp.Choice.new()
    output.add("replace", 0, "Replace the layer", "Colorize the layer in place")
    output.add(
        "new-layer",
        1,
        "New colour layer",
        "Put the colour in a new layer above, in LCh colour mode; the original stays untouched",
    )
    return output


def _check_procedure(plugin: Gimp.PlugIn, name: str) -> Gimp.ImageProcedure:
    """plug-in-colorize-check: always available, so a broken install can be looked into."""
    p = Gimp.ImageProcedure.new(plugin, name, Gimp.PDBProcType.PLUGIN, run_check, None)
    p.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.ALWAYS)
    p.set_menu_label("Check Colorize Installation")
    p.add_menu_path(MENU)
    p.set_documentation(
        "Show which colorize-core the plug-in uses and whether its model loads",
        "Runs colorize-core bridge --check.",
        name,
    )
    p.set_attribution("colorize project", "colorize project", "2026")
    return p


class ColorizePlugin(Gimp.PlugIn):
    def do_query_procedures(self):
        return [PROC_AUTO, PROC_CHECK]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        if name == PROC_AUTO:
            return _auto_procedure(self, name)
        if name == PROC_CHECK:
            return _check_procedure(self, name)
        return None


Gimp.main(ColorizePlugin.__gtype__, sys.argv)
