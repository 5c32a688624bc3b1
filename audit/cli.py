"""CLI verbs of the auditor (placeholder until the auditor lands)."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add the audit verbs to the ``commons`` group."""
