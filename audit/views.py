"""Catalog views of audit runs (placeholder until the auditor lands)."""

from __future__ import annotations

from commons.store import DataDir


def audit_views(data: DataDir) -> dict[str, str]:
    """View name -> SELECT for the audit runs in ``data``."""
    return {}
