"""Who to credit: every matched source document with title, URL, licence and contributors.

Contributors come from the ``documents`` view joined on ``(source, snapshot_id, doc_id)``.
A whole-thread document (``kind='thread'``, built by the auditor from a forum's posts)
credits the authors of its posts, in thread order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from audit.report.load import RunData, SnapshotFacts, rows

ATTRIBUTION_SCHEMA = pa.schema([
    ("run", pa.string()), ("source", pa.string()), ("snapshot_id", pa.string()),
    ("doc_id", pa.string()), ("kind", pa.string()), ("title", pa.string()),
    ("url", pa.string()), ("license", pa.string()), ("authors", pa.list_(pa.string())),
    ("anon_authors", pa.int64()), ("posts", pa.list_(pa.string())),
    ("last_editor", pa.string()), ("revision_id", pa.int64()),
    ("modified_at", pa.timestamp("us", tz="UTC")), ("train_docs", pa.int64()),
    ("match_kinds", pa.string()),
])

_MATCHED = """
SELECT source, snapshot_id, doc_id, any_value(kind) AS kind, any_value(title) AS title,
       any_value(url) AS url, any_value(license) AS license,
       count(DISTINCT train_id) AS train_docs,
       string_agg(DISTINCT match_kind, ', ' ORDER BY match_kind) AS match_kinds
FROM audit_matches WHERE run = ? GROUP BY source, snapshot_id, doc_id
"""

_DOCS = f"""
WITH m AS ({_MATCHED}),
d AS (
  SELECT d.source, d.snapshot_id, d.doc_id, d.kind, d.parent_id, d.position, d.authors,
         d.anon_authors, d.last_editor, d.revision_id, d.modified_at
  FROM documents d JOIN (SELECT DISTINCT source, snapshot_id FROM m) k
    ON d.source = k.source AND d.snapshot_id = k.snapshot_id
  WHERE NOT coalesce(d.is_deleted, false)
)
SELECT 'doc' AS via, m.doc_id AS matched, d.* FROM m JOIN d
  ON d.source = m.source AND d.snapshot_id = m.snapshot_id AND d.doc_id = m.doc_id
UNION ALL
SELECT 'post' AS via, m.doc_id AS matched, d.* FROM m JOIN d
  ON d.source = m.source AND d.snapshot_id = m.snapshot_id AND d.parent_id = m.doc_id
  AND m.kind = 'thread' AND d.kind = 'post'
ORDER BY source, snapshot_id, matched, via, position NULLS FIRST, doc_id
"""


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        if n:
            seen.setdefault(n, None)
    return list(seen)


def attribution_rows(con: duckdb.DuckDBPyConnection, run: str) -> list[dict[str, Any]]:
    """One row per matched source document of ``run``, with its contributors."""
    matched = rows(con, f"SELECT * FROM ({_MATCHED}) ORDER BY source, lower(title), doc_id",
                   [run])
    found: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows(con, _DOCS, [run]):
        found[(r["source"], r["snapshot_id"], r["matched"])].append(r)
    out: list[dict[str, Any]] = []
    for m in matched:
        parts = found.get((m["source"], m["snapshot_id"], m["doc_id"]), [])
        direct = next((p for p in parts if p["via"] == "doc"), None)
        posts = [p for p in parts if p["via"] == "post"]
        authors: list[str] = []
        for p in ([direct] if direct else []) + posts:
            authors += list(p["authors"] or [])
        out.append({
            "run": run, **{k: m[k] for k in ("source", "snapshot_id", "doc_id", "kind", "title",
                                             "url", "license")},
            "authors": _unique(authors),
            "anon_authors": sum(int(p["anon_authors"] or 0)
                                for p in ([direct] if direct else []) + posts),
            "posts": [p["doc_id"] for p in posts],
            "last_editor": direct["last_editor"] if direct else None,
            "revision_id": direct["revision_id"] if direct else None,
            "modified_at": (direct["modified_at"] if direct
                            else max((p["modified_at"] for p in posts if p["modified_at"]),
                                     default=None)),
            "train_docs": int(m["train_docs"]), "match_kinds": m["match_kinds"],
        })
    return out


def write_parquet(path: Path, items: list[dict[str, Any]]) -> None:
    """attribution.parquet (zstd)."""
    table = pa.Table.from_pylist(items, schema=ATTRIBUTION_SCHEMA)
    pq.write_table(table, path, compression="zstd")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_escape(text: str) -> str:
    r"""Text safe inside Markdown (no links, emphasis or tables by accident).

    >>> md_escape("a [b] *c*")
    'a \\[b\\] \\*c\\*'
    """
    return _MD_SPECIAL.sub(r"\\\1", text)


def _credit(item: dict[str, Any]) -> str:
    names = ", ".join(md_escape(a) for a in item["authors"]) or "no registered contributor"
    anon = int(item["anon_authors"] or 0)
    if anon:
        names += f" (+{anon} anonymous)"
    return names


def _heading(source: str, facts: SnapshotFacts | None) -> str:
    if facts is None:
        return f"## {md_escape(source)}"
    lic = facts.license or "licence not recorded"
    where = f", {facts.base_url}" if facts.base_url else ""
    return (f"## {md_escape(source)}\n\nSnapshot `{facts.snapshot_id}` (crawled {facts.date}"
            f"{md_escape(where)}), site licence {md_escape(lic)}.")


def attribution_markdown(data: RunData, items: list[dict[str, Any]]) -> str:
    """ATTRIBUTION.md: per source, the matched documents and the people who wrote them."""
    lines = [
        f"# Attribution: audit run `{data.run}`",
        "",
        "Text of the documents below was found in the audited training set (near-duplicate or "
        "contained passages). Licences such as CC BY-SA ask anyone who reuses the text to "
        "credit its authors, link the licence and say what changed. This list gives each "
        "document's title, address, licence and registered contributors, as recorded when "
        "the source was crawled. The same rows are in `attribution.parquet`.",
    ]
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        by_source[item["source"]].append(item)
    for source in data.sources:
        docs = by_source.get(source, [])
        lines += ["", _heading(source, data.snapshots.get(source)), "",
                  f"{len(docs)} matched documents.", ""]
        for item in docs:
            title = md_escape(item["title"] or item["doc_id"])
            link = f"[{title}](<{item['url']}>)" if item["url"] else title
            what = "thread" if item["kind"] == "thread" else (item["kind"] or "document")
            lines.append(f"- {link} ({what}, {md_escape(item['license'] or 'licence unknown')})"
                         f": {_credit(item)}")
    return "\n".join(lines) + "\n"
