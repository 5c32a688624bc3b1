"""What a forum thread is: the one rule the ``threads`` view and the audit both use.

A thread is the live posts of one ``parent_id`` among a source's current rows: rows of
``kind = 'post'`` with a ``parent_id``, neither a redirect nor a tombstone, whose text is
not blank. Their order is ``position`` (posts without one last), then ``doc_id``. The
thread's text is their texts in that order, a blank line apart; its ``url``, ``title`` and
``license`` are those of its first post, ``authors`` every post author, ``modified_at`` and
``fetched_at`` the newest of its posts and ``created_at`` the oldest. Its ``doc_id`` is the
thread id (``parent_id``) and its ``kind`` is ``thread``.
"""

from __future__ import annotations

#: The posts that make up threads (a WHERE clause over current rows).
LIVE_POSTS = (
    "kind = 'post' AND parent_id IS NOT NULL AND NOT coalesce(is_redirect, false) "
    "AND NOT coalesce(is_deleted, false) AND text IS NOT NULL AND trim(text) <> ''"
)
_ORDER = "position ASC NULLS LAST, doc_id"


def threads_select(rows: str, min_posts: int = 1) -> str:
    """One row per thread of the current rows ``rows``, with the columns of ``documents``.

    ``min_posts`` leaves out threads of fewer posts (the audit matches a thread of one post
    as that post). ``content_sha1`` is NULL: it is the SHA-1 of the normalised text,
    computed in Python (:func:`commons.normalize.content_sha1`).

    >>> "GROUP BY source, parent_id" in threads_select("latest_documents")
    True
    """
    having = f" HAVING count(*) >= {int(min_posts)}" if min_posts > 1 else ""
    return f"""
SELECT
    source,
    max(snapshot_id) AS snapshot_id,
    parent_id AS doc_id,
    'thread' AS kind,
    first(url ORDER BY {_ORDER}) AS url,
    first(title ORDER BY {_ORDER}) AS title,
    string_agg(text, chr(10) || chr(10) ORDER BY {_ORDER}) AS text,
    CAST(sum(n_words) AS INTEGER) AS n_words,
    first(license ORDER BY {_ORDER}) AS license,
    list_sort(list_distinct(flatten(list(authors)))) AS authors,
    CAST(sum(anon_authors) AS INTEGER) AS anon_authors,
    last(last_editor ORDER BY {_ORDER}) AS last_editor,
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
FROM {rows}
WHERE {LIVE_POSTS}
GROUP BY source, parent_id{having}
"""
