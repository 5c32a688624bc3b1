"""Self-check of the test harness: a real MediaWiki, its seed data and the fault proxy."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import lxml.html
import pytest

from tests.harness.corpus import make_articles
from tests.harness.faultproxy import FaultProxy
from tests.harness.mediawiki import DEFAULT_ROBOTS, MediaWikiServer, SeededPage

N_PAGES = 60
UA = "harness-selfcheck/1.0 (+https://example.org/contact)"
Seeded = tuple[MediaWikiServer, list[SeededPage]]


@pytest.fixture(scope="session")
def seeded_wiki(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Seeded]:
    """A wiki seeded with N_PAGES articles and 2 redirects, for the whole session."""
    server = MediaWikiServer(tmp_path_factory.mktemp("mediawiki"))
    with server:
        yield server, server.seed_default(N_PAGES, seed=7)


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": UA})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers.items()), response.read()


def _api(base: str, **params: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({**params, "format": "json", "formatversion": "2"})
    data: dict[str, Any] = json.loads(_get(f"{base}/api.php?{query}")[2])
    return data


def test_siteinfo_reports_licence_and_counts(
    seeded_wiki: Seeded,
) -> None:
    server, _ = seeded_wiki
    info = _api(
        server.url, action="query", meta="siteinfo", siprop="general|rightsinfo|statistics"
    )["query"]
    assert info["rightsinfo"] == {
        "url": "https://creativecommons.org/licenses/by-sa/4.0/",
        "text": "Creative Commons Attribution-Share Alike 4.0",
    }
    assert info["general"]["sitename"] == "Testwiki"
    assert info["general"]["articlepath"] == "/wiki/$1"
    assert info["statistics"]["articles"] == N_PAGES


def test_allpages_lists_every_seeded_title(
    seeded_wiki: Seeded,
) -> None:
    server, truth = seeded_wiki
    pages = _api(server.url, action="query", list="allpages", aplimit="max")["query"]["allpages"]
    titles = {p["title"] for p in pages}
    assert {p.title for p in truth} <= titles
    assert len(truth) == N_PAGES + 2
    redirects = _api(
        server.url, action="query", list="allpages", aplimit="max", apfilterredir="redirects"
    )["query"]["allpages"]
    assert {p["title"] for p in redirects} == {p.title for p in truth if p.is_redirect}


def test_contributors_of_multi_editor_page(seeded_wiki: Seeded) -> None:
    server, truth = seeded_wiki
    page = next(p for p in truth if len(p.editors) >= 2)
    data = _api(server.url, action="query", prop="contributors", titles=page.title)
    result = data["query"]["pages"][0]
    assert {c["name"] for c in result["contributors"]} == set(page.editors)
    assert "anoncontributors" not in result
    assert len(page.revids) == len(page.editors)


def test_revisions_and_canonical_url(seeded_wiki: Seeded) -> None:
    server, truth = seeded_wiki
    page = next(p for p in truth if not p.is_redirect)
    data = _api(server.url, action="query", prop="info|revisions", inprop="url", titles=page.title)
    result = data["query"]["pages"][0]
    assert result["pageid"] == page.page_id
    assert result["lastrevid"] == page.latest_revid
    assert result["fullurl"] == server.page_url(page.title)
    assert result["fullurl"].startswith(f"{server.url}/wiki/")


def test_rendered_paragraphs_match_ground_truth(
    seeded_wiki: Seeded,
) -> None:
    server, truth = seeded_wiki
    for page in [p for p in truth if not p.is_redirect][:5]:
        _, _, body = _get(server.page_url(page.title))
        content = lxml.html.fromstring(body).xpath('//div[contains(@class, "mw-parser-output")]')[0]
        paragraphs = [" ".join(p.text_content().split()) for p in content.xpath("./p")]
        assert tuple(p for p in paragraphs if p) == page.paragraphs
        assert "'''" not in body.decode() and "[[" not in body.decode()


def test_robots_txt_is_served_and_changeable(
    seeded_wiki: Seeded,
) -> None:
    server, _ = seeded_wiki
    assert _get(f"{server.url}/robots.txt")[2].decode() == DEFAULT_ROBOTS
    server.set_robots_txt("User-agent: *\nDisallow: /\n")
    try:
        assert _get(f"{server.url}/robots.txt")[2] == b"User-agent: *\nDisallow: /\n"
    finally:
        server.set_robots_txt(DEFAULT_ROBOTS)


def test_faultproxy_maxlag_once_then_passes_through(
    seeded_wiki: Seeded,
) -> None:
    server, _ = seeded_wiki
    with FaultProxy(server.url) as proxy:
        proxy.add_maxlag(match="api.php", times=1)
        proxy.set_header_override("/wiki/", {"X-Robots-Tag": "noai"})
        url = f"{proxy.url}/api.php?action=query&meta=siteinfo&format=json&maxlag=5"
        status, headers, body = _get(url)
        assert status == 200
        assert headers["MediaWiki-API-Error"] == "maxlag"
        assert headers["Retry-After"] == "1"
        assert json.loads(body)["error"]["code"] == "maxlag"
        status, headers, body = _get(url)
        assert status == 200 and "MediaWiki-API-Error" not in headers
        assert json.loads(body)["query"]["general"]["sitename"] == "Testwiki"
        _, headers, _ = _get(f"{proxy.url}/wiki/Main_Page")
        assert headers["X-Robots-Tag"] == "noai"
        seen = proxy.requests
        assert [r.faulted for r in seen] == [True, False, False]
        assert all(r.user_agent == UA for r in seen)
        assert seen[0].time <= seen[1].time <= seen[2].time


def test_faultproxy_retry_statuses(seeded_wiki: Seeded) -> None:
    server, _ = seeded_wiki
    with FaultProxy(server.url) as proxy:
        proxy.add_unavailable(match="Main_Page", status=503, retry_after=2)
        proxy.add_unavailable(match="Main_Page", status=429, retry_after=3)
        codes = []
        for _ in range(3):
            try:
                codes.append(_get(f"{proxy.url}/wiki/Main_Page")[0])
            except urllib.error.HTTPError as exc:
                codes.append(exc.code)
                assert exc.headers["Retry-After"] in {"2", "3"}
        assert codes == [503, 429, 200]


def test_articles_are_deterministic_and_title_safe() -> None:
    first, again = make_articles(40, seed=3), make_articles(40, seed=3)
    assert first == again
    assert len({a.title for a in first}) == 40
    for article in first:
        assert not re.search(r"[\[\]{}|#<>]", article.title) and article.title[0].isupper()
        assert article.text == "\n\n".join(article.paragraphs)
    paragraphs = [p for a in first for p in a.paragraphs]
    assert len(paragraphs) == len(set(paragraphs))
