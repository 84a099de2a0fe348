"""Runs INSIDE GIMP 3 (gimp-console-3.0 --batch-interpreter=python-fu-eval), driven by a JSON job.

    COLORIZE_BATCH_JOB=/path/job.json gimp-console-3.0 -i --quit \
        --batch-interpreter=python-fu-eval -b 'exec(open("/path/gimp_batch_runner.py").read())'

job = {"plugin_dir": ..., "out_dir": ..., "cases": [case, ...]}; each case:
  name, file (image to load), optional: offset [x, y] (enlarge the canvas so the layer sits at
  that offset and is smaller than the canvas), select [x, y, w, h], feather (px),
  core (write this colorize-core path into the plug-in's config for this case; restored after),
  args {strength, model, threads, timeout, output}, repeat (run n times, keep timings),
  pause (seconds between those runs, untimed),
  no_dump (write no pixel files: benchmarks), hints {"dots": [[x, y, r, g, b, radius], ...]}
  (a transparent "Colour hints" layer on top, with those dots, passed as hints-layer).
For each case it writes NAME.before.npy / NAME.after.npy (the layer as R'G'B'A, u8 or u16),
NAME.mask.npy (the selection over the layer, u8) when there is a selection, NAME.hints.before.npy /
NAME.hints.after.npy (the hints layer), NAME.new.npy (a layer the run added), and a summary in
results.json: status, error message, base type, precision, layer offsets, seconds per run, and
the image's layers (name, mode) after the run.
"""

import json
import os
import sys
import time
import traceback

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

JOB = json.load(open(os.environ["COLORIZE_BATCH_JOB"]))
sys.dont_write_bytecode = True  # leave the installed plug-in folder as install.sh made it
sys.path.insert(0, JOB["plugin_dir"])
import colorize_bridge as bridge  # noqa: E402

OUT = JOB["out_dir"]
PDB = Gimp.get_pdb()
CONFIG = os.path.join(JOB["plugin_dir"], bridge.CONFIG_NAME)


def dump_layer(layer, path, image):
    prec = image.get_precision().value_name
    high = "_U8_" not in prec
    fmt = "R'G'B'A u16" if high else "R'G'B'A u8"
    w, h = layer.get_width(), layer.get_height()
    data = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
    bridge.write_npy(path, data, "<u2" if high else "|u1", (h, w, 4))


def dump_mask(image, layer, path):
    ox, oy = layer.get_offsets()[1:]
    w, h = layer.get_width(), layer.get_height()
    sel = image.get_selection()
    data = sel.get_buffer().get(
        Gegl.Rectangle.new(ox, oy, w, h), 1.0, "Y u8", Gegl.AbyssPolicy.NONE
    )
    bridge.write_npy(path, data, "|u1", (h, w))


def add_hints_layer(image, layer, dots):
    """A transparent "Colour hints" layer over `layer`, on top of the stack, with round dots."""
    w, h = layer.get_width(), layer.get_height()
    kind = (
        Gimp.ImageType.RGBA_IMAGE
        if image.get_base_type() == Gimp.ImageBaseType.RGB
        else Gimp.ImageType.GRAYA_IMAGE
    )
    hints = Gimp.Layer.new(image, bridge.HINTS_LAYER_NAME, w, h, kind, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(hints, None, 0)
    hints.set_offsets(*layer.get_offsets()[1:])
    px = bytearray(w * h * 4)
    for x, y, r, g, b, radius in dots:
        for yy in range(max(0, y - radius), min(h, y + radius + 1)):
            for xx in range(max(0, x - radius), min(w, x + radius + 1)):
                if (xx - x) ** 2 + (yy - y) ** 2 <= radius * radius:
                    px[(yy * w + xx) * 4 : (yy * w + xx) * 4 + 4] = bytes((r, g, b, 255))
    hints.get_buffer().set(Gegl.Rectangle.new(0, 0, w, h), "R'G'B'A u8", bytes(px))
    hints.update(0, 0, w, h)
    return hints


def run_case(case):
    res = {"name": case["name"]}
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(case["file"]))
    layer = image.get_layers()[0]
    layer_id = layer.get_id()
    if case.get("offset"):
        ox, oy = case["offset"]
        image.resize(image.get_width() + ox + 17, image.get_height() + oy + 11, ox, oy)
    if case.get("select"):
        x, y, w, h = case["select"]
        image.select_rectangle(Gimp.ChannelOps.REPLACE, x, y, w, h)
        if case.get("feather"):
            p = PDB.lookup_procedure("gimp-selection-feather")
            c = p.create_config()
            c.set_property("image", image)
            c.set_property("radius", float(case["feather"]))
            p.run(c)
        dump_mask(image, layer, os.path.join(OUT, case["name"] + ".mask.npy"))
    hints = add_hints_layer(image, layer, case["hints"]["dots"]) if case.get("hints") else None
    if not case.get("no_dump"):
        dump_layer(layer, os.path.join(OUT, case["name"] + ".before.npy"), image)
    if hints is not None:
        dump_layer(hints, os.path.join(OUT, case["name"] + ".hints.before.npy"), image)
    layer_ids = [x.get_id() for x in image.get_layers()]
    res["base_type_before"] = image.get_base_type().value_nick
    saved_config = open(CONFIG).read()
    if "core" in case:
        with open(CONFIG, "w") as f:
            json.dump({"core": case["core"]}, f)
    try:
        proc = PDB.lookup_procedure("plug-in-colorize-auto")
        res["seconds"] = []
        for i in range(case.get("repeat", 1)):
            if i:
                time.sleep(case.get("pause", 0))  # GIMP finishes the last run's work meanwhile
            cfg = proc.create_config()
            cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
            cfg.set_property("image", image)
            cfg.set_core_object_array("drawables", [layer])
            for k, v in case.get("args", {}).items():
                cfg.set_property(k, v)
            if hints is not None:
                cfg.set_property("hints-layer", hints)
            t0 = time.time()
            result = proc.run(cfg)
            res["seconds"].append(round(time.time() - t0, 3))
            res["status"] = result.index(0).value_nick
            res["error"] = result.index(1) if result.length() > 1 else None
    finally:
        with open(CONFIG, "w") as f:
            f.write(saved_config)
    layer = Gimp.Layer.get_by_id(layer_id)
    res["layers"] = [[x.get_name(), x.get_mode().value_nick] for x in image.get_layers()]
    res["base_type_after"] = image.get_base_type().value_nick
    res["precision"] = image.get_precision().value_nick
    res["offsets"] = list(layer.get_offsets()[1:])
    res["size"] = [layer.get_width(), layer.get_height()]
    if not case.get("no_dump"):
        dump_layer(layer, os.path.join(OUT, case["name"] + ".after.npy"), image)
        for x in image.get_layers():
            if x.get_id() not in layer_ids:
                dump_layer(x, os.path.join(OUT, case["name"] + ".new.npy"), image)
    if hints is not None:
        dump_layer(hints, os.path.join(OUT, case["name"] + ".hints.after.npy"), image)
    image.delete()
    return res


results = []
for case in JOB["cases"]:
    try:
        results.append(run_case(case))
    except Exception:
        results.append({"name": case["name"], "exception": traceback.format_exc()})
with open(os.path.join(OUT, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
