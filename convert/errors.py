"""The one exception convert/'s library code raises for people,
and how a command's main() reports it.

Library functions raise ConvertError with a message that says what to do; only a module's main()
turns it into a message on stderr and an exit status, so the functions stay usable from tests,
notebooks and other commands."""

from __future__ import annotations

import functools
import sys
from typing import Callable

EXIT_FAILED = 1  # what `raise SystemExit(message)` exited with before this module existed


class ConvertError(Exception):
    """A step of training, export or evaluation cannot go on;
    the message says why (and what to do)."""


def reports_errors(main: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """Wrap a module's main(argv): a ConvertError becomes its message on stderr and EXIT_FAILED."""

    @functools.wraps(main)
    def wrapped(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except ConvertError as exc:
            print(exc, file=sys.stderr)
            return EXIT_FAILED

    return wrapped
