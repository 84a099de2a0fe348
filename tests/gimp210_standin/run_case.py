# -*- coding: utf-8 -*-
"""Python 2.7: run the installed GIMP 2.10 plug-in on one case against the stand-in gimpfu.

usage: python2.7 run_case.py PLUGINS_DIR CASE.json  -> writes CASE.json's "out" (raw pixels) and
"result" (JSON: status, messages, base type, bpp, undo groups).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # the stand-in gimpfu
import gimpfu  # noqa: E402

plugins, case_path = sys.argv[1], sys.argv[2]
case = json.load(open(case_path))
plugin = os.path.join(plugins, "colorize_gimp210.py")
g = {"__name__": "__main__", "__file__": plugin}
exec(compile(open(plugin).read(), plugin, "exec"), g)
proc = gimpfu.REGISTERED["plug-in-colorize-auto"]

img = gimpfu.Image(case["image_w"], case["image_h"], gimpfu.GRAY if case["bpp"] in (1, 2) else gimpfu.RGB)
layer = gimpfu.Layer(img, "photo", case["w"], case["h"], case["bpp"], tuple(case.get("offsets", (0, 0))),
                     open(case["in"], "rb").read())
hints = case.get("hints")
if hints:  # a transparent RGBA layer of colour dots, above the photo, as a user paints one
    gimpfu.Layer(img, hints.get("name", "Colour hints"), hints["w"], hints["h"], hints["bpp"], tuple(hints["offsets"]),
                 open(hints["in"], "rb").read())
if case.get("selection"):
    img.selection = bytearray(open(case["selection"], "rb").read())
result = {"status": "success", "registered": {"label": proc["label"], "menu": proc["menu"],
                                              "imagetypes": proc["imagetypes"],
                                              "params": [list(p[:3]) + [p[4] if len(p) > 4 else None]
                                                         for p in proc["params"]]}}
try:
    proc["function"](img, layer, *case.get("args", [1.0, "", 0, 0]))
except RuntimeError as e:
    result["status"] = "error"
    result["error"] = str(e)
result["messages"] = [m[1] for m in gimpfu.LOG if m[0] == "message"]
result["progress"] = [m[1] for m in gimpfu.LOG if m[0] == "progress"]
result["base_type"] = img.base_type
result["bpp"] = layer.bpp
result["undo_groups"] = img.undo_groups
result["undo_steps"] = img.undo_steps
result["python"] = sys.version.split()[0]
result["layers"] = [{"name": item.name, "bpp": item.bpp, "mode": item.mode, "offsets": list(item.offsets)}
                    for item in img.layers]
open(case["out"], "wb").write(bytes(layer.pixels))
for i, item in enumerate(img.layers):  # every layer's pixels, by position
    open("%s.layer%d" % (case["out"], i), "wb").write(bytes(item.pixels))
json.dump(result, open(case["result"], "w"))
