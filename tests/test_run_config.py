"""convert/run_config.py and convert/errors.py: a run's saved arguments rebuild its configuration,
runs written before a key existed load as what they were trained with, and a command reports a
library error as a message and exit status 1 (no training: these are fast)."""

import json

import pytest

pytest.importorskip("tensorflow")

from convert import models, runs, train  # noqa: E402
from convert.errors import ConvertError  # noqa: E402
from convert.run_config import OLD_RUN_DEFAULTS, Mode, RunConfig  # noqa: E402

# a block5 fine-tune's config.json as convert.train wrote it (/work/runs/s14/cls-hints-ft5)
SAVED = {
    "model": "hyper",
    "loss": "classify",
    "chroma_size": 56,
    "end_to_end": False,
    "transfer": True,
    "optimizer": "adam",
    "lr": 5e-05,
    "cosine": True,
    "epochs": 1,
    "batch": 32,
    "train_photos": 19898,
    "tune_photos": 500,
    "cache": "/runs/cache",
    "last_activation": "leaky_relu",
    "input_size": 224,
    "head_width": 128,
    "hints": True,
    "precision": "mixed_bfloat16",
    "finetune": "block5",
    "finetune_from": "/runs/cls-hints",
    "bins": 480,
    "train_seconds": 1189.5,
    "final_lr": 0.0,
}


def test_a_saved_config_loads_typed_and_writes_back_the_same_keys(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(SAVED))
    config = runs.read_config(tmp_path)
    assert config.mode is Mode.FINETUNE_BLOCK5 and config.finetune_from == "/runs/cls-hints"
    assert (config.head, config.head_width, config.precision, config.hints) == (
        "classification",
        128,
        "mixed_bfloat16",
        True,
    )
    assert dict(config.record) == {
        "train_photos": 19898,
        "tune_photos": 500,
        "bins": 480,
        "train_seconds": 1189.5,
        "final_lr": 0.0,
    }
    assert config.to_json() == SAVED
    with pytest.raises(TypeError):
        config.record["bins"] = 1  # frozen, its mappings too


@pytest.mark.parametrize("key", sorted(OLD_RUN_DEFAULTS))
def test_a_run_from_before_a_key_existed_loads_as_it_was_trained(key):
    old = {k: v for k, v in SAVED.items() if k != key}
    assert getattr(RunConfig.from_json(old), key) == OLD_RUN_DEFAULTS[key]
    # the default moved on; old runs did not
    assert OLD_RUN_DEFAULTS["last_activation"] != models.LAST_ACTIVATION


def test_modes_are_the_two_keys_config_json_has_always_had():
    for mode in Mode:
        saved = RunConfig(
            cache="c", mode=mode, finetune_from="r" if mode.finetune else None
        ).to_json()
        assert "finetune" in saved or mode.finetune is None
        assert RunConfig.from_json(saved).mode is mode
    assert Mode.FINETUNE_ALL.from_photos and not Mode.FINETUNE_BLOCK5.from_photos
    with pytest.raises(ValueError, match="names the run it starts from"):
        RunConfig(cache="c", mode=Mode.FINETUNE_ALL)
    with pytest.raises(ValueError, match="precision"):
        RunConfig(cache="c", precision="float16")


def test_one_teacher_is_saved_as_a_string_several_as_a_list():
    one = RunConfig(cache="c", distill=1.0, distill_from="/t")
    two = RunConfig(cache="c", distill=0.5, distill_from=["/t", "/u"])
    assert one.distill_from == ("/t",) and one.to_json()["distill_from"] == "/t"
    assert two.to_json()["distill_from"] == ["/t", "/u"]
    assert RunConfig.from_json(two.to_json()) == two


def test_train_main_reports_a_library_error_as_status_1(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        train.main(
            [
                str(run),
                "--cache",
                str(tmp_path / "cache"),
                "--weights",
                "w.h5",
                "--distill-from",
                "fast",
            ]
        )
        == 1
    )
    assert "need --distill A" in capsys.readouterr().err
    assert not (run / "config.json").exists()
    with pytest.raises(
        SystemExit
    ) as exit_:  # flags that exclude each other: argparse's usage error
        train.main(
            [
                str(run),
                "--cache",
                "c",
                "--weights",
                "w.h5",
                "--end-to-end",
                "--finetune-block5",
                "r",
            ]
        )
    assert exit_.value.code == 2


def test_a_folder_with_no_run_is_an_error_for_people(tmp_path):
    assert runs.read_config(tmp_path) is None
    with pytest.raises(ConvertError, match="no run here"):
        runs.load_inference_model(tmp_path)
