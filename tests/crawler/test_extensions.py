"""Crawl-delay enforced on top of Scrapy (PoliteAutoThrottle), against the real MediaWiki.

robots.txt with a Crawl-delay comes from the fault-injecting proxy in front of the session
wiki; tests/crawler/spiders/test_mediawiki.py covers Crawl-delay under AutoThrottle.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from commons.store import DataDir, SnapshotStore
from tests.conftest import CONTACT, ROOT, Wiki
from tests.harness.faultproxy import FaultProxy


@pytest.fixture()
def proxy(wiki: Wiki) -> Iterator[FaultProxy]:
    with FaultProxy(wiki.url) as p:
        yield p


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
