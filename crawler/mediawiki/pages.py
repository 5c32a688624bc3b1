"""MediaWiki pages as documents: what is asked for each page, batches merged, rows in order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawler.items import DocumentItem
from crawler.mediawiki.wikitext import wikitext_to_text

#: What a MediaWiki crawl asks for each page: latest revision with text, info, contributors.
PAGE_PROPS = {"prop": "revisions|info|contributors",
              "rvprop": "ids|timestamp|user|userid|sha1|size|content", "rvslots": "main",
              "inprop": "url", "pclimit": "max"}


def parse_mw_time(value: str | None) -> datetime | None:
    """MediaWiki ISO timestamps ('2024-01-31T12:00:00Z') to aware datetimes."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def dbkey(title: str, namespace: int | None = 0) -> str:
    """MediaWiki's sort key for a title within its namespace (allpages order; ``gapfrom``).

    >>> dbkey("Template:Notice board", 10)
    'Notice_board'
    >>> dbkey("Ratio: a study", 0)
    'Ratio:_a_study'
    """
    if namespace and ":" in title:
        title = title.split(":", 1)[1]
    return title.replace(" ", "_")


def redirect_target(wikitext: str) -> str | None:
    """The target of ``#REDIRECT [[Target]]``."""
    start = wikitext.find("[[")
    end = wikitext.find("]]", start)
    if start < 0 or end < 0:
        return None
    return wikitext[start + 2 : end].split("|")[0].strip() or None


def page_document(page: dict[str, Any], fetched: datetime,
                  license: str | None) -> DocumentItem | None:
    """The document of an API page (``formatversion=2``); None for a missing or invalid one."""
    if page.get("missing") or page.get("invalid") or "revisions" not in page:
        return None
    revisions = page.get("revisions") or []
    rev = revisions[0] if revisions else {}
    wikitext = rev.get("slots", {}).get("main", {}).get("content", "")
    is_redirect = bool(page.get("redirect"))
    authors = sorted({c["name"] for c in page.get("contributors", []) if c.get("name")})
    return DocumentItem(
        doc_id=str(page["pageid"]),
        kind="page",
        url=page.get("canonicalurl") or page.get("fullurl"),
        title=page.get("title"),
        text="" if is_redirect else wikitext_to_text(wikitext),
        fetched_at=fetched,
        license=license,
        authors=authors,
        anon_authors=int(page.get("anoncontributors", 0) or 0),
        last_editor=rev.get("user"),
        revision_id=rev.get("revid"),
        modified_at=parse_mw_time(rev.get("timestamp")),
        namespace=page.get("ns"),
        is_redirect=is_redirect,
        redirect_to=redirect_target(wikitext) if is_redirect else None,
    )


class PageBatch:
    """The pages of one API batch, merged by page id across its parts until ``batchcomplete``
    (the API splits a batch whose pages have many contributors)."""

    def __init__(self) -> None:
        self.pages: dict[int, dict[str, Any]] = {}

    def merge(self, page: dict[str, Any]) -> None:
        """Add one part of a page: its contributors are appended, other fields updated."""
        held = self.pages.setdefault(page["pageid"], {})
        contributors = held.get("contributors", []) + page.get("contributors", [])
        held.update({k: v for k, v in page.items() if v is not None})
        held["contributors"] = contributors

    def take(self) -> list[dict[str, Any]]:
        """The batch's pages in title order, as allpages lists them, and the batch emptied.

        In that order the durable documents of an interrupted crawl are always a prefix of
        the namespace (see ``--resume``).
        """
        pages = sorted(self.pages.values(), key=lambda p: dbkey(p.get("title", ""), p.get("ns")))
        self.pages.clear()
        return pages
