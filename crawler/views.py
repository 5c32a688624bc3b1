"""Catalog views derived from crawled documents (forum threads)."""

from __future__ import annotations

from commons.store import DataDir

#: One row per thread of each source's current documents (``latest_documents``), with the
#: columns of ``documents``: ``text`` is the thread's posts in ``position`` order separated
#: by a blank line, ``url`` the first post's permalink (it opens the thread), ``authors`` every
#: post author, ``modified_at``/``fetched_at`` the newest of its posts, ``created_at`` the
#: oldest. ``content_sha1`` is left NULL: the SHA-1 of normalised text is computed in Python
#: (commons.normalize).
THREADS = """
SELECT
    source,
    max(snapshot_id) AS snapshot_id,
    parent_id AS doc_id,
    'thread' AS kind,
    arg_min(url, position) AS url,
    arg_min(title, position) AS title,
    string_agg(text, chr(10) || chr(10) ORDER BY position, doc_id) AS text,
    CAST(sum(n_words) AS INTEGER) AS n_words,
    arg_min(license, position) AS license,
    list_sort(list_distinct(flatten(list(authors)))) AS authors,
    CAST(sum(anon_authors) AS INTEGER) AS anon_authors,
    arg_max(last_editor, position) AS last_editor,
    CAST(NULL AS BIGINT) AS revision_id,
    max(modified_at) AS modified_at,
    min(created_at) AS created_at,
    max(fetched_at) AS fetched_at,
    CAST(NULL AS VARCHAR) AS content_sha1,
    CAST(NULL AS VARCHAR) AS parent_id,
    CAST(NULL AS VARCHAR) AS reply_to,
    CAST(NULL AS INTEGER) AS position,
    CAST(NULL AS INTEGER) AS namespace,
    false AS is_redirect,
    CAST(NULL AS VARCHAR) AS redirect_to,
    false AS is_deleted
FROM latest_documents
WHERE kind = 'post' AND parent_id IS NOT NULL AND text <> ''
GROUP BY source, parent_id
"""


def crawl_views(data: DataDir) -> dict[str, str]:
    """View name -> SELECT over the snapshot views (created after them)."""
    return {"threads": " ".join(THREADS.split())}
