"""Load one complete audit run from the catalog views: summary, match aggregates, snapshots.

Everything the report shows comes from here: ``audit_runs`` (parameters), ``audit_summary``
(headline numbers), aggregates of ``audit_matches`` computed in DuckDB (so a run with
millions of matches never sits in memory), and ``snapshots`` (licence and consent state of
each audited snapshot, and of every snapshot of the same sources, for history).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from audit.report.consent import ConsentState
from audit.report.exceptions import RunNotCompleteError, RunNotFoundError
from audit.runs import displayed_status
from audit.views import RUN_COLUMNS
from commons.catalog import Catalog

#: Bins of the similarity histograms over [0, 1].
BINS = 20
#: Similarity measures of the matches: key -> (SQL expression, label).
MEASURES: dict[str, tuple[str, str]] = {
    "jaccard": ("coalesce(exact_jaccard, est_jaccard)", "Jaccard similarity"),
    "train_in_source": ("containment_train_in_source",
                        "containment of the training document in the source document"),
    "source_in_train": ("containment_source_in_train",
                        "containment of the source document in the training document"),
}


@dataclass(frozen=True)
class SnapshotFacts:
    """What a snapshot's manifest says: when, where, under which licence and consent state."""

    source: str
    snapshot_id: str
    status: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    base_url: str | None = None
    license: str | None = None
    license_url: str | None = None
    site_name: str | None = None
    user_agent: str | None = None
    documents: int | None = None
    consent: ConsentState = field(
        default_factory=lambda: ConsentState.from_manifest(None, None))

    @property
    def time(self) -> datetime | None:
        """When the crawl started (the snapshot's moment; its id is the same UTC time)."""
        return self.started_at or self.finished_at

    @property
    def date(self) -> str:
        """The snapshot's date as shown, in UTC."""
        when = self.time
        if when is None:
            return self.snapshot_id
        if when.tzinfo is not None:
            when = when.astimezone(UTC)
        return when.strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class RunData:
    """One complete audit run, ready to be rendered."""

    run: str
    data_root: Path
    meta: dict[str, Any]
    summary: list[dict[str, Any]]
    snapshots: dict[str, SnapshotFacts]
    snapshot_history: dict[str, list[SnapshotFacts]]
    matched_docs: dict[str, int]
    matched_train: dict[str, int]
    matched_train_total: int
    licences: list[dict[str, Any]]
    histograms: dict[str, dict[str, list[int]]]
    top_pages: list[dict[str, Any]]
    history: list[dict[str, Any]]

    @property
    def sources(self) -> list[str]:
        return [str(r["source"]) for r in self.summary]

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.meta.get("config") or {})


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
         ) -> list[dict[str, Any]]:
    """A query's rows as dicts."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def run_meta(con: duckdb.DuckDBPyConnection, run: str, data_root: Path) -> dict[str, Any]:
    """The run's ``audit_runs`` row with JSON columns parsed; it must be complete.

    Raises:
        RunNotFoundError: no such run.
        RunNotCompleteError: the run failed, was interrupted or is still running.
    """
    found = rows(con, "SELECT * FROM audit_runs WHERE run = ?", [run])
    if not found:
        known = [r["run"] for r in rows(con, "SELECT run FROM audit_runs ORDER BY run")]
        raise RunNotFoundError(run, str(data_root), known)
    meta = {k: (_json(v) if RUN_COLUMNS.get(k) == "JSON" else v) for k, v in found[0].items()}
    status = displayed_status({**meta, "host": meta.get("host") or {}})
    if status != "complete":
        raise RunNotCompleteError(run, status, meta.get("error"))
    return meta


def _snapshots(con: duckdb.DuckDBPyConnection, sources: list[str]) -> list[SnapshotFacts]:
    if not sources:
        return []
    marks = ", ".join("?" for _ in sources)
    found = rows(con, (
        "SELECT source, snapshot_id, status, started_at, finished_at, base_url, license, "
        "license_url, site_name, user_agent, documents, robots, consent FROM snapshots "
        f"WHERE source IN ({marks}) ORDER BY source, snapshot_id"), list(sources))
    out: list[SnapshotFacts] = []
    for r in found:
        consent = ConsentState.from_manifest(r.pop("robots"), r.pop("consent"))
        out.append(SnapshotFacts(consent=consent, **r))
    return out


def _histograms(con: duckdb.DuckDBPyConnection, run: str) -> dict[str, dict[str, list[int]]]:
    out: dict[str, dict[str, list[int]]] = {}
    for key, (expr, _label) in MEASURES.items():
        found = con.execute(
            f"SELECT source, least(CAST(floor(v * {BINS}) AS INTEGER), {BINS - 1}) AS bin, "
            f"count(*) FROM (SELECT source, {expr} AS v FROM audit_matches WHERE run = ?) "
            "WHERE v IS NOT NULL AND NOT isnan(v) GROUP BY ALL", [run]).fetchall()
        per: dict[str, list[int]] = {}
        for source, b, n in found:
            per.setdefault(source, [0] * BINS)[max(0, int(b))] += int(n)
        out[key] = per
    return out


TOP_PAGES_SQL = """
SELECT source, snapshot_id, doc_id, any_value(kind) AS kind, any_value(title) AS title,
       any_value(url) AS url, any_value(license) AS license,
       count(DISTINCT train_id) AS train_docs,
       max(containment_source_in_train) AS coverage,
       max(coalesce(exact_jaccard, est_jaccard)) AS jaccard,
       max(source_words) AS source_words,
       string_agg(DISTINCT match_kind, ', ' ORDER BY match_kind) AS match_kinds
