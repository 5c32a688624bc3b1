"""Items the spiders yield: documents, and facts about the snapshot itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class DocumentItem:
    """One document (wiki page, forum post). Columns as in :data:`commons.schema.DOCUMENT_SCHEMA`.

    ``source``, ``snapshot_id``, ``n_words`` and ``content_sha1`` are filled by the pipeline.
    """

    doc_id: str
    kind: str
    url: str | None
    title: str | None
    text: str
    fetched_at: datetime
    license: str | None = None
    authors: list[str] = field(default_factory=list)
    anon_authors: int | None = None
    last_editor: str | None = None
    revision_id: int | None = None
    modified_at: datetime | None = None
    created_at: datetime | None = None
    parent_id: str | None = None
    reply_to: str | None = None
    position: int | None = None
    namespace: int | None = None
    is_redirect: bool = False
    redirect_to: str | None = None
    is_deleted: bool = False


@dataclass
class SnapshotInfoItem:
    """Facts about the site as of crawl time; merged into the snapshot manifest."""

    site: dict[str, Any] = field(default_factory=dict)
    license: dict[str, Any] = field(default_factory=dict)
    robots: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, Any] = field(default_factory=dict)
    expected_documents: int | None = None
