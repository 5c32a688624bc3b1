"""The consent ledger of one source: its signals per snapshot, and what changed between them.

Rows come from the catalog's ``consent`` view (one per snapshot, any status: a crawl that
robots.txt refused is itself a consent event).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from commons.catalog import Catalog
from crawler.exceptions import NoConsentRecordsError

#: Columns compared by ``--diff``, with their labels.
DIFF_FIELDS: dict[str, str] = {
    "license": "licence",
    "license_url": "licence URL",
    "robots_status": "robots.txt HTTP status",
    "own_agent_allowed": "our User-Agent allowed",
    "agents_disallowed": "agents disallowed",
    "crawl_delay": "Crawl-delay",
    "robots_content_usage": "robots.txt Content-Usage",
    "rsl_license": "robots.txt License (RSL)",
    "tdm_reservation": "tdm-reservation",
    "tdm_policy": "tdm-policy",
    "tdmrep_status": "/.well-known/tdmrep.json status",
    "tdmrep_rules": "/.well-known/tdmrep.json",
    "x_robots_tag": "X-Robots-Tag",
    "meta_robots": "meta robots",
    "noai": "noai",
    "noimageai": "noimageai",
    "content_usage": "Content-Usage header",
    "terms_sha256": "terms page SHA-256",
}


@dataclass(frozen=True)
class Change:
    """One signal that differs between two snapshots."""

    field: str
    label: str
    before: Any
    after: Any


def ledger(catalog: Catalog, source: str) -> list[dict[str, Any]]:
    """The ``consent`` rows of ``source``, oldest snapshot first (``catalog`` needs the
    ``consent`` view of :func:`crawler.views.crawl_views`).

    Raises:
        NoConsentRecordsError: the source has no snapshot.
    """
    con = catalog.connect()
    cur = con.execute("SELECT * FROM consent WHERE source = ? ORDER BY snapshot_id", [source])
    columns = [d[0] for d in cur.description or []]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    if not rows:
        raise NoConsentRecordsError(
            f"source {source!r} has no snapshot in {catalog.data.root}, so no consent signals; "
            "list sources with `commons snapshots`")
    return rows


def _norm(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The signals that differ between two ledger rows.

    >>> a = {"noai": False, "agents_disallowed": [], "robots_txt": "x"}
    >>> b = {"noai": True, "agents_disallowed": ["GPTBot"], "robots_txt": "x"}
    >>> [(c.field, c.before, c.after) for c in diff(a, b)]
    [('agents_disallowed', [], ['GPTBot']), ('noai', False, True)]
    """
    return [Change(name, label, _norm(before.get(name)), _norm(after.get(name)))
            for name, label in DIFF_FIELDS.items()
            if _norm(before.get(name)) != _norm(after.get(name))]


def robots_diff(before: str | None, after: str | None) -> list[str]:
    """A unified diff of two robots.txt texts (no lines when equal)."""
    return [line.rstrip("\n") for line in difflib.unified_diff(
        (before or "").splitlines(), (after or "").splitlines(), "robots.txt (before)",
        "robots.txt (after)", lineterm="", n=1)]


def describe(value: Any) -> str:
    """A short, readable form of a signal's value."""
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def diff_report(rows: list[dict[str, Any]]) -> list[str]:
    """Lines saying what changed from each snapshot to the next."""
    lines: list[str] = []
    for before, after in zip(rows, rows[1:], strict=False):
        head = f"{before['snapshot_id']} -> {after['snapshot_id']} ({after['status']})"
        changes = diff(before, after)
        text_diff = robots_diff(before.get("robots_txt"), after.get("robots_txt"))
        if not changes and not text_diff:
            lines.append(f"{head}: no change")
            continue
        lines.append(f"{head}:")
        lines += [f"  {c.label}: {describe(c.before)} -> {describe(c.after)}" for c in changes]
        lines += [f"    {line}" for line in text_diff]
    return lines
