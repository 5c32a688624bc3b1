"""Crawl-delay and Retry-After enforced on top of Scrapy, against the real MediaWiki.

The server's answers (429/503 with Retry-After, robots.txt with Crawl-delay) come from the
fault-injecting proxy in front of the session wiki; tests/crawler/test_mediawiki.py covers
maxlag, 503 and Crawl-delay under AutoThrottle.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from commons.store import DataDir, SnapshotStore
from tests.conftest import CONTACT, ROOT, Wiki, crawl_args, run_cli
from tests.harness.faultproxy import FaultProxy


@pytest.fixture()
def proxy(wiki: Wiki) -> Iterator[FaultProxy]:
    with FaultProxy(wiki.url) as p:
        yield p


def test_429_waits_for_retry_after(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.add_unavailable(match="generator=allpages", times=1, retry_after=2, status=429)
    result = run_cli(*crawl_args(proxy.url, tmp_path, "limited", "--limit", "10"))
    assert result.returncode == 0, result.stderr
    first, retry = [r for r in proxy.requests if "generator=allpages" in r.path]
    assert first.status == 429 and retry.status == 200 and retry.path == first.path
    assert retry.time - first.time >= 1.9  # never before the server's Retry-After
    (m,) = SnapshotStore(DataDir(tmp_path)).manifests("limited")
    assert m.status == "complete" and m.stats["retry_after/count"] == 1


def test_retry_after_beyond_the_maximum_gives_up_with_one_line(proxy: FaultProxy,
                                                               tmp_path: Path) -> None:
    proxy.add_unavailable(match="generator=allpages", times=-1, retry_after=3600, status=503)
    result = run_cli(*crawl_args(proxy.url, tmp_path, "closed"))
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert "retry after 3600s" in line and "giving up" in line
    assert len([r for r in proxy.requests if "generator=allpages" in r.path]) == 1
    (m,) = SnapshotStore(DataDir(tmp_path)).manifests("closed")
    assert m.status == "failed" and m.stats["retry_after/given_up"] == 1


def test_crawl_delay_is_enforced_without_autothrottle(proxy: FaultProxy, tmp_path: Path) -> None:
    """Through `scrapy crawl` (the Scrapy project entry point), AutoThrottle switched off."""
    proxy.set_robots_txt("User-agent: *\nCrawl-delay: 1\nAllow: /\n")
    settings = {"COMMONS_DATA": str(tmp_path), "AUTOTHROTTLE_ENABLED": "False",
                "DOWNLOAD_DELAY": "0", "MEDIAWIKI_BATCH": "20", "LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "mediawiki", "-a", f"url={proxy.url}",
           "-a", "source=undelayed", "-a", f"contact={CONTACT}", "-a", "limit=60"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    api = [r for r in proxy.requests if "api.php" in r.path]
    gaps = [b.time - a.time for a, b in zip(api, api[1:], strict=False)]
    assert len(gaps) >= 3 and min(gaps) >= 0.95, gaps
    (m,) = SnapshotStore(DataDir(tmp_path)).manifests("undelayed")
    assert m.status == "complete" and m.documents == 60
    assert m.settings["AUTOTHROTTLE_ENABLED"] in (False, "False")
    assert m.stats["crawl_delay/enforced"] == 1.0
