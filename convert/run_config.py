"""A training run's configuration: the arguments that rebuild the run, typed and frozen, and the
config.json they are saved as (nanoGPT style: a run folder carries what rebuilds it).

Runs written by older code lack keys that were added later; `RunConfig.from_json` fills them with
what those runs were trained with, here and nowhere else, so the rest of convert/ reads one shape.
"""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from convert import models

PRECISIONS = ("float32", "mixed_bfloat16")

# what a run written before a key existed was trained with (the key's absence means this value)
OLD_RUN_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "input_size": models.INPUT_SIZE,  # before --input-size
        "last_activation": "relu",  # before the dead-ReLU fix (leaky_relu since)
        "head_width": models.HEAD_WIDTH["regression"],  # before the head's width was recorded
        "precision": "float32",  # before --precision (only non-float32 is written)
    }
)


class Mode(enum.Enum):
    """How a run trains. config.json records it as `end_to_end` and `finetune`, as it always has."""

    FROZEN = "frozen"  # a decoder on the frozen encoder's cached features
    END_TO_END = "end_to_end"  # the whole network, from the photos
    FINETUNE_BLOCK5 = (
        "block5"  # a frozen run's decoder with VGG16's block5, on cached block4 features
    )
    FINETUNE_ALL = "all"  # a run's whole inference model (a pruned one's too), from the photos

    @property
    def finetune(self) -> str | None:
        """What config.json's `finetune` says: "block5", "all",
        or None for a run that starts fresh."""
        return self.value if self in (Mode.FINETUNE_BLOCK5, Mode.FINETUNE_ALL) else None

    @property
    def from_photos(self) -> bool:
        """Whether the network reads the photos (config.json's `end_to_end`)
        rather than cached features."""
        return self in (Mode.END_TO_END, Mode.FINETUNE_ALL)

    @classmethod
    def of(cls, end_to_end: bool, finetune: str | None) -> Mode:
        """The mode config.json's two keys describe."""
        if finetune is not None:
            return cls(finetune)
        return cls.END_TO_END if end_to_end else cls.FROZEN


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One run: what it trains and how. Path-like fields are kept as strings (config.json's form).

    loss None asks a fine-tune for its starting run's loss; head_width None for its head's
    HEAD_WIDTH. distill_from: the teachers, as given (names, folders, .tflite) until
    distill.configure resolves them to absolute paths. record: what the run measured (photo counts,
    bins, seconds, final learning rate, a pruning's figures), saved beside the arguments and never
    read to rebuild it.
    """

    cache: str
    model: str = "hyper"
    loss: str | None = "mse"
    chroma_size: int = 56
    mode: Mode = Mode.FROZEN
    transfer: bool = False
    optimizer: str = "adam"
    lr: float = 1e-3
    cosine: bool = False
    epochs: int = 10
    batch: int = 16
    last_activation: str = models.LAST_ACTIVATION
    input_size: int = models.INPUT_SIZE
    head_width: int | None = None
    hints: bool = False
    precision: str = "float32"
    finetune_from: str | None = None
    widths: Mapping[str, int] | None = None
    pruned_from: str | None = None
    distill: float = 0.0
    distill_from: tuple[str, ...] = ()
    distill_mirror: bool = False
    record: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        """Path-likes to strings, mappings read-only; refuse what no run can be."""
        for name in ("cache", "finetune_from", "pruned_from"):
            if getattr(self, name) is not None:
                # frozen: normalised once, here
                object.__setattr__(self, name, str(getattr(self, name)))
        object.__setattr__(self, "distill_from", _teacher_names(self.distill_from))
        object.__setattr__(self, "record", MappingProxyType(dict(self.record)))
        if self.widths is not None:
            object.__setattr__(self, "widths", MappingProxyType(dict(self.widths)))
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: choose from {PRECISIONS}")
        if (self.finetune_from is None) != (self.mode.finetune is None):
            raise ValueError(
                f"mode {self.mode.name} with finetune_from={self.finetune_from!r}: a fine-tune, "
                "and only a fine-tune, names the run it starts from"
            )

    @property
    def head(self) -> str:
        """The decoder's output: logits over chroma bins for the classification loss, else UV."""
        return "classification" if self.loss == "classify" else "regression"

    def with_record(self, **figures: Any) -> RunConfig:
        """This config with more measured figures recorded."""
        return dataclasses.replace(self, record={**self.record, **figures})

    def to_json(self) -> dict[str, Any]:
        """config.json's keys: the arguments, the optional ones only when set, then the record."""
        out: dict[str, Any] = dict(
            model=self.model,
            loss=self.loss,
            chroma_size=self.chroma_size,
            end_to_end=self.mode.from_photos,
            transfer=self.transfer,
            optimizer=self.optimizer,
            lr=self.lr,
            cosine=self.cosine,
            epochs=self.epochs,
            batch=self.batch,
            cache=self.cache,
            last_activation=self.last_activation,
            input_size=self.input_size,
            head_width=self.head_width,
        )
        if self.hints:
            out["hints"] = True
        if self.precision != "float32":
            out["precision"] = self.precision
        if self.finetune_from is not None:
            out.update(finetune=self.mode.finetune, finetune_from=self.finetune_from)
        if self.widths is not None:
            out.update(widths=dict(self.widths), pruned_from=self.pruned_from)
        if self.distill:
            teachers = self.distill_from
            out.update(
                distill=self.distill,
                distill_from=teachers[0] if len(teachers) == 1 else list(teachers),
            )
            if self.distill_mirror:
                out["distill_mirror"] = True
        return {**out, **self.record}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunConfig:
        """A saved run's config, from whichever version of convert.train wrote it."""
        data = {**OLD_RUN_DEFAULTS, **data}
        arguments = {f.name for f in dataclasses.fields(cls)} - {"mode", "record"}
        return cls(
            mode=Mode.of(bool(data.get("end_to_end")), data.get("finetune")),
            record={
                k: v for k, v in data.items() if k not in arguments | {"end_to_end", "finetune"}
            },
            **{k: data[k] for k in arguments if data.get(k) is not None},
        )


def _teacher_names(named: str | Path | Iterable[str | Path] | None) -> tuple[str, ...]:
    """distill_from as a tuple of strings: config.json records one teacher as a string,
    several as a list."""
    if named is None:
        return ()
    return (str(named),) if isinstance(named, (str, Path)) else tuple(str(t) for t in named)
