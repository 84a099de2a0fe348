"""The model contract: the shipped .tflite, its card, the checksum, the shapes."""

import json
import shutil

import numpy as np
import pytest

from colorize_core.model import (
    DEFAULT_MODEL,
    SHIPPED_DIR,
    SHIPPED_MODELS,
    Model,
    ModelCard,
    ModelError,
)


@pytest.mark.parametrize("name", SHIPPED_MODELS)
def test_shipped_model_has_a_complete_card(name):
    path = SHIPPED_DIR / f"{name}.tflite"
    card = ModelCard.read(path)
    raw = card.raw
    for key in (
        "name",
        "sha256",
        "input",
        "output",
        "quantization",
        "architecture",
        "training",
        "metrics",
        "terms",
    ):
        assert key in raw, f"model card lacks {key}"
    assert path.stat().st_size <= 20 * 2**20


def test_shipped_models_by_name():
    assert Model().card.name == Model("default").card.name == ModelCard.read(DEFAULT_MODEL).name
    fast = Model("fast")
    assert fast.card.input_size == (112, 112) and fast.card.name != Model().card.name
    with pytest.raises(ModelError, match="shipped models, by name: default, fast"):
        Model("fastest")


def test_a_shipped_name_wins_over_a_folder_or_file_of_that_name(tmp_path, monkeypatch):
    """`--model fast` is the shipped model even with a folder or file called fast here;
    ./fast is the file."""
    (tmp_path / "default").mkdir()
    shutil.copy(DEFAULT_MODEL, tmp_path / "fast")
    shutil.copy(DEFAULT_MODEL.with_suffix(".json"), tmp_path / "fast.json")
    monkeypatch.chdir(tmp_path)
    assert Model("fast").card.input_size == (112, 112)
    assert Model("default").card.name == Model().card.name
    assert Model("./fast").card.input_size == (224, 224)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True])
def test_bad_thread_counts_are_value_errors(threads):
    with pytest.raises(ValueError, match="threads must be a whole number of 1 or more"):
        Model(threads=threads)


@pytest.mark.parametrize("name", SHIPPED_MODELS)
def test_shipped_model_predicts_chroma_of_the_card_shape(name):
    m = Model(name)
    w, h = m.card.input_size
    uv = m.predict(np.full((h, w), 128.0, np.float32))
    cw, ch = m.card.chroma_size
    assert uv.shape == (ch, cw, 2)
    assert np.isfinite(uv).all() and np.abs(uv).max() <= 1.0


@pytest.fixture
def model_copy(tmp_path):
    dst = tmp_path / "m.tflite"
    shutil.copy(DEFAULT_MODEL, dst)
    shutil.copy(DEFAULT_MODEL.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def test_corrupt_model_is_refused_by_checksum(model_copy):
    data = bytearray(model_copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"m\.tflite: checksum mismatch"):
        Model(model_copy)


def test_a_model_file_changed_after_loading_is_hashed_again(tmp_path):
    model = tmp_path / "f.tflite"
    for suffix in (".tflite", ".json"):
        shutil.copy((SHIPPED_DIR / "fast").with_suffix(suffix), model.with_suffix(suffix))
    Model(model)  # hashed once and remembered for this version of the file
    data = bytearray(model.read_bytes())
    data[len(data) // 3] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"f\.tflite: checksum mismatch"):
        Model(model)


def test_missing_card_and_missing_file(model_copy, tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        Model(tmp_path / "nope.tflite")
    model_copy.with_suffix(".json").unlink()
    with pytest.raises(ModelError, match="no model card"):
        Model(model_copy)


def test_card_that_does_not_match_the_tensors(model_copy):
    card_path = model_copy.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["output"]["width"] = card["output"]["height"] = 7
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="do not match the card"):
        Model(model_copy)


def test_not_a_model_at_all(model_copy):
    import hashlib

    model_copy.write_bytes(b"this is not a flatbuffer" * 10)
    card_path = model_copy.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["sha256"] = hashlib.sha256(model_copy.read_bytes()).hexdigest()
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="LiteRT cannot load"):
        Model(model_copy)


def test_a_card_that_blends_in_a_second_model_is_refused(tmp_path):
    """Cards of the former two-network default name a second file; this runtime runs one network a
    card and says so instead of running half of it."""
    path = tmp_path / "old.tflite"
    shutil.copy(DEFAULT_MODEL, path)
    card = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(
        json.dumps(dict(card, blend={"model": "hints.tflite", "weight": 0.55}))
    )
    with pytest.raises(ModelError, match="no longer runs"):
        Model(path)


def test_cards_are_written_only_as_the_runtime_reads_them(tmp_path):
    """card.write_card checks a card with the reader before writing; a written card loads."""
    from colorize_core.card import new_card, write_card

    data = (SHIPPED_DIR / "default.tflite").read_bytes()
    (tmp_path / "m.tflite").write_bytes(data)
    card = new_card(
        data,
        "m.tflite",
        name="m",
        input_size=224,
        chroma_size=56,
        quantization="dynamic",
        hints=True,
    )
    assert write_card(tmp_path / "m.tflite", card).hint_shape == (1, 56, 56, 3)
    assert Model(tmp_path / "m.tflite").card.takes_hints
    bad = dict(card, input={"width": "wide"})
    with pytest.raises(ModelError, match="malformed model card"):
        write_card(tmp_path / "bad.tflite", bad)
    assert not (tmp_path / "bad.json").exists()


def test_inputs_are_told_apart_by_the_cards_shapes_not_names():
    from colorize_core.model import split_inputs

    luma = {
        "name": "serving_default_hints:0",
        "shape": np.array([1, 224, 224, 1]),
    }  # a misleading name
    hint = {"name": "serving_default_input:0", "shape": np.array([1, 56, 56, 3])}
    assert split_inputs([hint, luma], (1, 224, 224, 1)) == (luma, hint)
    with pytest.raises(ModelError, match="one luminance input"):
        split_inputs([hint], (1, 224, 224, 1))
