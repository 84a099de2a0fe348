"""Information for issue 16 (not a shipping decision): the mean of the default's and the hint
model's automatic chroma, on the clean tune sample, per group."""

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, "/work/main")
from colorize_core.color import luma_to_unit, merge, resize_chroma, to_uint8
from colorize_core.pipeline import Colorizer
from convert import evaluate, metrics

cache = Path("/work/runs/cache")
selection = evaluate.Selection(split="tune", sample=1500)
names, truths = evaluate.load_eval_photos(cache, selection=selection)
groups = evaluate.split_groups(cache, selection)
clean = json.loads(Path("/work/runs/s10/clean_mask.json").read_text())
d, h = Colorizer("default", threads=2), Colorizer("hints", threads=2)
rows = {k: [] for k in ("ens1.0", "ens1.1")}
cfs = {k: [] for k in rows}
for t, m in zip(truths, clean, strict=False):
    if not m:
        continue
    luma = Image.fromarray(t).convert("L")
    a, b = d.predict_chroma(luma), h.predict_chroma(luma)
    y = luma_to_unit(np.asarray(luma))
    for k, g in (("ens1.0", 1.0), ("ens1.1", 1.1)):
        p = to_uint8(merge(y, resize_chroma(np.clip(g * (a + b) / 2, -1, 1), luma.size)))
        rows[k].append(metrics.psnr(t, p))
        cfs[k].append(metrics.colorfulness(p))
cg = [g for g, m in zip(groups, clean, strict=False) if m]
for k in rows:
    print(
        k,
        "all %.2f" % np.mean(rows[k]),
        " ".join(
            f"{g}:{np.mean([v for v, x in zip(rows[k], cg, strict=False) if x == g]):.2f}"
            for g in sorted(set(cg))
        ),
        "CF %.1f" % np.mean(cfs[k]),
    )
