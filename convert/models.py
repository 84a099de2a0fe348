"""The colorization networks, each buildable by name.

Every model takes the luminance y in [-1, 1] as an (s, s, 1) input (s = 224 unless built with
another `input_size`, the encoder's resolution) and returns the compressed chroma (c, c, 2) in
[-1, 1]. The ImageNet VGG16 preprocessing (caffe style:
BGR, 0-255, mean subtracted) is a parameter-free layer inside the model, so the runtime needs
to know nothing but the model card.

Names:
  seed   the 2017 report's network: VGG16 conv base, Flatten, Dense 4096, Dense 4096,
         Dense 2*c*c tanh (143,183,810 parameters at c = 33).
  hyper  fully convolutional: VGG16 block3 and block5 features, a small decoder that predicts
         the chroma at its compressed size (no 100-million-parameter Dense head).
Heads: "regression" (tanh UV; MSE or Euclidean loss) or "classification" (logits over
quantized UV bins, read out by an annealed mean inside the model, as in Zhang et al. 2016).

Each model is split into an encoder (the VGG16 part) and a decoder, so that a frozen encoder's
features can be cached once and decoders trained from the cache in minutes on a CPU.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
from keras import layers

from colorize_core.hints import HINT_CHANNELS

INPUT_SIZE = 224
VGG_MEAN_BGR = (103.939, 116.779, 123.68)
ENCODER_OUTPUTS = {"seed": ("block5_conv3",), "hyper": ("block3_pool", "block5_conv3")}
ANNEAL_T = 0.38
LAST_ACTIVATION = "leaky_relu"
# channels of the hyper decoder's last conv, which the head reads: 32 carry two numbers (U, V), but
# logits over a few hundred chroma bins need a wider base (Zhang et al. read 313 bins from 256)
HEAD_WIDTH = {"regression": 32, "classification": 128}


def luma_to_vgg(y):
    """y in [-1, 1] (B, H, W, 1) -> VGG16's caffe input (BGR, 0-255, mean subtracted),
    no parameters.

    The luminance goes back to 0-255 before the three channels are concatenated: with the
    concatenation on [-1, 1] the full-int8 converter gave it a scale of 1.0, so the photo reached
    VGG16 as 3 gray levels (measured: UV RMSE 0.22 against float, for a signal of 0.10).
    """
    gray = layers.Rescaling(scale=127.5, offset=127.5, name="luma_to_255")(y)
    bgr = layers.Concatenate(name="gray_to_bgr")([gray, gray, gray])
    return layers.Rescaling(scale=1.0, offset=[-m for m in VGG_MEAN_BGR], name="vgg_preprocess")(
        bgr
    )


@contextlib.contextmanager
def precision_policy(name: str):
    """Keras' global dtype policy set to `name` inside the block,
    the previous one restored after."""
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def check_input_size(input_size: int) -> int:
    """The encoder's input side: VGG16 halves it four times before block5, so a multiple of 16."""
    if input_size < 32 or input_size % 16:
        raise ValueError(
            f"input size {input_size}: use a multiple of 16, at least 32 (224 is VGG16's own)"
        )
    return input_size


# VGG16's conv layers in order, with their widths; a max pool ends each block
VGG16_WIDTHS = {
    "block1_conv1": 64,
    "block1_conv2": 64,
    "block2_conv1": 128,
    "block2_conv2": 128,
    "block3_conv1": 256,
    "block3_conv2": 256,
    "block3_conv3": 256,
    "block4_conv1": 512,
    "block4_conv2": 512,
    "block4_conv3": 512,
    "block5_conv1": 512,
    "block5_conv2": 512,
    "block5_conv3": 512,
}
# a 2x2 max pool follows
BLOCK_ENDS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")


def check_widths(widths: dict[str, int]) -> dict[str, int]:
    """A pruned VGG16's widths:
    every conv layer named, none wider than VGG16's, the taps at full width.

    The decoder reads block3_pool and block5_conv3, so block3_conv3 and block5_conv3 keep VGG16's
    widths and a pruned encoder feeds the decoder it was pruned under unchanged.
    """
    if set(widths) != set(VGG16_WIDTHS):
        raise ValueError(f"widths must name exactly VGG16's conv layers: {', '.join(VGG16_WIDTHS)}")
    for n, w in widths.items():
        if not 1 <= w <= VGG16_WIDTHS[n]:
            raise ValueError(f"{n}: width {w} is outside 1..{VGG16_WIDTHS[n]}")
    for n in ("block3_conv3", "block5_conv3"):
        if widths[n] != VGG16_WIDTHS[n]:
            raise ValueError(f"{n} feeds the decoder and keeps its {VGG16_WIDTHS[n]} channels")
    return dict(widths)


