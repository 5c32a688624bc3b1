"""The consent ledger: signals change between crawls of a real MediaWiki, the ledger follows.

robots.txt, the entry page's headers and /.well-known/tdmrep.json are changed through the
fault-injecting proxy in front of ``scratch_wiki``; the wiki's own copyright page (its
terms) is edited in the wiki itself.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from commons.api import catalog
from commons.store import DataDir, SnapshotStore
from crawler.consent.ledger import ledger as consent_ledger
from crawler.exceptions import NoConsentRecordsError
from tests.conftest import Wiki, crawl_args, run_cli
from tests.harness.faultproxy import FaultProxy

RESTRICTIVE = """User-agent: GPTBot
Disallow: /

User-agent: CCBot
Crawl-delay: 7
Disallow: /

User-agent: *
Allow: /
Content-Usage: train-ai=n
License: https://example.org/rsl.xml
"""
TDMREP = [{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://example.org/p.json"}]


def ledger(data: Path) -> list[dict]:
    cur = catalog(DataDir(data)).connect().execute(
        "SELECT * FROM consent WHERE source = 'consentwiki' ORDER BY snapshot_id")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_ledger_records_each_signal_and_diffs_them(scratch_wiki: Wiki, tmp_path: Path) -> None:
    server = scratch_wiki.server
    with FaultProxy(server.url) as proxy:
        first = run_cli(*crawl_args(proxy.url, tmp_path, "consentwiki", "--limit", "5"))
        assert first.returncode == 0, first.stderr

        terms = "Text is CC BY-SA 4.0. No training of AI models without permission."
        server.edit_page("Project:Copyrights", terms, "Admin")
        proxy.set_robots_txt(RESTRICTIVE)
        proxy.set_header_override("/wiki/Main_Page", {
            "X-Robots-Tag": "noai, noimageai", "tdm-reservation": "1",
            "tdm-policy": "https://example.org/p.json", "Content-Usage": "train-ai=n"})
        proxy.add_fault("/.well-known/tdmrep.json", 200,
                        {"Content-Type": "application/json"}, json.dumps(TDMREP).encode(),
                        times=-1)
        second = run_cli(*crawl_args(proxy.url, tmp_path, "consentwiki", "--limit", "5"))
        assert second.returncode == 0, second.stderr

        proxy.clear_faults()
        proxy.set_robots_txt("User-agent: commons-provenance\nDisallow: /\n")
        refused = run_cli(*crawl_args(proxy.url, tmp_path, "consentwiki", "--limit", "5"))
        assert refused.returncode != 0 and "robots.txt forbids" in refused.stderr

    a, b, c = ledger(tmp_path)
    assert (a["status"], b["status"], c["status"]) == ("complete", "complete", "failed")
    assert a["agents_disallowed"] == [] and a["own_agent_allowed"] is True
    assert a["noai"] is False and a["tdm_reservation"] is None and a["tdmrep_status"] == 404
    assert a["license"] == b["license"] == "CC-BY-SA-4.0"

    assert b["agents_disallowed"] == ["CCBot", "GPTBot"] and b["own_agent_allowed"] is True
    assert json.loads(b["agents_allowed"])["Google-Extended"] is True
    assert b["crawl_delay"] is None and json.loads(b["crawl_delays"]) == {"CCBot": 7.0}
    assert b["robots_content_usage"] == ["train-ai=n"]
    assert b["rsl_license"] == ["https://example.org/rsl.xml"]
    assert b["robots_txt"] == RESTRICTIVE
    assert b["robots_sha256"] == hashlib.sha256(RESTRICTIVE.encode()).hexdigest()
    assert b["noai"] is True and b["noimageai"] is True
    assert b["x_robots_tag"] == ["noai, noimageai"] and b["content_usage"] == ["train-ai=n"]
    assert (b["tdm_reservation"], b["tdm_policy"]) == ("1", "https://example.org/p.json")
    assert b["tdmrep_status"] == 200 and json.loads(b["tdmrep_rules"]) == TDMREP

    pages = {p["title"]: p for p in json.loads(a["terms"])["pages"]}
    assert not pages["Testwiki:Copyrights"]["exists"]
    pages = {p["title"]: p for p in json.loads(b["terms"])["pages"]}
    assert pages["Testwiki:Copyrights"]["sha256"] == hashlib.sha256(terms.encode()).hexdigest()
    assert a["terms_sha256"] != b["terms_sha256"]

    assert c["own_agent_allowed"] is False and "User-agent: commons-provenance" in c["robots_txt"]
    (failed,) = [m for m in SnapshotStore(DataDir(tmp_path)).manifests("consentwiki")
                 if m.status == "failed"]
    assert "robots.txt forbids" in (failed.error or "")

    out = run_cli("consent", "consentwiki", "--data", str(tmp_path))
    assert out.returncode == 0, out.stderr
    rows = [ln for ln in out.stdout.splitlines() if ln.startswith("20")]
    assert len(rows) == 3 and "CCBot, GPTBot" in rows[1] and "noai" in rows[1]

    diff = run_cli("consent", "consentwiki", "--diff", "--data", str(tmp_path))
    assert diff.returncode == 0, diff.stderr
    text = diff.stdout
    assert f"{a['snapshot_id']} -> {b['snapshot_id']} (complete):" in text
    assert "  agents disallowed: - -> CCBot, GPTBot" in text
    assert "  noai: False -> True" in text
    assert "  tdm-reservation: - -> 1" in text
    assert "  robots.txt License (RSL): - -> https://example.org/rsl.xml" in text
    assert "  terms page SHA-256: " in text
    assert "    +User-agent: GPTBot" in text
    assert f"{b['snapshot_id']} -> {c['snapshot_id']} (failed):" in text
    assert "  our User-Agent allowed: True -> False" in text


def test_consent_of_a_source_without_snapshots(tmp_path: Path) -> None:
    with pytest.raises(NoConsentRecordsError, match="'nosuchsource' has no snapshot"):
        consent_ledger(catalog(tmp_path), "nosuchsource")