FROM audit_matches WHERE run = ?
GROUP BY source, snapshot_id, doc_id
ORDER BY coverage DESC NULLS LAST, train_docs DESC, source_words DESC NULLS LAST, source, doc_id
LIMIT ?
"""


def _inputs_key(inputs: Any) -> tuple[str, ...]:
    """Fingerprints of a run's training files: runs with equal keys audited the same data."""
    out: list[str] = []
    for item in inputs if isinstance(inputs, list) else []:
        digest = next((str(v) for k, v in item.items() if k.startswith("sha256")), None)
        out.append(digest or str(item.get("path")))
    return tuple(sorted(out))


def _history(con: duckdb.DuckDBPyConnection, meta: dict[str, Any], sources: list[str],
             dates: dict[tuple[str, str], SnapshotFacts]) -> list[dict[str, Any]]:
    """Summary rows of every complete run of the same training files, one per snapshot."""
    key = _inputs_key(meta.get("inputs"))
    if not key or not sources:
        return []
    runs = [r["run"] for r in rows(con, "SELECT run, inputs FROM audit_runs "
                                        "WHERE status = 'complete'")
            if _inputs_key(_json(r["inputs"])) == key]
    if not runs:
        return []
    marks_r = ", ".join("?" for _ in runs)
    marks_s = ", ".join("?" for _ in sources)
    found = rows(con, (
        "SELECT s.*, r.finished_at AS run_finished_at FROM audit_summary s "
        "JOIN audit_runs r ON s.run = r.run "
        f"WHERE s.run IN ({marks_r}) AND s.source IN ({marks_s}) "
        "ORDER BY s.source, s.snapshot_id, r.finished_at"), [*runs, *sources])
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in found:
        latest[(r["source"], r["snapshot_id"])] = r
    out = []
    for (source, snap), r in sorted(latest.items()):
        facts = dates.get((source, snap))
        out.append({**r, "snapshot_time": facts.time if facts else None})
    return out


def load_run(catalog: Catalog, run: str, top: int = 25) -> RunData:
    """Everything the report needs about ``run``, from ``catalog`` (snapshot and audit views)."""
    data = catalog.data
    con = catalog.connect()
    try:
        meta = run_meta(con, run, data.root)
        summary = rows(con, "SELECT * FROM audit_summary WHERE run = ? ORDER BY source", [run])
        sources = [str(r["source"]) for r in summary]
        snaps = _snapshots(con, sources)
        by_id = {(s.source, s.snapshot_id): s for s in snaps}
        audited = {str(r["source"]): by_id.get((r["source"], r["snapshot_id"]))
                   or SnapshotFacts(str(r["source"]), str(r["snapshot_id"])) for r in summary}
        history = {s: [f for f in snaps if f.source == s and f.status == "complete"]
                   for s in sources}
        counts = rows(con, "SELECT source, count(DISTINCT doc_id) AS docs, "
                           "count(DISTINCT train_id) AS train FROM audit_matches "
                           "WHERE run = ? GROUP BY source", [run])
        total = con.execute("SELECT count(DISTINCT train_id) FROM audit_matches WHERE run = ?",
                            [run]).fetchone()
        licences = rows(con, (
            "SELECT coalesce(license, 'unknown') AS license, "
            "count(DISTINCT source || chr(0) || doc_id) AS docs, "
            "count(DISTINCT train_id) AS train_docs, "
            "list(DISTINCT source ORDER BY source) AS sources "
            "FROM audit_matches WHERE run = ? GROUP BY 1 ORDER BY docs DESC, 1"), [run])
        return RunData(
            run=run, data_root=data.root, meta=meta, summary=summary, snapshots=audited,
            snapshot_history=history,
            matched_docs={s: 0 for s in sources} | {r["source"]: int(r["docs"]) for r in counts},
            matched_train={s: 0 for s in sources} | {r["source"]: int(r["train"])
                                                     for r in counts},
            matched_train_total=int(total[0]) if total else 0,
            licences=licences, histograms=_histograms(con, run),
            top_pages=rows(con, TOP_PAGES_SQL, [run, top]),
            history=_history(con, meta, sources, by_id),
        )
    finally:
        con.close()
