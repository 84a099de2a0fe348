"""The runtime's helper threads, all made here, so that what runs beside what is read in one place.

Pillow, numpy, LiteRT and hashlib let go of the GIL for big work, so on two or more cores a
helper thread runs beside the main one:
- the pixel path's one helper: the top half of a full-size step, the second chroma plane;
- the checksum helper: a model file hashed while its interpreter builds;
- a one-off thread: a model loading while the first photo decodes;
- a pool: a batch's photos side by side (--jobs).
"""

from __future__ import annotations

import functools
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")


def in_background(fn: Callable[..., T], *args) -> "Future[T]":
    """fn(*args) in the pixel path's one helper thread (a second plane or a copy runs beside the
    main thread's work)."""
    return _pixels().submit(fn, *args)


def by_halves(height: int, fn: Callable[[int, int], T]) -> list[T]:
    """[fn(0, cut), fn(cut, height)], the top half in the pixel helper ([fn(0, height)] under
    2 rows): a large photo's full-size steps take one half's time on two cores."""
    if height < 2:
        return [fn(0, height)]
    cut = height // 2
    top = in_background(fn, 0, cut)
    bottom = fn(cut, height)
    return [top.result(), bottom]


def hashing(fn: Callable[..., T], *args) -> "Future[T]":
    """fn(*args) in the checksum helper thread (one, so that two builds never hash at once)."""
    return _hasher().submit(fn, *args)


def start_thread(fn: Callable[..., T], *args, name: str) -> "Future[T]":
    """fn(*args) in a new thread of its own, named `name`, which ends when fn returns."""
    one = ThreadPoolExecutor(1, thread_name_prefix=name)
    future = one.submit(fn, *args)
    one.shutdown(wait=False)
    return future


def thread_pool(workers: int, name: str) -> ThreadPoolExecutor:
    """A pool of `workers` threads for a batch; the caller shuts it down."""
    return ThreadPoolExecutor(workers, thread_name_prefix=name)


@functools.lru_cache(maxsize=1)
def _pixels() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="colorize-pixels")


@functools.lru_cache(maxsize=1)
def _hasher() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="colorize-sha256")
