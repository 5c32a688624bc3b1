"""Retry-After honoured on top of Scrapy (RetryAfterMiddleware), against the real MediaWiki.

The server's answers (429/503 with Retry-After) come from the fault-injecting proxy in front
of the session wiki; tests/crawler/spiders/test_mediawiki.py covers maxlag and 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from commons.store import DataDir, SnapshotStore
from tests.conftest import Wiki, crawl_args, run_cli
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
