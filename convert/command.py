"""What the convert tools' command lines share: a parser made from the tool's module docstring."""

from __future__ import annotations

import argparse


def parser(module: str, doc: str) -> argparse.ArgumentParser:
    """`python -m MODULE`'s parser: the docstring's first paragraph as its description and the
    whole docstring, line breaks kept (usage examples), after the options."""
    return argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=doc,
    )
