"""Runs INSIDE GIMP 3 (gimp-console-3.0 --batch-interpreter=python-fu-eval), driven by a JSON job.

    COLORIZE_BATCH_JOB=/path/job.json gimp-console-3.0 -i --quit \
        --batch-interpreter=python-fu-eval -b 'exec(open("/path/gimp_batch_runner.py").read())'

job = {"plugin_dir": ..., "out_dir": ..., "cases": [case, ...]}; each case:
  name, file (image to load), optional: offset [x, y] (enlarge the canvas so the layer sits at
  that offset and is smaller than the canvas), select [x, y, w, h], feather (px),
  core (write this colorize-core path into the plug-in's config for this case; restored after),
  args {strength, model, threads, timeout}, repeat (run n times, keep timings),
  no_dump (write no pixel files: benchmarks).
For each case it writes NAME.before.npy / NAME.after.npy (the layer as R'G'B'A, u8 or u16),
NAME.mask.npy (the selection over the layer, u8) when there is a selection, and a summary in
results.json: status, error message, base type, precision, layer offsets, seconds per run.
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
    data = sel.get_buffer().get(Gegl.Rectangle.new(ox, oy, w, h), 1.0, "Y u8", Gegl.AbyssPolicy.NONE)
    bridge.write_npy(path, data, "|u1", (h, w))


def run_case(case):
    res = {"name": case["name"]}
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(case["file"]))
    layer = image.get_layers()[0]
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
    if not case.get("no_dump"):
        dump_layer(layer, os.path.join(OUT, case["name"] + ".before.npy"), image)
    res["base_type_before"] = image.get_base_type().value_nick
    saved_config = open(CONFIG).read()
    if "core" in case:
        with open(CONFIG, "w") as f:
            json.dump({"core": case["core"]}, f)
    try:
        proc = PDB.lookup_procedure("plug-in-colorize-auto")
        res["seconds"] = []
        for _ in range(case.get("repeat", 1)):
            cfg = proc.create_config()
            cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
            cfg.set_property("image", image)
            cfg.set_core_object_array("drawables", [layer])
            for k, v in case.get("args", {}).items():
                cfg.set_property(k, v)
            t0 = time.time()
            result = proc.run(cfg)
            res["seconds"].append(round(time.time() - t0, 3))
            res["status"] = result.index(0).value_nick
            res["error"] = result.index(1) if result.length() > 1 else None
    finally:
        with open(CONFIG, "w") as f:
            f.write(saved_config)
    layer = image.get_layers()[0]
    res["base_type_after"] = image.get_base_type().value_nick
    res["precision"] = image.get_precision().value_nick
    res["offsets"] = list(layer.get_offsets()[1:])
    res["size"] = [layer.get_width(), layer.get_height()]
    if not case.get("no_dump"):
        dump_layer(layer, os.path.join(OUT, case["name"] + ".after.npy"), image)
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
