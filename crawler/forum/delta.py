"""What a forum increment writes: the posts that differ from its base, and tombstones.

An incremental forum snapshot holds every post whose row would differ from the source's
current state (its snapshot chain, read like ``latest_documents``), plus a tombstone
(``is_deleted``) for every current post that the crawl looked for and did not see again.
Rows are compared on every column a full crawl would write except the fetch time (see
:data:`CONTENT_COLUMNS`), so base + increments equals a full crawl, document for document.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from commons.store import SnapshotManifest, SnapshotStore
from crawler.items import DocumentItem

#: The columns whose values make a post "the same" as its base row: all the spider writes
#: except ``fetched_at`` (``n_words`` and ``content_sha1`` follow from ``text``).
CONTENT_COLUMNS: tuple[str, ...] = (
    "kind", "url", "title", "text", "license", "authors", "anon_authors", "last_editor",
    "revision_id", "modified_at", "created_at", "parent_id", "reply_to", "position", "namespace",
    "is_redirect", "redirect_to",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def content_key(row: Mapping[str, Any]) -> int:
    """A 64-bit fingerprint of a row's :data:`CONTENT_COLUMNS` (exact text, not normalised).

    >>> a = {"kind": "post", "text": "Hello", "position": 1}
    >>> content_key(a) == content_key({**a, "fetched_at": "later"})
    True
    >>> content_key(a) == content_key({**a, "text": "hello"})
    False
    """
    values = [_plain(row.get(column)) for column in CONTENT_COLUMNS]
    payload = json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=str)
    return int.from_bytes(hashlib.sha1(payload.encode("utf-8")).digest()[:8], "big")


class BasePosts:
    """The live posts of a snapshot chain: ``doc_id -> (thread id, content key)``."""

    def __init__(self, posts: dict[str, tuple[str | None, int]]) -> None:
        self.posts = posts

    @classmethod
    def load(cls, store: SnapshotStore, chain: list[SnapshotManifest]) -> BasePosts:
        """The current rows of ``chain`` (:meth:`SnapshotStore.current_rows`)."""
        posts: dict[str, tuple[str | None, int]] = {}
        for batch in store.current_rows(chain, ["doc_id", *CONTENT_COLUMNS]):
            for row in batch.to_pylist():
                posts[row["doc_id"]] = (row["parent_id"], content_key(row))
        return cls(posts)

    def __len__(self) -> int:
        return len(self.posts)

    def unchanged(self, item: DocumentItem) -> bool:
        """Whether the base already holds exactly this row."""
        held = self.posts.get(item.doc_id)
        return held is not None and held[1] == content_key(dataclasses.asdict(item))

    def thread_ids(self) -> set[str]:
        return {parent for parent, _ in self.posts.values() if parent is not None}


class ForumIncrement:
    """One increment's bookkeeping: which base posts were seen again, which threads read."""

    def __init__(self, base: BasePosts) -> None:
        self.base = base
        self.live: set[str] = set()

    def keep(self, item: DocumentItem) -> bool:
        """Record ``item`` as live; True when it must be written (new or changed)."""
        self.live.add(item.doc_id)
        return not self.base.unchanged(item)

    def seen(self, doc_ids: Iterable[str]) -> None:
        """Posts known to be live and unchanged without being read (a 304 page)."""
        self.live.update(doc_ids)

    def gone(self, threads: set[str] | None = None) -> Iterator[tuple[str, str | None]]:
        """(doc_id, thread id) of base posts not seen again, in ``threads`` if given."""
        for doc_id, (parent, _) in sorted(self.base.posts.items()):
            if doc_id in self.live or (threads is not None and parent not in threads):
                continue
            yield doc_id, parent
