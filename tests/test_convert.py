"""convert/: dataset preparation, the models, a few training steps, every export, the metrics.

Runs on photos the test makes itself and with no ImageNet weights (the encoder is random), so
it needs nothing from ../shared; it does need the `train` extra (TensorFlow), else it skips.
"""

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytest.importorskip("tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from convert import (  # noqa: E402
    dataset,
    evaluate,
    export,
    features,
    losses,
    metrics,
    models,
    prune,
    runs,
    train,
)
from convert.errors import ConvertError  # noqa: E402
from convert.run_config import Mode, RunConfig  # noqa: E402


def _photo(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    im = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 255, 3)))
    d = ImageDraw.Draw(im)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w - 10)), int(rng.integers(0, h - 10))
        d.ellipse(
            [x0, y0, x0 + int(rng.integers(10, w)), y0 + int(rng.integers(10, h))],
            fill=tuple(int(v) for v in rng.integers(0, 255, 3)),
        )
    return im


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    (root / "sub").mkdir()
    for i in range(10):
        _photo(rng, int(rng.integers(150, 400)), int(rng.integers(150, 400))).save(
            root / ("sub" if i % 2 else "") / f"p{i}.jpg"
        )
    _photo(rng, 300, 200).convert("L").save(root / "gray.png")
    _photo(rng, 200, 300).convert("L").convert("RGB").save(root / "gray_rgb.jpg")
    return root


