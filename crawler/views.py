"""Catalog views derived from crawled snapshots: forum ``threads`` and the ``consent`` ledger."""

from __future__ import annotations

from commons.store import DataDir
from commons.threads import threads_select

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


def crawl_views(data: DataDir) -> dict[str, str]:
    """View name -> SELECT over the snapshot views (created after them).

    ``threads`` follows :mod:`commons.threads` over ``latest_documents``; ``consent`` has one
    row per snapshot with the signals recorded in its manifest.
    """
    return {"threads": " ".join(threads_select("latest_documents").split()),
            "consent": CONSENT_SELECT.strip()}
