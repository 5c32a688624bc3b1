"""The HTTP validators of each thread page, kept beside a snapshot for its next increment.

An HTML forum crawl records, for each thread page whose answer carried an ``ETag`` or a
``Last-Modified`` header, those validators and what the page held (its posts, its place in
the thread, its next page) in ``_pages.json`` in the snapshot's folder. The next increment
asks for the page with ``If-None-Match`` / ``If-Modified-Since``; a ``304 Not Modified``
means the page still holds exactly those posts. The file is written when the crawl
finishes (before the snapshot is marked complete); a snapshot without it only costs the next
increment its conditional requests (pages are then compared post by post).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from commons.fsutil import atomic_write_json

PAGES_NAME = "_pages.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ThreadPage:
    """One thread page as a crawl saw it: validators, posts counted on it, where it leads."""

    thread_id: str
    offset: int  # posts of the thread before this page
    posts: tuple[str, ...]
    title: str | None = None
    next_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def validated(self) -> bool:
        return bool(self.etag or self.last_modified)

    def conditional_headers(self) -> dict[str, str]:
        """The headers that ask for the page only if it changed since."""
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass
class PageValidators:
    """Thread pages by canonical URL; read from and written to a snapshot folder."""

    pages: dict[str, ThreadPage] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> PageValidators:
        """The pages recorded in ``folder`` (none when the file is missing or unreadable)."""
        try:
            data = json.loads((folder / PAGES_NAME).read_text("utf-8"))
            if data.get("version") != FORMAT_VERSION:
                return cls()
            return cls({url: ThreadPage(**{**raw, "posts": tuple(raw["posts"])})
                        for url, raw in data["pages"].items()})
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return cls()

    def get(self, url: str) -> ThreadPage | None:
        return self.pages.get(url)

    def record(self, url: str, page: ThreadPage) -> None:
        """Keep ``page`` if it carries validators (only those serve a next increment)."""
        if page.validated:
            self.pages[url] = page

    def save(self, folder: Path) -> Path | None:
        """Write ``_pages.json`` into ``folder`` atomically (nothing when no page had
        validators)."""
        if not self.pages:
            return None
        pages: dict[str, Any] = {url: {**asdict(p), "posts": list(p.posts)}
                                 for url, p in sorted(self.pages.items())}
        path = folder / PAGES_NAME
        atomic_write_json(path, {"version": FORMAT_VERSION, "pages": pages})
        return path