def build_vgg16(
    input_size: int, widths: dict[str, int] | None = None, weights: str | None = None
) -> keras.Model:
    """VGG16's conv base (caffe input, 3 channels), at VGG16's widths or a pruned encoder's.

    The layer names are VGG16's either way, so stages, fine-tunes and weight files find them.
    """
    if widths is None:
        return keras.applications.VGG16(
            include_top=False, weights=weights, input_shape=(input_size, input_size, 3)
        )
    if weights is not None:
        raise ValueError("a pruned VGG16 gets its weights from its run, not from the ImageNet file")
    x = inp = keras.Input((input_size, input_size, 3), name="input_layer")
    for n, w in check_widths(widths).items():
        x = layers.Conv2D(w, 3, padding="same", activation="relu", name=n)(x)
        if n in BLOCK_ENDS:
            x = layers.MaxPooling2D(2, name=n.split("_")[0] + "_pool")(x)
    return keras.Model(inp, x, name="vgg16")


def build_encoder(
    name: str,
    weights: str | None,
    input_size: int = INPUT_SIZE,
    widths: dict[str, int] | None = None,
) -> keras.Model:
    """VGG16 conv base on 1-channel luminance, returning the features the decoder `name` uses.

    weights: path to the ImageNet notop HDF5 file (transfer learning) or None (from scratch).
    input_size: the side the photo is seen at; VGG16's cost grows with its square (measured
    dynamic-range .tflite on 2 threads: 153 ms at 224, 42 ms at 112, 30 ms at 96).
    widths: a pruned encoder's conv widths (`convert.prune`), None for VGG16's own.
    """
    s = check_input_size(input_size)
    y = keras.Input((s, s, 1), name="luminance")
    vgg = build_vgg16(s, widths, weights)
    taps = keras.Model(
        vgg.input, [vgg.get_layer(n).output for n in ENCODER_OUTPUTS[name]], name="vgg16"
    )
    outs = taps(luma_to_vgg(y))
    return keras.Model(y, outs if isinstance(outs, list) else [outs], name=f"{name}_encoder")


# each cached tap's (stride, channels): block3_pool is 28x28x256 for a 224 input
TAP_GEOMETRY = {"block3_pool": (8, 256), "block4_pool": (16, 512), "block5_conv3": (16, 512)}
# the VGG16 layers between two cached taps: block4 turns block3_pool into block4_pool, block5 (the
# block a fine-tune trains) turns block4_pool into block5_conv3
VGG_STAGES = {
    "block4": ("block4_conv1", "block4_conv2", "block4_conv3", "block4_pool"),
    "block5": ("block5_conv1", "block5_conv2", "block5_conv3"),
}
STAGE_IO = {"block4": ("block3_pool", "block4_pool"), "block5": ("block4_pool", "block5_conv3")}


def feature_shape(tap: str, input_size: int = INPUT_SIZE) -> tuple[int, int, int]:
    """Shape (H, W, C) of one VGG16 tap for an input_size x input_size photo."""
    stride, channels = TAP_GEOMETRY[tap]
    side = check_input_size(input_size) // stride
    return side, side, channels


def encoder_feature_shapes(name: str, input_size: int = INPUT_SIZE) -> list[tuple[int, int, int]]:
    """Shapes (H, W, C) of the encoder outputs for decoder `name`."""
    return [feature_shape(n, input_size) for n in ENCODER_OUTPUTS[name]]


def build_vgg_stage(stage: str, weights: str | None, input_size: int = INPUT_SIZE) -> keras.Model:
    """One VGG16 block as its own model (cached tap in -> next tap out), with the ImageNet weights.

    Layer names are VGG16's, so a trained stage's weights copy back into a whole encoder
    (`copy_stage_weights`). Used to extend a feature cache by a block and to fine-tune block5 on
    cached block4 features without running blocks 1-4 again.
    """
    src = STAGE_IO[stage][0]
    x = inp = keras.Input(feature_shape(src, input_size), name=src)
    for n in VGG_STAGES[stage]:
        x = (
            layers.MaxPooling2D(2, name=n)
            if n.endswith("pool")
            else layers.Conv2D(512, 3, padding="same", activation="relu", name=n)
        )(x)
    model = keras.Model(inp, x, name=stage)
    if weights is not None:
        copy_stage_weights(
            keras.applications.VGG16(include_top=False, weights=weights), model, stage
        )
    return model


def copy_stage_weights(source: keras.Model, target: keras.Model, stage: str) -> None:
    """Copy one VGG16 block's weights by layer name, wherever VGG16 is nested in either model."""
    for n in VGG_STAGES[stage]:
        if not n.endswith("pool"):
            find_layer(target, n).set_weights(find_layer(source, n).get_weights())


