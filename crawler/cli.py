"""`commons crawl KIND` verbs beyond MediaWiki (forums)."""

from __future__ import annotations

import click


def register(crawl: click.Group) -> None:
    """Add forum crawl verbs to the ``commons crawl`` group."""
