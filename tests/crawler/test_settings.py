"""The crawler is a normal Scrapy project: `scrapy list` and `scrapy crawl` work from the root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from commons.store import DataDir, SnapshotStore
from tests.conftest import CONTACT, ROOT, Wiki

SCRAPY = str(Path(sys.executable).parent / "scrapy")


def _scrapy(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([SCRAPY, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_scrapy_list_names_the_spiders() -> None:
    res = _scrapy("list")
    assert res.returncode == 0, res.stderr
    assert "mediawiki" in res.stdout.split()


def test_scrapy_crawl_writes_a_complete_snapshot(wiki: Wiki, tmp_path: Path) -> None:
    data = tmp_path / "data"
    res = _scrapy("crawl", "mediawiki", "-a", f"url={wiki.url}", "-a", "source=viascrapy",
                  "-a", f"contact={CONTACT}", "-s", f"COMMONS_DATA={data}",
                  "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_START_DELAY=0",
                  "-s", "COMMONS_PROGRESS=0", "-s", "LOG_LEVEL=WARNING")
    assert res.returncode == 0, res.stderr
    manifests = SnapshotStore(DataDir(data)).manifests("viascrapy")
    assert len(manifests) == 1
    m = manifests[0]
    assert m.status == "complete" and m.documents == len(wiki.pages) + 1
    assert CONTACT in (m.user_agent or "")
