"""Choose hints.propagate's (reach, edge) on 300 tune photos (rule in docs/experiments.md,
session 11): mean PSNR over 1, 2, 5, 10, 20 simulated dots; the network alone as the baseline."""

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, "/work/main")
from colorize_core.color import luma_to_unit, merge, resize_chroma, to_uint8
from colorize_core.hints import propagate
from colorize_core.model import Model
from colorize_core.preprocess import model_view
from convert import evaluate, metrics
from convert.hint_curve import truth_hints

model = Model(sys.argv[1], threads=2)
_, truths = evaluate.load_eval_photos(
    Path("/work/runs/cache"), selection=evaluate.Selection(split="tune", sample=300)
)
configs = [None] + [(r, e) for r in (0.001, 0.003, 0.01, 0.03) for e in (0.05, 0.1, 0.2)]
points = (1, 2, 5, 10, 20)
scores = {str(c): {n: [] for n in points} for c in configs}
for k, t in enumerate(truths):
    luma = Image.fromarray(t).convert("L")
    x = np.asarray(model_view(luma, model.card.input_size), np.float32)
    y = luma_to_unit(np.asarray(model_view(luma, model.card.hint_grid), np.float32))
    full_y = luma_to_unit(np.asarray(luma))
    for n in points:
        grid = truth_hints(t, model, n, (0, k, n))
        uv = model.predict(x, grid)
        for c in configs:
            out = uv if c is None else propagate(y, uv, grid, reach=c[0], edge=c[1])
            scores[str(c)][n].append(
                metrics.psnr(t, to_uint8(merge(full_y, resize_chroma(out, luma.size))))
            )
    if k % 50 == 49:
        print(k + 1, "photos", flush=True)
rows = {c: {n: float(np.mean(v)) for n, v in d.items()} for c, d in scores.items()}
for c, r in rows.items():
    print(
        f"{c:>14} mean {np.mean(list(r.values())):.3f} "
        + " ".join(f"{n}:{v:.2f}" for n, v in r.items())
    )
Path(sys.argv[2]).write_text(json.dumps(rows, indent=1))
