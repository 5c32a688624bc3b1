"""What an incremental MediaWiki crawl must refetch, from ``list=recentchanges``.

An incremental snapshot holds the current state of every page that changed since its base
(the tip of the source's snapshot chain), plus a tombstone (``is_deleted``) for every base
page that is gone. Which pages changed comes from recent changes since the base's
high-water mark: edits, new pages and log events (deletions, undeletions, moves, imports,
merges). The refetched titles are the changed titles and the targets of moves; a base
document is tombstoned when one of them was its title and the crawl did not meet its page
id again (deleted, moved out of the crawled namespaces, or replaced by a new page).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from commons.store import SnapshotManifest, SnapshotStore
from crawler.items import DocumentItem
from crawler.mediawiki.pages import PAGE_PROPS


def high_water_mark(manifest: SnapshotManifest) -> datetime:
    """When a snapshot started, by the wiki's clock when it was recorded (``site.server_time``)."""
    stamp = manifest.site.get("server_time") or manifest.started_at
    if not stamp:
        raise ValueError(f"snapshot {manifest.snapshot_id} records no start time")
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone(UTC)


def mw_timestamp(moment: datetime) -> str:
    """A MediaWiki API timestamp.

    >>> mw_timestamp(datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC))
    '2026-01-02T03:04:05Z'
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def current_titles(store: SnapshotStore, chain: list[SnapshotManifest]) -> dict[str, str]:
    """title -> doc_id of every current document of a chain (:meth:`SnapshotStore.current_rows`)."""
    out: dict[str, str] = {}
    for batch in store.current_rows(chain, ["doc_id", "title"]):
        for doc_id, title in zip(batch.column("doc_id").to_pylist(),
                                 batch.column("title").to_pylist(), strict=True):
            if title is not None:
                out[title] = doc_id
    return out


class IncrementalPlan:
    """The titles to refetch since ``rcstart`` and the base documents they may replace.

    >>> plan = IncrementalPlan("2026-01-01T00:00:00Z", [0], {"Old": "7", "Kept": "8"})
    >>> plan.add({"type": "log", "ns": 0, "title": "Old", "logtype": "move",
    ...           "logparams": {"target_ns": 0, "target_title": "New"}})
    >>> plan.add({"type": "edit", "ns": 2, "title": "User:Bob"})  # not a crawled namespace
    >>> plan.next_batch(50)
    ['Old', 'New']
    >>> plan.emitted_ids.add("7")  # page 7 was found again, under its new title
    >>> list(plan.tombstones())
    []
    """

    def __init__(self, rcstart: str, namespaces: Iterable[int],
                 base_titles: dict[str, str]) -> None:
        self.rcstart = rcstart
        self.namespaces = frozenset(namespaces)
        self.base_titles = base_titles
        self.titles: dict[str, None] = {}  # ordered set of titles to refetch
        self.emitted_ids: set[str] = set()
        self.changes = 0
        self.current: list[str] = []
        self._cursor = 0

    @classmethod
    def load(cls, store: SnapshotStore, chain: list[SnapshotManifest], rcstart: str,
             namespaces: Iterable[int]) -> IncrementalPlan:
        """A plan over the live documents of ``chain``, starting at ``rcstart``."""
        return cls(rcstart, namespaces, current_titles(store, chain))

    @staticmethod
    def start_for(base: SnapshotManifest, margin_s: float) -> str:
        """``rcstart`` for an increment on ``base``: its high-water mark minus a margin."""
        return mw_timestamp(high_water_mark(base) - timedelta(seconds=margin_s))

    def covers(self, oldest: str | None) -> bool:
        """Whether the wiki's recent changes, the oldest dated ``oldest``, reach ``rcstart``."""
        return oldest is not None and oldest <= self.rcstart

    def rc_params(self, cont: dict[str, Any]) -> dict[str, Any]:
        """The query of recent changes since ``rcstart`` (continued with ``cont``)."""
        # No rcnamespace: a move into a crawled namespace is logged under its source title.
        return {"list": "recentchanges", "rcdir": "newer", "rcstart": self.rcstart,
                "rcprop": "title|ids|timestamp|loginfo", "rctype": "edit|new|log",
                "rclimit": "max", **cont}

    def add(self, change: dict[str, Any]) -> None:
        """Record one recentchanges entry (edit, new page or log event)."""
        self.changes += 1
        title = change.get("title")
        if title and change.get("ns") in self.namespaces:
            self.titles[title] = None
        params = change.get("logparams") or {}
        target = params.get("target_title")
        if target and params.get("target_ns") in self.namespaces:
            self.titles[target] = None

    def next_batch(self, size: int) -> list[str]:
        """The next ``size`` titles to fetch (empty when all were handed out)."""
        titles = list(self.titles)
        batch = titles[self._cursor : self._cursor + size]
        self._cursor += len(batch)
        return batch

    def titles_params(self, size: int, cont: dict[str, Any]) -> dict[str, Any] | None:
        """The query of the next ``size`` titles, or of the rest of the current ones
        (``cont``); None when every title was fetched."""
        if not cont:
            batch = self.next_batch(size)
            if not batch:
                return None
            self.current = batch
        return {"titles": "|".join(self.current), **PAGE_PROPS, **cont}

    def wanted(self, page: dict[str, Any]) -> bool:
        """Whether a fetched page is one to write (it exists, in a crawled namespace)."""
        return "pageid" in page and page.get("ns") in self.namespaces

    def tombstones(self) -> Iterator[tuple[str, str]]:
        """(doc_id, title) of base documents whose title changed hands and were not seen."""
        for title in self.titles:
            doc_id = self.base_titles.get(title)
            if doc_id is not None and doc_id not in self.emitted_ids:
                self.emitted_ids.add(doc_id)
                yield doc_id, title

    def tombstone_documents(self, license: str | None) -> Iterator[DocumentItem]:
        """The :meth:`tombstones` as documents (``is_deleted``, no text)."""
        fetched = datetime.now(UTC)
        for doc_id, title in self.tombstones():
            yield DocumentItem(doc_id=doc_id, kind="page", url=None, title=title, text="",
                               fetched_at=fetched, license=license, is_deleted=True)
