"""The one Parquet schema every snapshot uses, whatever the source kind."""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

#: One row per document (a wiki page, a forum post, a thread).
DOCUMENT_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("snapshot_id", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # page | post | thread
        pa.field("url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("text", pa.string()),
        pa.field("n_words", pa.int32()),
        pa.field("license", pa.string()),
        pa.field("authors", pa.list_(pa.string())),
        pa.field("anon_authors", pa.int32()),
        pa.field("last_editor", pa.string()),
        pa.field("revision_id", pa.int64()),
        pa.field("modified_at", pa.timestamp("us", tz="UTC")),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("content_sha1", pa.string()),
        pa.field("parent_id", pa.string()),
        pa.field("reply_to", pa.string()),
        pa.field("position", pa.int32()),
        pa.field("namespace", pa.int32()),
        pa.field("is_redirect", pa.bool_()),
        pa.field("redirect_to", pa.string()),
        pa.field("is_deleted", pa.bool_()),
    ],
    metadata={"commons.schema_version": str(SCHEMA_VERSION)},
)

DOCUMENT_COLUMNS: tuple[str, ...] = tuple(DOCUMENT_SCHEMA.names)

DOCUMENT_KINDS: frozenset[str] = frozenset({"page", "post", "thread"})
