"""Catalog views of the consent ledger (``consent``) and scheduled runs (``crawl_runs``)."""

from __future__ import annotations

from commons.catalog import empty_select, sql_literal
from commons.store import DataDir

#: Columns of ``crawl_runs``, read from ``DATA/runs/<source>/<run id>.json``.
RUN_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR", "source": "VARCHAR", "kind": "VARCHAR", "url": "VARCHAR",
    "schedule": "VARCHAR", "scheduled_for": "TIMESTAMPTZ", "status": "VARCHAR",
    "mode": "VARCHAR", "started_at": "TIMESTAMPTZ", "finished_at": "TIMESTAMPTZ",
    "snapshot_id": "VARCHAR", "documents": "BIGINT", "error": "VARCHAR", "audits": "JSON",
    "sources_file": "VARCHAR", "pid": "BIGINT", "host": "JSON",
}

#: One row per snapshot: the consent and licence signals recorded in its manifest.
CONSENT_SELECT = """
SELECT source, snapshot_id, status, started_at, crawler, base_url, user_agent,
  license AS license, license_url, license_info->>'text' AS license_text,
  robots->>'url' AS robots_url, (robots->>'status')::INTEGER AS robots_status,
  robots->>'sha256' AS robots_sha256, robots->>'text' AS robots_txt,
  robots->>'own_agent' AS own_agent,
  (robots->'allowed'->>(robots->>'own_agent'))::BOOLEAN AS own_agent_allowed,
  list_sort(list_filter(json_keys(robots->'allowed'),
    lambda a: NOT (robots->'allowed'->>a)::BOOLEAN)) AS agents_disallowed,
  robots->'allowed' AS agents_allowed,
  (robots->>'crawl_delay')::DOUBLE AS crawl_delay, robots->'crawl_delays' AS crawl_delays,
  (robots->'content_usage')::VARCHAR[] AS robots_content_usage,
  (robots->'rsl_license')::VARCHAR[] AS rsl_license,
  consent->'entry_page'->>'tdm_reservation' AS tdm_reservation,
  consent->'entry_page'->>'tdm_policy' AS tdm_policy,
  (consent->'tdmrep'->>'status')::INTEGER AS tdmrep_status,
  consent->'tdmrep'->'rules' AS tdmrep_rules,
  (consent->'entry_page'->'x_robots_tag')::VARCHAR[] AS x_robots_tag,
  (consent->'entry_page'->'meta_robots')::VARCHAR[] AS meta_robots,
  (consent->'entry_page'->>'noai')::BOOLEAN AS noai,
  (consent->'entry_page'->>'noimageai')::BOOLEAN AS noimageai,
  (consent->'entry_page'->'content_usage')::VARCHAR[] AS content_usage,
  consent->'terms'->>'url' AS terms_url, consent->'terms'->>'sha256' AS terms_sha256,
  consent->'terms' AS terms
FROM snapshots
"""


def pipeline_views(data: DataDir) -> dict[str, str]:
    """``consent`` (over ``snapshots``) and ``crawl_runs``."""
    views = {"consent": CONSENT_SELECT.strip()}
    runs = data.runs
    if runs.exists() and next(runs.glob("*/*.json"), None) is not None:
        cols = "{" + ", ".join(f"{k}: '{v}'" for k, v in RUN_COLUMNS.items()) + "}"
        views["crawl_runs"] = (
            f"SELECT * FROM read_json({sql_literal(str(runs / '*' / '*.json'))}, "
            f"columns={cols}, format='auto')"
        )
    else:
        views["crawl_runs"] = empty_select(
            {k: ("VARCHAR" if v == "JSON" else v) for k, v in RUN_COLUMNS.items()})
    return views
