"""JPEG written straight from the planes it stores: full-size Y, half-size Cb and Cr (4:2:0).

The model's chroma is 56x56 upsampled, so half-size chroma loses nothing of it; resizing it
straight to half size and handing the three planes to libjpeg-turbo (through simplejpeg) skips
the full-size chroma, the merged YCbCr image and the encoder's own downsampling: half the pixel
work of writing a colorized JPEG through Pillow. ICC and EXIF are carried as Pillow carries them
(APP1 "Exif", APP2 "ICC_PROFILE" chunks after the JFIF header).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where pixels are handled; this module loads before it is
    import numpy as np

MAX_SEGMENT = (
    65533  # bytes of payload one JPEG marker segment holds (its length field counts itself)
)
ICC_TAG = b"ICC_PROFILE\0"
EXIF_TAG = b"Exif\0\0"


@dataclass(frozen=True)
class Planes:
    """A colorized photo as JPEG stores it: Y (H, W) and Cb, Cr (ceil(H/2), ceil(W/2)), uint8."""

    y: "np.ndarray"
    cb: "np.ndarray"
    cr: "np.ndarray"

    @property
    def size(self) -> tuple[int, int]:
        return self.y.shape[1], self.y.shape[0]


def chroma_size(size: tuple[int, int]) -> tuple[int, int]:
    """The (width, height) of a 4:2:0 chroma plane for a photo of `size` (odd sizes round up)."""
    return (size[0] + 1) // 2, (size[1] + 1) // 2


def encode(
    planes: Planes, *, quality: int, icc_profile: bytes | None = None, exif: bytes | None = None
) -> bytes:
    """The JPEG file's bytes; ValueError for EXIF too long for its one segment."""
    import simplejpeg  # loads numpy: imported when a JPEG is written, long after the CLI started

    data = simplejpeg.encode_jpeg_yuv_planes(
        _even_rows_and_columns(planes.y), planes.cb, planes.cr, quality=quality
    )
    extra = _segments(icc_profile, exif)
    if not extra:
        return data
    at = _after_jfif(data)
    return data[:at] + extra + data[at:]


def _even_rows_and_columns(y: "np.ndarray") -> "np.ndarray":
    """The Y plane as libjpeg-turbo reads it for 4:2:0: tjCompressFromYUVPlanes takes a Y plane
    of odd width or height to be padded to even ones and reads the row and column past its end
    (garbage in the photo's last MCU row, or a crash). An odd plane is copied with its edge
    repeated into an even buffer, which is handed over as a view of the photo's own size."""
    import numpy as np

    h, w = y.shape
    if h % 2 == 0 and w % 2 == 0:
        return y
    return np.pad(y, ((0, h % 2), (0, w % 2)), mode="edge")[:h, :w]


def exif_fits(exif: bytes) -> bool:
    """True when EXIF fits the one APP1 segment JPEG gives it (64 KB; PNG, TIFF and WebP hold
    more)."""
    return len(_exif_payload(exif)) <= MAX_SEGMENT


def _exif_payload(exif: bytes) -> bytes:
    return exif if exif.startswith(EXIF_TAG) else EXIF_TAG + exif


def _segments(icc_profile: bytes | None, exif: bytes | None) -> bytes:
    """APP1 (EXIF) and APP2 (ICC profile, split into numbered chunks) marker segments."""
    out = b""
    if exif:
        payload = _exif_payload(exif)
        if len(payload) > MAX_SEGMENT:
            raise ValueError(
                f"EXIF data is too long for JPEG ({len(payload)} bytes, at most {MAX_SEGMENT})"
            )
        out += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    if icc_profile:
        room = MAX_SEGMENT - len(ICC_TAG) - 2
        chunks = [icc_profile[i : i + room] for i in range(0, len(icc_profile), room)]
        if len(chunks) > 255:
            raise ValueError(f"ICC profile is too long for JPEG ({len(icc_profile)} bytes)")
        for i, chunk in enumerate(chunks, 1):
            body = ICC_TAG + bytes((i, len(chunks))) + chunk
            out += b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body
    return out


def _after_jfif(data: bytes) -> int:
    """Where segments go: after SOI and the JFIF APP0 segment libjpeg writes first."""
    if data[:4] != b"\xff\xd8\xff\xe0":
        raise ValueError("libjpeg-turbo wrote no JFIF header")
    return 4 + struct.unpack(">H", data[4:6])[0]
