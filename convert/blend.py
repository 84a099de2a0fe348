"""Blend two exported models into one: BASE's card is rewritten so that the runtime colours with
gain x the mean of BASE's chroma and another model's (beside it). How the shipped default is made
(session 12): the previous default and the hint model without hints, whose mean beat either alone.

Usage:
  python -m convert.blend colorize_core/models/default.tflite --with hints.tflite --gain 1.1 \\
         --name NAME --card-extra convert/card_default.json

BASE's .tflite is not touched (its sha256 stays in the card); the other model keeps its own card
and checksum. In the new card, output scale = gain / 2 x BASE's scale and blend weight = gain / 2
(the other model's own card scales its output), so uv = gain x (BASE's uv + the other's uv) / 2.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from colorize_core.atomic import write_atomic
from colorize_core.model import Model, ModelCard, ModelError


def blend_card(base: Path, other: str, gain: float, name: str, extra: dict | None = None) -> dict:
    """Rewrite `base`'s card to blend in `other` (a .tflite beside it); returns the new card.

    SystemExit if the gain is not finite and positive, if the card blends already (a second
    blend would compound the scale) or if the pair does not load as one model.
    """
    if not (math.isfinite(gain) and gain > 0):
        raise SystemExit(f"--gain must be a finite number above 0, not {gain}")
    try:
        card, theirs = ModelCard.read(base), ModelCard.read(base.parent / other)
    except ModelError as exc:
        raise SystemExit(str(exc)) from exc
    if card.blend is not None:
        raise SystemExit(f"{base}: its card blends in {card.blend[0]} already; export the model again first")
    # what each network is and scored alone moves under members: the card's own metrics are the blend's
    alone = ("training", "training_time", "quantization_check", "metrics")
    raw = {k: v for k, v in card.raw.items() if k not in alone}
    raw["members"] = [{"name": c.name, "file": c.path.name, "sha256": c.sha256, "output_scale": c.output_scale,
                       **{k: c.raw[k] for k in alone if k in c.raw}} for c in (card, theirs)]
    raw["training"] = {"made_by": "convert.blend", "gain": gain, "members": [card.name, theirs.name]}
    raw["output"] = dict(raw["output"], scale=round(gain / 2 * card.output_scale, 12))
    raw["blend"] = {"model": other, "weight": gain / 2,
                    "note": f"uv = {gain} x ({card.name}'s uv + {theirs.name}'s uv) / 2; the two run side by side"}
    raw.update(extra or {})
    raw["name"] = name
    card_path = base.with_suffix(".json")
    before = card_path.read_bytes()
    _replace(card_path, (json.dumps(raw, indent=2) + "\n").encode())
    try:
        Model(base, threads=1)
    except ModelError as exc:
        _replace(card_path, before)
        raise SystemExit(f"the blend does not load, card restored: {exc}") from exc
    return raw


def _replace(path: Path, data: bytes) -> None:
    """An existing card rewritten whole or not at all (the shipped default's card is rewritten in place)."""
    write_atomic(path, lambda f: f.write(data), overwrite=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m convert.blend", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("base", type=Path, help="an exported .tflite with its card (the card is rewritten)")
    ap.add_argument("--with", dest="other", required=True, help="the other model's .tflite file name, beside BASE")
    ap.add_argument("--gain", type=float, default=1.0, help="saturation calibration of the mean (default 1.0)")
    ap.add_argument("--name", required=True, help="the blended model's name for the card")
    ap.add_argument("--card-extra", type=Path, help="JSON with more card fields (architecture, terms, ...)")
    args = ap.parse_args(argv)
    extra = json.loads(args.card_extra.read_text()) if args.card_extra else None
    card = blend_card(args.base, args.other, args.gain, args.name, extra)
    print(json.dumps({"wrote": str(args.base.with_suffix(".json")), "name": card["name"], "blend": card["blend"]}))
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
