"""Command-line options that several packages' verbs share (a leaf module)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def data_option(func: F) -> F:
    """``--data DIR``: the data store (default $COMMONS_DATA or ./data)."""
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("COMMONS_DATA", "data"),
        show_default="$COMMONS_DATA or ./data",
        help="Data store folder (snapshots, signatures, audits).",
    )(func)
