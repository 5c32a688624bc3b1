"""Catalog views derived from crawled documents (forum threads)."""

from __future__ import annotations

from commons.store import DataDir


def crawl_views(data: DataDir) -> dict[str, str]:
    """View name -> SELECT over the snapshot views (created after them)."""
    return {}