def find_layer(model: keras.Model, name: str):
    """The one layer called `name`, searched through nested models too
    (ValueError if not exactly one)."""
    found = [layer for layer in _all_layers(model) if layer.name == name]
    if len(found) != 1:
        raise ValueError(f"{model.name} has {len(found)} layers named {name!r}")
    return found[0]


def _all_layers(model: keras.Model):
    """Every layer of a model, nested models' layers included."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _conv(x, filters, size, name):
    x = layers.Conv2D(filters, size, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=name + "_bn")(x)
    return layers.ReLU(name=name + "_relu")(x)


def _head(x, head: str, bins: np.ndarray | None):
    """1x1 conv to tanh UV (regression) or to logits over the chroma bins (classification)."""
    if head == "regression":
        return layers.Conv2D(2, 1, activation="tanh", name="uv")(x)
    if bins is None:
        raise ValueError("a classification head needs the chroma bin centres")
    # float32 logits under a bfloat16 training policy: a softmax over hundreds of bins needs them
    return layers.Conv2D(len(bins), 1, name="logits", dtype="float32")(x)


def annealed_mean(
    logits, bins: np.ndarray, temperature: float = ANNEAL_T, weights: np.ndarray | None = None
):
    """Logits over UV bins -> expected UV under the sharpened distribution (Zhang's annealed mean).

    weights: the rebalancing weights the head trained with, to divide out first. A head trained
    with class weights w(c) predicts about w(c) p(c | photo), so dividing by w gives back the
    posterior itself: at temperature 1 its mean is the least-squares colour, colder its mode.
    """
    shift = (
        0.0
        if weights is None
        else (-np.log(np.asarray(weights, np.float64)) / temperature).tolist()
    )
    scaled = layers.Rescaling(1.0 / temperature, offset=shift, name="anneal")(logits)
    p = layers.Softmax(name="bin_probabilities")(scaled)
    readout = layers.Dense(2, use_bias=False, trainable=False, name="uv")
    uv = readout(p)
    readout.set_weights([np.asarray(bins, np.float32)])
    return uv


def build_decoder(
    name: str,
    chroma_size: int,
    head: str,
    bins: np.ndarray | None = None,
    last_activation: str = LAST_ACTIVATION,
    input_size: int = INPUT_SIZE,
    hints: bool = False,
    head_width: int = HEAD_WIDTH["regression"],
) -> keras.Model:
    """Decoder from encoder features to the training output (UV, or logits for classification).

    last_activation: of the hyper decoder's last conv, "leaky_relu" (current) or "relu" (runs
    trained before the dead-ReLU fix; their config.json has no "last_activation").
    hints: a hint decoder (hyper only) also reads colour hints, (chroma_size, chroma_size, 3) in
    colorize_core.hints' encoding: pooled into the features, spread by two dilated convs so a
    dot colours its object, and given again at full grid resolution before the last conv.
    head_width: channels of the hyper decoder's last conv
    (HEAD_WIDTH; a run's RunConfig.head_width).
    """
    feats = [
        keras.Input(s, name=f"feature_{i}")
        for i, s in enumerate(encoder_feature_shapes(name, input_size))
    ]
    if hints and name != "hyper":
        raise ValueError("colour hints need the hyper decoder")
    hint_in = (
        keras.Input((chroma_size, chroma_size, HINT_CHANNELS), name="hints") if hints else None
    )
    if name == "seed":
        out = _seed_decoder(feats[0], chroma_size, head, bins)
    elif name == "hyper":
        x = _hyper_features(feats, hint_in, chroma_size)
        out = _hyper_output(x, hint_in, head, bins, last_activation, head_width)
    else:
        raise ValueError(f"unknown model {name!r}: choose from {sorted(ENCODER_OUTPUTS)}")
    return keras.Model(feats + ([hint_in] if hints else []), out, name=f"{name}_{head}_decoder")


def _seed_decoder(
    f5: keras.KerasTensor, chroma_size: int, head: str, bins: np.ndarray | None
) -> keras.KerasTensor:
    """The seed decoder (the 2017 report's network): Dense layers over the whole of block5,
    reshaped to the chroma grid as UV (regression) or as logits over the bins."""
    x = layers.MaxPooling2D(2, name="block5_pool")(f5)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(4096, activation="relu", name="fc1")(x)
    x = layers.Dense(4096, activation="relu", name="fc2")(x)
    if head == "regression":
        x = layers.Dense(2 * chroma_size * chroma_size, activation="tanh", name="colorize")(x)
        return layers.Reshape((chroma_size, chroma_size, 2), name="uv")(x)
    x = layers.Dense(len(bins) * chroma_size * chroma_size, name="colorize")(x)
    return layers.Reshape((chroma_size, chroma_size, len(bins)), name="logits")(x)


def _hyper_features(
    feats: list[keras.KerasTensor], hint_in: keras.KerasTensor | None, chroma_size: int
) -> keras.KerasTensor:
    """The hyper decoder up to the chroma grid: block3 and block5 features (and the pooled hints,
    spread by two dilated convs so a dot colours its object) mixed at block3's grid, then resized
    to chroma_size."""
    f3, f5 = feats
    a = _conv(f3, 128, 1, "dec_f3")
    b = _conv(f5, 256, 1, "dec_f5")
    b = layers.UpSampling2D(2, interpolation="bilinear", name="dec_f5_up")(b)
    parts = [a, b]
    # the hints at the features' grid: pooled sums keep their mask weight
    if hint_in is not None:
        h = layers.AveragePooling2D(chroma_size // a.shape[1], name="hint_pool")(hint_in)
        parts.append(_conv(h, 32, 3, "hint_conv"))
    x = layers.Concatenate(name="dec_concat")(parts)
    x = _conv(x, 128, 1, "dec_mix")
    x = _conv(x, 128, 3, "dec_conv1")
    x = _conv(x, 128, 3, "dec_conv2")
    if hint_in is not None:  # reach: a hint spreads about a third of the photo each way
        x = layers.Add(name="hint_spread_add1")([x, _dilated(x, 128, 2, "hint_spread1")])
        x = layers.Add(name="hint_spread_add2")([x, _dilated(x, 128, 4, "hint_spread2")])
    return layers.Resizing(chroma_size, chroma_size, interpolation="bilinear", name="dec_resize")(x)


def _hyper_output(
    x: keras.KerasTensor,
    hint_in: keras.KerasTensor | None,
    head: str,
    bins: np.ndarray | None,
    last_activation: str,
    head_width: int,
) -> keras.KerasTensor:
    """The hyper decoder's last conv and head at the chroma grid; a hint decoder reads the hints
    again here, at full grid resolution, so a dot's colour is not only its pooled, spread one."""
    if hint_in is not None:
        x = layers.Concatenate(name="hint_full")([x, hint_in])
    # no batch norm after the resize: the TFLite converter folds it wrongly there (measured:
    # 3.5 max error on a 7.4 range, float32), so this conv carries its own bias instead.
    # Without batch norm a plain ReLU here died (measured: 31 of 32 channels dead after two
    # epochs, the output stuck at gray); a leaky ReLU cannot die.
    x = layers.Conv2D(head_width, 3, padding="same", name="dec_conv3")(x)
    x = (
        layers.LeakyReLU(0.1, name="dec_conv3_leaky")
        if last_activation == "leaky_relu"
        else layers.ReLU(name="dec_conv3_relu")
    )(x)
    return _head(x, head, bins)


def _dilated(x, filters, rate, name):
    x = layers.Conv2D(filters, 3, padding="same", dilation_rate=rate, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=name + "_bn")(x)
    return layers.ReLU(name=name + "_relu")(x)


def build_inference_model(
    encoder: keras.Model,
    decoder: keras.Model,
    head: str,
    bins: np.ndarray | None = None,
    temperature: float = ANNEAL_T,
    bin_weights: np.ndarray | None = None,
) -> keras.Model:
    """Encoder + decoder (+ annealed-mean readout at `temperature`, the rebalancing bin_weights
    divided out when given) : y (s, s, 1) -> UV (c, c, 2); a hint decoder's model takes
    [y, hints (c, c, 3)]."""
    y = keras.Input(encoder.input_shape[1:], name="luminance")
    hint_in = [keras.Input(t.shape[1:], name="hints") for t in decoder.inputs if "hints" in t.name]
    out = decoder(list(_as_list(encoder(y))) + hint_in)
    if head == "classification":
        out = annealed_mean(out, bins, temperature, bin_weights)
    return keras.Model([y] + hint_in if hint_in else y, out, name="colorizer")


def _as_list(x):
    return x if isinstance(x, (list, tuple)) else [x]


def build(
    name: str,
    *,
    weights: str | None,
    chroma_size: int = 56,
    head: str = "regression",
    bins: np.ndarray | None = None,
    last_activation: str = LAST_ACTIVATION,
    input_size: int = INPUT_SIZE,
    widths: dict[str, int] | None = None,
    hints: bool = False,
    head_width: int = HEAD_WIDTH["regression"],
) -> tuple[keras.Model, keras.Model, keras.Model]:
    """(encoder, decoder, training model) for a named network; the training model is end to end."""
    encoder = build_encoder(name, weights, input_size, widths)
    decoder = build_decoder(
        name, chroma_size, head, bins, last_activation, input_size, hints, head_width
    )
    if hints:  # the end-to-end model of a hint decoder reads [y, hints], its output the decoder's
        return encoder, decoder, build_inference_model(encoder, decoder, "regression")
    y = keras.Input(encoder.input_shape[1:], name="luminance")
    return encoder, decoder, keras.Model(y, decoder(encoder(y)), name=f"{name}_{head}")
