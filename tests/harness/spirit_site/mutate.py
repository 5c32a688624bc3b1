"""Change a seeded django-spirit forum through Spirit's own forms and models (between crawls).

Run by :meth:`tests.harness.spirit.SpiritServer.mutate` in a subprocess; reads a JSON list
of operations on stdin and prints a JSON list of results (the new comment or topic id, or
null)::

    [{"op": "reply", "topic": 4, "author": "bob", "text": "..."},
     {"op": "edit", "comment": 17, "text": "..."},
     {"op": "remove_comment", "comment": 18},
     {"op": "new_topic", "title": "...", "author": "erin", "text": "...", "category": 0},
     {"op": "remove_topic", "topic": 9}]

A reply goes through ``CommentForm`` and ``comment_posted`` (the topic becomes the most
recently active), an edit through ``CommentForm`` with the edit view's history hooks, a
removal sets ``is_removed`` as Spirit's moderation views do.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def apply(ops: list[dict[str, Any]]) -> list[int | None]:
    """Apply ``ops`` in one transaction; return what each created."""
    import django

    django.setup()
    from django.db import transaction

    with transaction.atomic():
        return [_apply(op) for op in ops]


def _apply(op: dict[str, Any]) -> int | None:
    from django.contrib.auth import get_user_model
    from spirit.category.models import Category
    from spirit.comment.forms import CommentForm
    from spirit.comment.models import Comment
    from spirit.comment.utils import comment_posted, post_comment_update, pre_comment_update
    from spirit.topic.forms import TopicForm
    from spirit.topic.models import Topic

    def user(name: str) -> Any:
        return get_user_model().objects.get(username=name)

    def publish(author: Any, topic: Any, text: str) -> int:
        form = CommentForm(user=author, topic=topic, data={"comment": text})
        if not form.is_valid():
            raise RuntimeError(f"comment form: {form.errors}")
        comment = form.save()
        comment_posted(comment=comment, mentions=form.mentions)
        return int(comment.pk)

    kind = op["op"]
    if kind == "reply":
        return publish(user(op["author"]), Topic.objects.get(pk=op["topic"]), op["text"])
    if kind == "edit":
        comment = Comment.objects.get(pk=op["comment"])
        form = CommentForm(data={"comment": op["text"]}, instance=comment)
        if not form.is_valid():
            raise RuntimeError(f"edit form: {form.errors}")
        pre_comment_update(comment=Comment.objects.get(pk=comment.pk))
        post_comment_update(comment=form.save())
        return None
    if kind == "remove_comment":
        Comment.objects.filter(pk=op["comment"]).update(is_removed=True)
        return None
    if kind == "new_topic":
        author = user(op["author"])
        category = Category.objects.filter(is_private=False).exclude(
            title="Uncategorized").order_by("pk")[int(op.get("category", 0))]
        form = TopicForm(user=author, data={"title": op["title"], "category": category.pk})
        if not form.is_valid():
            raise RuntimeError(f"topic form: {form.errors}")
        topic = form.save()
        publish(author, topic, op["text"])
        return int(topic.pk)
    if kind == "remove_topic":
        Topic.objects.filter(pk=op["topic"]).update(is_removed=True)
        return None
    raise ValueError(f"unknown operation {kind!r}")


def main() -> int:
    print(json.dumps(apply(json.load(sys.stdin))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