@pytest.fixture(scope="module")
def cache(photo_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("cache")
    dataset.prepare(photo_dir, path, workers=1, progress=False)
    return path


def test_dataset_drops_gray_crops_and_splits(cache, photo_dir):
    crops, index = dataset.load(cache)
    assert crops.shape == (10, 224, 224, 3) and crops.dtype == np.uint8
    assert sorted(os.path.basename(p) for p in index["dropped_grayscale"]) == [
        "gray.png",
        "gray_rgb.jpg",
    ]
    assert sorted(sum(index["splits"].values(), [])) == list(range(10))
    for split, rows in index["splits"].items():  # each photo's split comes from its own path
        assert all(
            dataset.split_of(os.path.relpath(index["photos"][i], photo_dir)) == split for i in rows
        )
    # cached: same split, no rework
    again = dataset.prepare(photo_dir, cache, workers=1, progress=False)
    assert again["splits"] == index["splits"]


def test_split_is_stable_under_additions_and_re_encoding():
    names = [f"set{i % 3}/photo{i}.jpg" for i in range(3000)]
    before = {n: dataset.split_of(n) for n in names}
    counts = {k: sum(v == k for v in before.values()) / len(names) for k in dataset.SPLIT_FRACTIONS}
    assert all(abs(counts[k] - f) < 0.03 for k, f in dataset.SPLIT_FRACTIONS.items())
    assert all(dataset.split_of(n.replace(".jpg", ".webp")) == s for n, s in before.items())
    # adding photos to the folder leaves every existing photo's split as it was
    more = names + [f"new/extra{i}.webp" for i in range(500)]
    rows = dataset.split_rows(more)
    assert all(before[names[i]] == k for k, idx in rows.items() for i in idx if i < len(names))


def test_a_cache_of_a_changed_folder_is_refused_then_rebuilt(photo_dir, tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(photo_dir, folder)
    cache = tmp_path / "cache"
    first = dataset.prepare(folder, cache, workers=1, progress=False)
    for photo in folder.rglob("*.jpg"):  # copied again (new times, same files): still this cache
        os.utime(photo, (1e9, 1e9))
    assert dataset.load(cache)[1]["fingerprint"] == first["fingerprint"]
    rng = np.random.default_rng(5)
    _photo(rng, 240, 260).save(folder / "added.jpg")
    with pytest.raises(dataset.StaleCacheError, match="convert.dataset"):
        dataset.load(cache)
    second = dataset.prepare(folder, cache, workers=1, progress=False)
    crops, index = dataset.load(cache)
    assert len(crops) == len(first["photos"]) + 1 == len(index["photos"])
    old = {p: k for k, rows in first["splits"].items() for p in (first["photos"][i] for i in rows)}
    new = {
        p: k for k, rows in second["splits"].items() for p in (second["photos"][i] for i in rows)
    }
    assert all(new[p] == k for p, k in old.items())


def test_inputs_and_targets_use_the_runtime_colour_math(cache):
    crops, _ = dataset.load(cache)
    ys, uvs = (
        dataset.lumas(np.asarray(crops[:2])),
        dataset.chroma_targets(np.asarray(crops[:2]), 33),
    )
    assert ys.shape == (2, 224, 224, 1) and uvs.shape == (2, 33, 33, 2)
    assert -1 <= ys.min() and ys.max() <= 1 and -1 <= uvs.min() and uvs.max() <= 1


def test_seed_network_has_the_reports_parameter_count():
    _, _, model = models.build("seed", weights=None, chroma_size=33)
    assert model.count_params() == 143_183_810
    assert model.output_shape == (None, 33, 33, 2)


def test_chroma_bins_and_rebalancing():
    uv = np.random.default_rng(0).normal(0, 0.1, (5000, 2)).clip(-1, 1)
    centres, weights = losses.chroma_bins(uv)
    assert centres.shape[1] == 2 and len(weights) == len(centres)
    assert weights.min() > 0 and weights.max() / weights.min() > 1.5  # rare colours weigh more


def test_soft_encoding_is_a_distribution_peaked_at_the_nearest_bin():
    rng = np.random.default_rng(1)
    centres, _ = losses.chroma_bins(rng.normal(0, 0.2, (20000, 2)).clip(-1, 1))
    uv = rng.normal(0, 0.2, (64, 2)).clip(-0.5, 0.5).astype(np.float32)
    soft = np.asarray(losses.soft_encode(uv, centres))
    assert soft.shape == (64, len(centres)) and soft.min() >= 0
    np.testing.assert_allclose(soft.sum(-1), 1.0, rtol=1e-5)
    nearest = np.argmin(((uv[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert (soft.argmax(-1) == nearest).all()


def test_rebalancing_weights_average_one_over_the_prior():
    uv = np.random.default_rng(2).normal(0, 0.15, (20000, 2)).clip(-1, 1)
    centres, prior = losses.chroma_prior(uv)
    weights = losses.rebalancing_weights(prior)
    assert prior.sum() == pytest.approx(1.0) and len(weights) == len(centres)
    assert float(np.sum(prior * weights)) == pytest.approx(1.0, rel=1e-5)
    assert weights[np.argmin(prior)] > weights[np.argmax(prior)]  # the rare colour weighs more
    np.testing.assert_allclose(losses.chroma_bins(uv)[1], weights)


def test_annealed_mean_is_the_mode_when_cold_and_the_mean_at_one():
    rng = np.random.default_rng(3)
    centres = rng.uniform(-0.5, 0.5, (40, 2)).astype(np.float32)
    logits = rng.normal(0, 2, (5, 7, 40)).astype(np.float32)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(
        np.asarray(losses.annealed_uv(logits, centres, 1.0)), p @ centres, atol=1e-5
    )
    np.testing.assert_allclose(
        np.asarray(losses.annealed_uv(logits, centres, 1e-3)), centres[logits.argmax(-1)], atol=1e-4
    )
    # the read-out layers inside the exported model give the same as the training ops
    inp = models.keras.Input((7, 40))
    layer_model = models.keras.Model(inp, models.annealed_mean(inp, centres, 0.38))
    np.testing.assert_allclose(
        layer_model.predict(logits, verbose=0),
        np.asarray(losses.annealed_uv(logits, centres, 0.38)),
        atol=1e-5,
    )
    # corrected for the rebalancing: the weights divided out of the distribution, then annealed
    weights = rng.uniform(0.2, 5.0, 40).astype(np.float32)
    corrected = models.keras.Model(inp, models.annealed_mean(inp, centres, 0.5, weights))
    np.testing.assert_allclose(
        corrected.predict(logits, verbose=0),
        np.asarray(losses.annealed_uv(logits - np.log(weights), centres, 0.5)),
        atol=1e-5,
    )


def test_log_mse_is_the_mean_per_photo_log_error():
    truth = np.zeros((2, 4, 4, 2), np.float32)
    pred = truth.copy()
    pred[0] += 0.1  # photo 0: MSE 0.01; photo 1 exact, held at the floor
    got = float(losses.log_mse(truth, pred))
    assert got == pytest.approx(
        (np.log(0.01 + losses.LOG_MSE_FLOOR) + np.log(losses.LOG_MSE_FLOOR)) / 2, rel=1e-5
    )


@pytest.fixture(scope="module")
def frozen_run(cache, tmp_path_factory):
    """Frozen-encoder mode: cached features (random encoder here), a classification decoder."""
    features.extract(cache, None, progress=False)
    run = tmp_path_factory.mktemp("run")
    train.train(
        run,
        RunConfig(cache=cache, model="hyper", loss="classify", chroma_size=56, epochs=1, batch=4),
        train.Session(progress=0),
    )
    return run


def test_training_writes_logs_curves_figures_and_resumes(frozen_run, cache):
    rows = (frozen_run / "log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch") and len(rows) == 2
    assert (frozen_run / "curves.png").exists() and (
        frozen_run / "figures" / "epoch_001.png"
    ).exists()
    fig = Image.open(frozen_run / "figures" / "epoch_001.png")
    n_tune = min(len(dataset.load(cache)[1]["splits"]["tune"]), train.FIGURE_PHOTOS)
    # truth | input | prediction, a row per tune photo
    assert n_tune >= 2 and fig.size == (3 * 224, n_tune * 224)
    train.train(
        frozen_run,
        RunConfig(cache=cache, model="hyper", loss="classify", chroma_size=56, epochs=2, batch=4),
        train.Session(progress=0),
    )
    assert len((frozen_run / "log.csv").read_text().splitlines()) == 3  # resumed at epoch 2


def test_runs_from_before_the_leaky_fix_load_with_their_relu(frozen_run, tmp_path):
    """A run whose config predates last_activation was trained with a plain ReLU
    and must load as one."""
    current, config = runs.load_inference_model(frozen_run)
    assert config.last_activation == "leaky_relu"
    for name in ("model.weights.h5", "bins.npz"):
        shutil.copy(frozen_run / name, tmp_path / name)
    saved = config.to_json()
    del saved["last_activation"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    old, old_config = runs.load_inference_model(tmp_path)
    assert old_config.last_activation == "relu"

    def layer_names(m):
        return {layer.name for layer in m.get_layer("hyper_classification_decoder").layers}

    assert "dec_conv3_leaky" in layer_names(current) and "dec_conv3_relu" in layer_names(old)


@pytest.fixture(scope="module")
def vgg_weights(tmp_path_factory):
    """A random VGG16 in a weights file, standing in for the ImageNet one: the encoder, its cached
    features and a VGG16 block rebuilt from the file must all agree."""
    import keras

    path = tmp_path_factory.mktemp("vgg") / "vgg16.weights.h5"
    keras.applications.VGG16(
        include_top=False, weights=None, input_shape=(224, 224, 3)
    ).save_weights(path)
    return str(path)


def test_block5_finetune_on_cached_block4_features(photo_dir, vgg_weights, tmp_path):
    cache = tmp_path / "cache"
    dataset.prepare(photo_dir, cache, workers=1, progress=False)
    cached, _ = features.extract(cache, vgg_weights, progress=False)
    block4 = features.extend(cache, vgg_weights, "block4", progress=False)
    # block5 rebuilt from the file, on the extended cache, gives the encoder's own block5 features
    block5 = models.build_vgg_stage("block5", vgg_weights).predict(
        np.asarray(block4, np.float32), verbose=0
    )
    truth = np.asarray(cached["block5_conv3"], np.float32)
    assert np.abs(block5 - truth).max() < 0.01 * np.abs(truth).max()

    frozen, tuned = tmp_path / "frozen", tmp_path / "tuned"
    train.train(
        frozen,
        RunConfig(cache=cache, model="hyper", loss="mse", epochs=1, batch=4),
        train.Session(weights=vgg_weights, progress=0),
    )
    config = train.train(
        tuned,
        RunConfig(
            cache=cache,
            mode=Mode.FINETUNE_BLOCK5,
            loss="mse",
            epochs=1,
            batch=4,
            lr=1e-3,
            finetune_from=frozen,
        ),
        train.Session(weights=vgg_weights, progress=0),
    )
    assert config.mode is Mode.FINETUNE_BLOCK5 and config.finetune_from == str(frozen)
    assert runs.read_config(tuned) == config  # config.json rebuilds the run's configuration
    before, _ = runs.load_inference_model(frozen, vgg_weights)
    after, _ = runs.load_inference_model(tuned, vgg_weights)

    def kernel(model, name):
        return next(w for w in model.weights if w.path.endswith(f"{name}/kernel")).numpy()

    # below block5: frozen
    assert np.array_equal(kernel(before, "block4_conv3"), kernel(after, "block4_conv3"))
    # the fine-tuned block and decoder reach the saved model
    for trained in ("block5_conv3", "dec_conv3"):
        assert not np.allclose(kernel(before, trained), kernel(after, trained))
    # the saved model on photos computes what the fine-tune computed on the cached features
    crops, _ = dataset.load(cache)
    feats, order = features.load(cache, ("block3_pool", "block4_pool"))
    block5 = models.build_vgg_stage("block5", None)
    models.copy_stage_weights(after, block5, "block5")
    on_features = after.get_layer("hyper_regression_decoder").predict(
        [
            np.asarray(feats["block3_pool"], np.float32),
            block5.predict(np.asarray(feats["block4_pool"], np.float32), verbose=0),
        ],
        verbose=0,
    )
    on_photos = after.predict(dataset.lumas(np.asarray(crops[order])), verbose=0)
    assert np.abs(on_features - on_photos).max() < 0.01

    # a fine-tune resumes only as one
    with pytest.raises(ConvertError, match="resume it the same way"):
        train.train(
            tuned,
            RunConfig(cache=cache, loss="mse", epochs=2),
            train.Session(weights=vgg_weights, progress=0),
        )


def test_a_classification_hint_run_fine_tunes_block5_with_its_own_bins(
    photo_dir, vgg_weights, tmp_path
):
    """The colour-distribution head with hints, trained in bfloat16, then block5 fine-tuned with it:
    the fine-tune keeps the frozen run's bins (its logits are over them),
    loss, hints and precision."""
    cache = tmp_path / "cache"
    dataset.prepare(photo_dir, cache, workers=1, progress=False)
    features.extract(cache, vgg_weights, quantization="dynamic", progress=False)
    features.extend(cache, vgg_weights, "block4", progress=False)
    frozen, tuned = tmp_path / "frozen", tmp_path / "tuned"
    first = train.train(
        frozen,
        RunConfig(
            cache=cache, loss="classify", epochs=1, batch=4, hints=True, precision="mixed_bfloat16"
        ),
        train.Session(weights=vgg_weights, progress=0),
    )
    assert (
        first.head_width == models.HEAD_WIDTH["classification"]
        and first.precision == "mixed_bfloat16"
    )
    config = train.train(
        tuned,
        RunConfig(
            cache=cache,
            mode=Mode.FINETUNE_BLOCK5,
            loss=None,
            epochs=1,
            batch=4,
            finetune_from=frozen,
            precision="mixed_bfloat16",
        ),
        train.Session(weights=vgg_weights, progress=0),
    )
    assert (config.loss, config.hints, config.precision, config.mode) == (
        "classify",
        True,
        "mixed_bfloat16",
        Mode.FINETUNE_BLOCK5,
    )
    for key in ("centres", "weights"):
        np.testing.assert_array_equal(
            np.load(frozen / "bins.npz")[key], np.load(tuned / "bins.npz")[key]
        )
    model, _ = runs.load_inference_model(tuned, vgg_weights)
    assert [tuple(t.shape[1:]) for t in model.inputs] == [(224, 224, 1), (56, 56, 3)]
    # built for export: float, whatever the training precision
    assert model.outputs[0].dtype == "float32"


def test_a_smaller_encoder_view_trains_exports_and_runs(cache, vgg_weights, tmp_path):
    """--input-size 112: features cached beside the 224 ones, a decoder trained on them, and the
    exported model seeing the photo at 112 in the runtime, computing what training computed."""
    from colorize_core import Colorizer
    from colorize_core.model import Model

    with pytest.raises(ValueError, match="multiple of 16"):
        models.check_input_size(100)
    feats, order = features.extract(cache, vgg_weights, input_size=112, progress=False)
    assert feats["block3_pool"].shape[1:] == (14, 14, 256) and feats["block5_conv3"].shape[1:] == (
        7,
        7,
        512,
    )
    assert (cache / "input112" / "features.json").exists()
    run = tmp_path / "run"
    config = train.train(
        run,
        RunConfig(cache=cache, loss="mse", epochs=1, batch=4, input_size=112),
        train.Session(weights=vgg_weights, progress=0),
    )
    assert config.input_size == 112
    model, _ = runs.load_inference_model(run, vgg_weights)
    assert model.input_shape == (None, 112, 112, 1) and model.output_shape == (None, 56, 56, 2)
    crops, _ = dataset.load(cache)
    on_features = model.get_layer("hyper_regression_decoder").predict(
        [np.asarray(feats[t], np.float32) for t in models.ENCODER_OUTPUTS["hyper"]], verbose=0
    )
    on_photos = model.predict(dataset.lumas(np.asarray(crops[order]), 112), verbose=0)
    assert np.abs(on_features - on_photos).max() < 0.01
    with pytest.raises(ConvertError, match="--input-size 112"):  # resumed at another size: refused
        train.train(
            run,
            RunConfig(cache=cache, loss="mse", epochs=2),
            train.Session(weights=vgg_weights, progress=0),
        )

    out = tmp_path / "small.tflite"
    assert (
        export.main(
            [
                str(run),
                "--weights",
                vgg_weights,
                "--out",
                str(out),
                "--name",
                "small",
                "--check-photos",
                "2",
            ]
        )
        == 0
    )
    assert Model(out, threads=1).card.input_size == (112, 112)
    photo = Image.fromarray(np.asarray(crops[order[0]]))
    colored = Colorizer(out, threads=1).colorize(photo.convert("L"))
    assert colored.size == photo.size and colored.mode == "RGB"
    # the runtime's view of the photo is training's: same chroma as the Keras model on the same luma
    expected = model.predict(dataset.lumas(np.asarray(crops[order[:1]]), 112), verbose=0)[0]
    assert (
        np.abs(Colorizer(out, threads=1).predict_chroma(photo.convert("L")) - expected).max() < 0.05
    )


def test_pruning_reconstruction_recovers_a_layer_from_the_channels_kept():
    """Least squares on sampled 3x3 patches gives back a conv layer exactly, also when the dropped
    input channels are combinations of the kept ones (what makes pruning work at all)."""
    import tensorflow as tf

    rng = np.random.default_rng(1)
    kept = rng.normal(size=(6, 10, 10, 4)).astype(np.float32)
    mix = rng.normal(size=(4, 3)).astype(np.float32)
    full = np.concatenate([kept, kept @ mix], axis=-1)  # 7 channels, 3 of them redundant
    kernel = rng.normal(size=(3, 3, 7, 5)).astype(np.float32)
    bias = rng.normal(size=5).astype(np.float32)
    target = tf.nn.conv2d(full, kernel, 1, "SAME").numpy() + bias
    for student_in in (full, kept):
        k, b = prune.reconstruct(student_in, target, positions=100, rng=rng, ridge=1e-9)
        assert k.shape == (3, 3, student_in.shape[-1], 5)
        assert np.abs(tf.nn.conv2d(student_in, k, 1, "SAME").numpy() + b - target).max() < 1e-3


def test_pruned_encoder_is_smaller_recovers_exports_and_runs(
    cache, vgg_weights, frozen_run, tmp_path
):
    """convert.prune halves VGG16's inner layers of a trained run, keeps the decoder, and the
    pruned run fine-tunes whole, exports and runs in colorize_core like any other."""
    from colorize_core import Colorizer

    with pytest.raises(ValueError, match="block5_conv3 feeds the decoder"):
        models.check_widths(dict(models.VGG16_WIDTHS, block5_conv3=256))
    features.extract(cache, vgg_weights, input_size=64, progress=False)
    run, pruned, tuned = tmp_path / "run", tmp_path / "pruned", tmp_path / "tuned"
    train.train(
        run,
        RunConfig(cache=cache, loss="mse", epochs=1, batch=4, input_size=64),
        train.Session(weights=vgg_weights, progress=0),
    )
    config = prune.prune_run(pruned, run, cache, ratio=0.5, photos=7)
    assert config.widths["block4_conv2"] == 256 and config.widths["block3_conv3"] == 256
    assert config.record["encoder_macs"] < 0.35 * config.record["unpruned_encoder_macs"]
    original, _ = runs.load_inference_model(run, vgg_weights)
    model, _ = runs.load_inference_model(pruned, vgg_weights)
    assert model.count_params() < 0.5 * original.count_params()
    assert np.array_equal(
        original.get_layer("hyper_regression_decoder").get_weights()[0],
        model.get_layer("hyper_regression_decoder").get_weights()[0],
    )
    with pytest.raises(ConvertError, match="already holds a model"):
        prune.prune_run(pruned, run, cache, ratio=0.5, photos=7)
    with pytest.raises(ConvertError, match="use --finetune-all"):
        train.train(
            tmp_path / "no",
            RunConfig(cache=cache, mode=Mode.FINETUNE_BLOCK5, loss="mse", finetune_from=pruned),
            train.Session(weights=vgg_weights, progress=0),
        )

    with pytest.raises(ConvertError, match="needs a teacher"):
        train.train(
            tmp_path / "no",
            RunConfig(
                cache=cache, mode=Mode.FINETUNE_ALL, loss="mse", finetune_from=run, distill=1.0
            ),
            train.Session(weights=vgg_weights, progress=0),
        )
    config = train.train(
        tuned,
        RunConfig(
            cache=cache,
            mode=Mode.FINETUNE_ALL,
            loss="mse",
            epochs=1,
            batch=4,
            lr=1e-4,
            finetune_from=pruned,
            distill=1.0,
        ),
        train.Session(weights=vgg_weights, progress=0),
    )
    assert config.widths == prune.pruned_widths(0.5) and config.input_size == 64
    assert config.distill_from == (str(run.resolve()),)
    crops, index = dataset.load(cache)
    # the student's targets are the unpruned teacher's chroma for the training photos
    teacher_uv = original.predict(
        dataset.lumas(np.asarray(crops[np.asarray(index["splits"]["train"])]), 64), verbose=0
    )
    assert np.abs(np.load(tuned / "teacher_uv.npy") - teacher_uv).max() < 1e-4
    after, _ = runs.load_inference_model(tuned, vgg_weights)
    # the encoder trained too
    assert not np.allclose(
        model.get_layer("hyper_encoder").get_weights()[0],
        after.get_layer("hyper_encoder").get_weights()[0],
    )

    # another teacher, at its own input size: a 224x224 run teaches the 64x64 pruned one
    with pytest.raises(ConvertError, match="--distill-mirror need --distill A"):
        train.train(
            tmp_path / "no",
            RunConfig(
                cache=cache,
                mode=Mode.FINETUNE_ALL,
                loss="mse",
                finetune_from=pruned,
                distill_from=frozen_run,
            ),
            train.Session(progress=0),
        )
    other = tmp_path / "other"
    config = train.train(
        other,
        RunConfig(
            cache=cache,
            mode=Mode.FINETUNE_ALL,
            loss="mse",
            epochs=1,
            batch=4,
            finetune_from=pruned,
            distill=1.0,
            distill_from=frozen_run,
        ),
        train.Session(progress=0),
    )
    assert config.distill_from == (str(frozen_run.resolve()),) and config.input_size == 64
    big_teacher, _ = runs.load_inference_model(frozen_run)
    big_uv = big_teacher.predict(
        dataset.lumas(np.asarray(crops[np.asarray(index["splits"]["train"])]), 224), verbose=0
    )
    assert np.abs(np.load(other / "teacher_uv.npy") - big_uv).max() < 1e-4
    with pytest.raises(ConvertError, match="holds a run distilled 1.0 from"):
        train.train(
            other,
            RunConfig(
                cache=cache, mode=Mode.FINETUNE_ALL, loss="mse", finetune_from=pruned, distill=1.0
            ),
            train.Session(progress=0),
        )

    # the mirror-averaged teacher; a copied chroma file made by another teacher is not reused
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for f in ("teacher_uv.npy", "teacher_uv.json"):
        shutil.copy(tuned / f, mirror / f)  # made by `run`, not by frozen_run
    config = train.train(
        mirror,
        RunConfig(
            cache=cache,
            mode=Mode.FINETUNE_ALL,
            loss="mse",
            epochs=1,
            batch=4,
            finetune_from=pruned,
            distill=1.0,
            distill_from=frozen_run,
            distill_mirror=True,
        ),
        train.Session(progress=0),
    )
    assert config.distill_mirror is True
    assert np.abs(np.load(mirror / "teacher_uv.npy") - big_uv).max() < 1e-4
    train_crops = np.asarray(crops[np.asarray(index["splits"]["train"])])
    mirrored_uv = big_teacher.predict(dataset.lumas(train_crops[:, :, ::-1], 224), verbose=0)[
        :, :, ::-1
    ]
    assert np.abs(np.load(mirror / "teacher_uv_mirrored.npy") - mirrored_uv).max() < 1e-4
    assert json.loads((mirror / "teacher_uv_mirrored.json").read_text())["teacher"] == str(
        frozen_run.resolve()
    )
    with pytest.raises(ConvertError, match="with mirrors; resume it the same way"):
        train.train(
            mirror,
            RunConfig(
                cache=cache,
                mode=Mode.FINETUNE_ALL,
                loss="mse",
                finetune_from=pruned,
                distill=1.0,
                distill_from=frozen_run,
            ),
            train.Session(progress=0),
        )

    out = tmp_path / "pruned.tflite"
    assert (
        export.main([str(tuned), "--out", str(out), "--name", "pruned", "--check-photos", "2"]) == 0
    )
    card = json.loads(out.with_suffix(".json").read_text())
    assert (
        card["training"]["pruned_from"] == "run" and card["training"]["finetune_from"] == "pruned"
    )
    assert card["training"]["distill_from"] == "run"
    photo = Image.fromarray(np.asarray(crops[index["splits"]["tune"][0]])).convert("L")
    expected = after.predict(
        dataset.lumas(np.asarray(crops[index["splits"]["tune"][:1]]), 64), verbose=0
    )[0]
    assert np.abs(Colorizer(out, threads=1).predict_chroma(photo) - expected).max() < 0.05


def test_a_frozen_run_learns_the_mean_chroma_of_shipped_models(cache, frozen_run, tmp_path):
    """--distill-from names shipped models (twice: their mean teaches); each teacher's chroma is
    what the runtime predicts for the photo, and it is the run's training target."""
    from colorize_core import Colorizer

    with pytest.raises(ConvertError, match="not a training run"):
        train.train(
            tmp_path / "no",
            RunConfig(cache=cache, loss="mse", distill=1.0, distill_from=[tmp_path]),
            train.Session(progress=0),
        )
    run = tmp_path / "student"
    config = train.train(
        run,
        RunConfig(
            cache=cache,
            loss="mse",
            epochs=1,
            batch=4,
            distill=1.0,
            distill_from=["fast", "default"],
        ),
        train.Session(progress=0),
    )
    shipped = Path(__file__).resolve().parents[1] / "colorize_core" / "models"
    assert config.distill_from == (str(shipped / "fast.tflite"), str(shipped / "default.tflite"))
    assert json.loads((run / "config.json").read_text())["distill_from"] == list(
        config.distill_from
    )
    crops, index = dataset.load(cache)
    # a frozen run's photos, in its cache's order
    _, order = features.load(cache, models.ENCODER_OUTPUTS["hyper"])
    rows = order[np.isin(order, index["splits"]["train"])]
    for name, slot in (("fast", ""), ("default", "_2")):
        colorizer = Colorizer(name, threads=1)
        expected = [
            colorizer.predict_chroma(Image.fromarray(np.asarray(crops[r])).convert("L"))
            for r in rows
        ]
        assert np.abs(np.load(run / f"teacher_uv{slot}.npy") - np.stack(expected)).max() < 1e-6
        made_by = json.loads((run / f"teacher_uv{slot}.json").read_text())
        assert made_by["teacher_sha256"] == colorizer.model.card.sha256
        card_bytes = colorizer.model.card.path.with_suffix(
            ".json"
        ).read_bytes()  # a gain changes it
        assert made_by["teacher_card_sha256"] == hashlib.sha256(card_bytes).hexdigest()
    with pytest.raises(ConvertError, match="holds a run distilled 1.0 from"):
        train.train(
            run,
            RunConfig(cache=cache, loss="mse", distill=1.0, distill_from="fast"),
            train.Session(progress=0),
        )
    out = tmp_path / "student.tflite"
    assert (
        export.main([str(run), "--out", str(out), "--name", "student", "--check-photos", "2"]) == 0
    )
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["distill_from"] == ["fast.tflite", "default.tflite"]
    assert Colorizer(out, threads=1).predict_chroma(Image.new("L", (50, 40), 128)).shape == (
        56,
        56,
        2,
    )


def test_finetune_keeps_a_classification_runs_loss(frozen_run, cache, vgg_weights, tmp_path):
    with pytest.raises(ConvertError, match="its own loss, classify"):
        train.train(
            tmp_path,
            RunConfig(cache=cache, mode=Mode.FINETUNE_BLOCK5, loss="mse", finetune_from=frozen_run),
            train.Session(weights=vgg_weights, progress=0),
        )


def test_end_to_end_training_steps(cache, tmp_path):
    config = train.train(
        tmp_path,
        RunConfig(
            cache=cache,
            mode=Mode.END_TO_END,
            model="hyper",
            loss="euclidean",
            chroma_size=33,
            epochs=1,
            batch=4,
            lr=1e-3,
            cosine=True,
        ),
        train.Session(max_train=4, progress=0),
    )
    assert config.mode.from_photos and (tmp_path / "model.weights.h5").exists()
    # the cosine decay reached zero at the end of its epochs
    assert config.record["final_lr"] < 1e-9
    loss = float((tmp_path / "log.csv").read_text().splitlines()[1].split(",")[2])
    assert np.isfinite(loss)


def test_end_to_end_training_trains_the_encoder(cache, vgg_weights, tmp_path):
    """--end-to-end changes VGG16's own weights, not only the decoder's
    (a run that kept the encoder frozen would train and save just the same)."""
    train.train(
        tmp_path,
        RunConfig(
            cache=cache, mode=Mode.END_TO_END, loss="mse", epochs=1, batch=4, lr=1e-3, input_size=64
        ),
        train.Session(weights=vgg_weights, max_train=4, progress=0),
    )
    trained, _ = runs.load_inference_model(tmp_path)
    start = models.build_encoder("hyper", vgg_weights, 64)
    kernel = models.find_layer(trained, "block1_conv1").get_weights()[0]
    assert not np.allclose(kernel, models.find_layer(start, "block1_conv1").get_weights()[0])


def test_float_export_matches_keras(frozen_run):
    """Guards the converter's wrong batch-norm folding after a resize (the decoder avoids it)."""
    model, _ = runs.load_inference_model(frozen_run)
    ys = np.random.default_rng(1).uniform(-1, 1, (2, 224, 224, 1)).astype(np.float32)
    assert export.fidelity(model, export.to_tflite(model, "float32"), ys)["uv_max_error"] < 1e-3


def test_full_int8_keeps_the_luminance_levels():
    """Guards the int8 converter squeezing the [-1, 1] input to 3 levels (scale 1.0) in the
    channel concatenation before VGG16: the photo must reach VGG16 at 8-bit precision."""
    import keras

    from convert.models import VGG_MEAN_BGR, luma_to_vgg

    y = keras.Input((224, 224, 1))
    model = keras.Model(y, luma_to_vgg(y))
    ramp = np.broadcast_to(np.linspace(-1, 1, 224, dtype=np.float32)[None, :, None], (224, 224, 1))
    calib = np.stack([ramp, ramp[::-1], -ramp])
    out = export.run_tflite(
        export.to_tflite(model, "int8", representative=lambda: (c[None] for c in calib)), ramp[None]
    )[0][0]
    expected = (ramp + 1) * 127.5 - np.asarray(VGG_MEAN_BGR, np.float32)
    # one 8-bit level and rounding; 3 levels would be ~64 off
    assert np.abs(out - expected).max() < 2.5


@pytest.mark.parametrize("quantization", export.QUANTIZATIONS)
def test_every_quantization_exports_and_loads_in_the_runtime(
    frozen_run, cache, tmp_path, quantization
):
    from colorize_core import Colorizer

    model, config = runs.load_inference_model(frozen_run)
    crops, _ = dataset.load(cache)
    calib = dataset.lumas(np.asarray(crops[:2]))
    data = export.to_tflite(model, quantization, representative=lambda: (y[None] for y in calib))
    card = export.write_model(
        data,
        tmp_path / "m.tflite",
        name="test",
        input_size=224,
        chroma_size=56,
        quantization=quantization,
    )
    assert json.loads((tmp_path / "m.json").read_text())["sha256"] == card["sha256"]
    out = Colorizer(tmp_path / "m.tflite", threads=1).colorize(Image.new("L", (300, 200), 100))
    assert out.size == (300, 200) and out.mode == "RGB"


def test_metrics_on_known_inputs():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    gray = np.repeat(img.mean(-1, keepdims=True).astype(np.uint8), 3, -1)
    assert metrics.colorfulness(gray) == 0
    assert metrics.psnr(img, img) == metrics.PSNR_CAP
    assert metrics.ssim(img, img) == pytest.approx(1.0)
    assert metrics.chroma_auc(img, img) == pytest.approx(1.0)
    flat = np.full((8, 8, 3), 100, np.uint8)
    assert metrics.psnr(flat, flat + 10) == pytest.approx(20 * np.log10(25.5))
    assert metrics.chroma_auc(img, gray) < 0.9


def test_evaluate_and_compression_study(photo_dir, tmp_path):
    from colorize_core.model import DEFAULT_MODEL

    rows = evaluate.evaluate(photo_dir / "sub", [DEFAULT_MODEL], tmp_path, grid_photos=2)
    names = [r["name"] for r in rows]
    assert (
        names[0] == "gray (floor)"
        and names[-1] == "truth"
        and any(n.startswith("oracle") for n in names)
    )
    assert rows[0]["cf"] == 0 and rows[-1]["psnr"] == metrics.PSNR_CAP
    assert (tmp_path / "results.md").exists() and (tmp_path / "grid.png").exists()
    study = evaluate.compression_study(photo_dir / "sub", tmp_path)
    psnrs = [r["psnr"] for r in study]
    assert psnrs == sorted(psnrs)  # less chroma discarded, closer to the truth


def test_evaluate_a_subset_of_a_split_as_whole_frames(cache, photo_dir):
    _, index = dataset.load(cache)
    tune = index["splits"]["tune"]
    in_sub = [i for i in tune if "/sub/" in index["photos"][i]]
    names, truths = evaluate.load_eval_photos(
        cache, selection=evaluate.Selection(split="tune", match="/sub/", originals=True)
    )
    assert [n.split("/")[1] for n in names] == [
        os.path.basename(index["photos"][i]) for i in in_sub
    ]
    # the whole source frame, squeezed to 256x256 as Kodak is
    for i, truth in zip(in_sub, truths, strict=True):
        frame = Image.open(photo_dir / "sub" / os.path.basename(index["photos"][i])).convert("RGB")
        assert np.array_equal(truth, np.asarray(frame.resize((256, 256), Image.BICUBIC)))
    names, _ = evaluate.load_eval_photos(cache, selection=evaluate.Selection(split="tune"))
    assert names == [f"tune/{i}" for i in tune]
    with pytest.raises(ConvertError, match="match"):
        evaluate.load_eval_photos(
            cache, selection=evaluate.Selection(split="tune", match="no such folder")
        )


def test_photo_groups_and_per_group_evaluation(cache, tmp_path):
    assert evaluate.photo_group("/d/train/webfaces/x.webp") == "people"
    assert evaluate.photo_group("/d/train/imagenette/n01440764/x.jpg") == "ImageNet classes"
    assert evaluate.photo_group("/d/train/houses/x.webp") == "rooms and houses"
    assert (
        evaluate.photo_group("/d/train/pets/x.webp") == evaluate.photo_group("/d/p.jpg") == "other"
    )
    from colorize_core.model import DEFAULT_MODEL

    rows = evaluate.evaluate(
        cache, [DEFAULT_MODEL], tmp_path, selection=evaluate.Selection(split="tune"), grid_photos=1
    )
    _, index = dataset.load(cache)
    expected = {}
    for i in index["splits"]["tune"]:
        g = evaluate.photo_group(index["photos"][i])
        expected[g] = expected.get(g, 0) + 1
    for row in rows:
        assert {g: r["photos"] for g, r in row["groups"].items()} == expected
    assert all(
        f"{g}: {n} photos" in (tmp_path / "results.md").read_text() for g, n in expected.items()
    )


def test_semantic_check_recognises_real_photos_and_runs_in_evaluate(
    tmp_path, astronaut_rgb, coffee_rgb
):
    pytest.importorskip("efficientnet_lite_pytorch", reason="the semantic extra is not installed")
    from skimage import data

    from convert import semantic

    assert semantic.imagenet_class("/d/train/imagenette/n03888605/x.jpg") == 701
    assert semantic.imagenet_class("/d/train/pets/x.webp") is None
    classifier = semantic.Classifier()
    cat, cup = (
        np.asarray(Image.fromarray(data.chelsea()).resize((256, 256))),
        np.asarray(coffee_rgb.resize((256, 256))),
    )
    assert list(classifier.top1([cat, cup])) == [285, 967]  # Egyptian cat, espresso
    folder = tmp_path / "photos" / "imagenette" / "n03888605"
    folder.mkdir(parents=True)
    for i in range(6):
        (coffee_rgb if i % 2 else astronaut_rgb).rotate(90 * i).save(folder / f"p{i}.png")
    cache = tmp_path / "cache"
    dataset.prepare(tmp_path / "photos", cache, workers=1, progress=False)
    from colorize_core.model import DEFAULT_MODEL

    rows = evaluate.evaluate(
        cache,
        [DEFAULT_MODEL],
        tmp_path / "out",
        selection=evaluate.Selection(split="train"),
        semantic=True,
        grid_photos=1,
    )
    scored = [r for r in rows if "top1" in r]
    assert (
        [r["name"] for r in scored][0] == "gray (floor)"
        and scored[-1]["name"] == "truth"
        and len(scored) == 3
    )
    assert all(
        0 <= r["top1"] <= 1 and r["top1_photos"] == len(dataset.load(cache)[1]["splits"]["train"])
        for r in scored
    )
    assert "ImageNet top-1" in (tmp_path / "out" / "results.md").read_text()


def test_layer_visualizations(frozen_run, photo_dir, tmp_path):
    from convert import visualize

    written = visualize.visualize(frozen_run, photo_dir / "p0.jpg", tmp_path)
    assert {p.name for p in written} >= {
        "filters_block1_conv1.png",
        "activations_block1_conv2.png",
        "activations_dec_conv3.png",
    }
    assert Image.open(tmp_path / "filters_block1_conv1.png").size[0] > 100


def test_simulated_hints_reveal_patch_means_in_the_runtime_encoding():
    from conftest import hinted_cells as count

    from convert import hints as sim

    rng = np.random.default_rng(0)
    uv = rng.uniform(-0.5, 0.5, (56, 56, 2)).astype(np.float32)
    grid = sim.simulate(uv, np.random.default_rng(1), n_points=1, half=1)
    assert count(grid) in (4, 6, 9)  # one 3x3 patch, cut at a border
    cells = grid[..., 2] > 0
    np.testing.assert_allclose(
        grid[cells][:, :2], np.broadcast_to(uv[cells].mean(0), (cells.sum(), 2)), atol=1e-6
    )
    assert count(sim.simulate(uv, rng, n_points=0)) == 0
    drawn = [count(sim.simulate(uv, rng)) for _ in range(400)]
    assert 0.15 < np.mean([d == 0 for d in drawn]) < 0.35  # P_NONE of the photos get no hint
    assert max(drawn) > 25


@pytest.mark.parametrize(
    "loss, read_out", [("mse", {}), ("classify", {"temperature": 0.5, "prior_correction": 0.7})]
)
def test_hint_model_trains_exports_and_the_runtime_feeds_its_hints(
    frozen_run, cache, tmp_path, loss, read_out
):
    """A hint decoder on the cached features (the regression head, and the colour-distribution head
    the default ships with): trained a few steps with simulated hints, exported with a hints
    section in its card, and the runtime's hint grid gives the Keras model's chroma."""
    from colorize_core import Colorizer
    from colorize_core.hints import from_points
    from colorize_core.model import Model

    config = train.train(
        tmp_path / "run",
        RunConfig(cache=cache, loss=loss, epochs=1, batch=4, hints=True),
        train.Session(progress=0),
    )
    assert config.hints is True and config.loss == loss
    with pytest.raises(ConvertError, match="--hints"):
        train.train(
            tmp_path / "e2e",
            RunConfig(cache=cache, mode=Mode.END_TO_END, loss=loss, hints=True),
            train.Session(progress=0),
        )
    model, _ = runs.load_inference_model(tmp_path / "run", **read_out)
    assert [tuple(t.shape[1:]) for t in model.inputs] == [(224, 224, 1), (56, 56, 3)]
    out = tmp_path / "h.tflite"
    flags = (["--temperature", str(read_out["temperature"])] if read_out else []) + (
        ["--prior-correction", str(read_out["prior_correction"])]
        if "prior_correction" in read_out
        else []
    )
    assert (
        export.main(
            [
                str(tmp_path / "run"),
                "--out",
                str(out),
                "--name",
                "hint-test",
                "--check-photos",
                "2",
                *flags,
            ]
        )
        == 0
    )
    m = Model(out, threads=1)
    assert m.card.takes_hints and m.card.hint_grid == (56, 56)
    crops, index = dataset.load(cache)
    photo = Image.fromarray(np.asarray(crops[0])).convert("L")
    grid = from_points(
        [(20, 30, (200, 30, 30)), (180, 150, (30, 60, 220))], photo.size, m.card.hint_grid
    )
    y = dataset.lumas(np.asarray(crops[:1]))
    expected = model.predict([y, grid[None]], verbose=0)[0]
    got = m.predict(np.asarray(photo, np.float32), grid)
    assert np.abs(got - expected).max() < 0.05
    no_hints = model.predict([y, np.zeros_like(grid)[None]], verbose=0)[0]
    assert np.abs(m.predict(np.asarray(photo, np.float32)) - no_hints).max() < 0.05
    colored = Colorizer(out, threads=1).colorize(photo, hints=[(20, 30, (200, 30, 30))])
    assert colored.size == photo.size and colored.mode == "RGB"
