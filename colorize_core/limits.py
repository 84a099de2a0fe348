"""The runtime's limits and the checks of user-typed values, each written once.

The CLI, the GIMP bridge and the Python API all validate through these functions, so that a
value one of them refuses (NaN, infinity, a negative thread count) is refused by all of them
with the same words. Each check raises ValueError; the CLI turns it into exit status 2.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

try:
    import resource
except ImportError:  # Windows: no address-space limit to read
    resource = None

DEFAULT_MAX_MEGAPIXELS = 200.0
MAX_STRENGTH = 4.0  # beyond this the chroma clips everywhere: a posterized image, never a photo
# Bytes of memory one pixel costs while it is colorized, on top of its decoded size: the
# luminance, two chroma planes at full size, the merged RGB result and the encoder's buffers
# (measured peak for a 13 MP gray JPEG: about 240 MB, ~18 bytes a pixel with the model).
WORKING_BYTES_PER_PIXEL = 16
BYTES_PER_SAMPLE = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "La": 2,
    "PA": 2,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
    "RGBA": 4,
    "RGBa": 4,
    "RGBX": 4,
    "CMYK": 4,
    "I": 4,
    "F": 4,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
    "I;16N": 2,
}


def check_strength(value: float) -> float:
    """A colour strength: finite, 0 (gray) to MAX_STRENGTH."""
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= MAX_STRENGTH:
        raise ValueError(
            f"strength must be a number from 0 to {MAX_STRENGTH:g} (0 gray, 1 as predicted), "
            f"got {value}"
        )
    return value


def check_max_megapixels(value: float) -> float:
    """The decompression-bomb guard: a finite, positive number of megapixels."""
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"max-megapixels must be a positive number (default {DEFAULT_MAX_MEGAPIXELS:g}), "
            f"got {value}"
        )
    return value


def check_threads(value: int | None) -> int | None:
    """Inference threads: None (all cores) or a whole number of 1 or more."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"threads must be a whole number of 1 or more (or None for all cores), got {value!r}"
        )
    return value


JOBS_PER_CORE = 4  # photos in flight per core: enough to overlap decoding, the model and encoding
JOB_RESERVE_BYTES = 64 * 2**20  # a batch thread's stack and its smallest photo's working memory


def batch_workers(
    requested: int | None, photos: int, cores: int | None = None, free: int | None = None
) -> tuple[int, str | None]:
    """Threads for a batch: the --jobs asked (default: the cores), never more than the photos,
    JOBS_PER_CORE per core, or what the free memory (ulimit -v included) can hold at
    JOB_RESERVE_BYTES a thread. Returns the count and, when a request was cut, why (for the
    user)."""
    cores = cores or os.cpu_count() or 1
    if requested is None:
        return max(1, min(cores, photos)), None
    caps = {"the machine's cores": JOBS_PER_CORE * cores}
    free = available_memory() if free is None else free
    if free is not None:
        caps["the free memory"] = max(1, free // JOB_RESERVE_BYTES)
    reason, cap = min(caps.items(), key=lambda kv: kv[1])
    workers = max(1, min(requested, photos, cap))
    if requested > cap and photos > cap:
        return workers, f"--jobs {requested} is more than {reason} allow; using {workers}"
    return workers, None


def decoded_bytes(width: int, height: int, mode: str) -> int:
    """What colorizing a width x height photo of this Pillow mode needs in memory, about."""
    return width * height * (BYTES_PER_SAMPLE.get(mode, 4) + WORKING_BYTES_PER_PIXEL)


def available_memory() -> int | None:
    """Bytes this process can still allocate: the least of the free memory the kernel reports,
    the address-space limit (ulimit -v) less what is mapped now, and the cgroup's limit less
    its use. None when none of these can be read."""
    candidates = []
    meminfo = _read_kv(Path("/proc/meminfo"))
    if "MemAvailable" in meminfo:
        candidates.append(meminfo["MemAvailable"] * 1024)
    soft, _ = resource.getrlimit(resource.RLIMIT_AS) if resource else (None, None)
    if soft is not None and soft != resource.RLIM_INFINITY:
        vm = _read_kv(Path(f"/proc/{os.getpid()}/status")).get("VmSize", 0) * 1024
        candidates.append(max(0, soft - vm))
    cgroup = _cgroup_headroom()
    if cgroup is not None:
        candidates.append(cgroup)
    return min(candidates) if candidates else None


def _cgroup_headroom() -> int | None:
    """memory.max - memory.current of this process's cgroup (v2), or None without a limit."""
    try:
        rel = Path("/proc/self/cgroup").read_text().strip().split("\n")[0].split(":", 2)[2]
        base = Path("/sys/fs/cgroup") / rel.lstrip("/")
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((base / "memory.current").read_text()))
    except (OSError, IndexError, ValueError):
        return None


def _read_kv(path: Path) -> dict[str, int]:
    """'Key:   123 kB' lines -> {'Key': 123}; {} when the file cannot be read."""
    out = {}
    try:
        for line in path.read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                out[key] = int(parts[0])
    except OSError:
        pass
    return out


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KB' (powers of 1024, the units `free -h` shows)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
