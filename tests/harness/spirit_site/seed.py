"""Migrate and seed the django-spirit forum through Spirit's own forms, then write ground truth.

Run by :class:`tests.harness.spirit.SpiritServer` in a subprocess (Django is configured once
per process)::

    SPIRIT_WORKDIR=DIR DJANGO_SETTINGS_MODULE=tests.harness.spirit_site.settings \\
        python -m tests.harness.spirit_site.seed --threads 36 --seed 0 --out DIR/truth.json

Topics and comments go through ``TopicForm``/``CommentForm`` (Spirit's markdown renderer
makes ``comment_html``), edits through ``CommentForm`` plus the same history hooks as
Spirit's edit view, pagination through the admin's ``BasicConfigForm``; so the HTML the
server sends is what Spirit really renders.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

AUTHORS = ("alice", "bob", "chandra", "dmitri", "erin", "farid")
CATEGORIES = ("General discussion", "Help and support", "Show and tell")
SEED_EPOCH = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
TOPICS_PER_PAGE = 10
COMMENTS_PER_PAGE = 10


@dataclass
class SeededPost:
    """Ground truth for one visible comment (removed comments are not listed)."""

    id: int
    author: str
    paragraphs: list[str]
    date: str
    position: int
    edited: bool = False
    quotes: int | None = None  # id of the post quoted at the top, if any


@dataclass
class SeededThread:
    """Ground truth for one topic, its posts in display order."""

    id: int
    title: str
    slug: str
    category: str
    url_path: str
    posts: list[SeededPost] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)


def seed(n_threads: int, seed_value: int) -> dict[str, Any]:
    """Migrate, seed ``n_threads`` topics and return the ground truth."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)

    from django.db import transaction

    with transaction.atomic():
        truth = _seed(n_threads, seed_value)
    return truth


def _seed(n_threads: int, seed_value: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from spirit.admin.forms import BasicConfigForm
    from spirit.category.models import Category
    from spirit.comment.forms import CommentForm
    from spirit.comment.models import Comment
    from spirit.comment.utils import comment_posted, post_comment_update, pre_comment_update
    from spirit.topic.forms import TopicForm
    from spirit.topic.models import Topic

    from tests.harness.corpus import make_articles, prose_paragraphs

    config = BasicConfigForm(data={"site_name": "Commons test forum",
                                   "site_description": "A django-spirit forum on loopback",
                                   "comments_per_page": COMMENTS_PER_PAGE,
                                   "topics_per_page": TOPICS_PER_PAGE})
    if not config.is_valid():
        raise RuntimeError(f"config form: {config.errors}")
    config.save()

    rng = random.Random(seed_value)
    user_model = get_user_model()
    users = [user_model.objects.create_user(username=name, email=f"{name}@example.org",
                                            password="pass") for name in AUTHORS]
    for user in users:
        user.refresh_from_db()
    moderator = users[0]
    moderator.st.is_moderator = True
    moderator.st.save()
    categories = [Category.objects.create(title=title, description=f"About {title.lower()}")
                  for title in CATEGORIES]

    articles = make_articles(n_threads, seed_value, paragraphs_per_article=(1, 1))
    pool = list(prose_paragraphs())
    rng.shuffle(pool)
    threads: list[SeededThread] = []
    minute = 0
    for i, article in enumerate(articles):
        n_posts = _post_count(i, rng)
        category = categories[i % len(categories)]
        opener = users[rng.randrange(len(users))]
        form = TopicForm(user=opener, data={"title": article.title, "category": category.pk})
        if not form.is_valid():
            raise RuntimeError(f"topic form: {form.errors}")
        topic = form.save()
        thread = SeededThread(id=topic.pk, title=topic.title, slug=topic.slug,
                              category=category.title, url_path=topic.get_absolute_url())
        for j in range(n_posts):
            author = opener if j == 0 else users[rng.randrange(len(users))]
            paragraphs = [pool.pop() for _ in range(rng.choice((1, 1, 2, 3)))]
            quoted = thread.posts[-1] if j >= 2 and rng.random() < 0.2 else None
            shown = list(paragraphs)
            if j == 1 and i % 4 == 0:
                shown[0] = _emphasise(shown[0])
            body = "\n\n".join(shown)
            if quoted is not None:
                body = f"> @{quoted.author} said:\n> {quoted.paragraphs[0]}\n\n{body}"
            when = SEED_EPOCH + timedelta(minutes=minute)
            minute += 7
            comment = _publish(CommentForm, comment_posted, Comment, author, topic, body, when)
            post = SeededPost(id=comment.pk, author=author.st.nickname, paragraphs=paragraphs,
                              date=when.isoformat(), position=len(thread.posts) + 1,
                              quotes=quoted.id if quoted else None)
            if j > 0 and rng.random() < 0.15:
                new_paragraphs = [pool.pop() for _ in range(rng.choice((1, 2)))]
                edit = CommentForm(data={"comment": "\n\n".join(new_paragraphs)},
                                   instance=comment)
                if not edit.is_valid():
                    raise RuntimeError(f"edit form: {edit.errors}")
                pre_comment_update(comment=Comment.objects.get(pk=comment.pk))
                comment = edit.save()
                post_comment_update(comment=comment)
                post.paragraphs = new_paragraphs
                post.edited = True
                post.quotes = None
            thread.posts.append(post)
        if i % 9 == 4 and len(thread.posts) > 2:  # a moderator removes a reply
            removed = thread.posts.pop(1)
            Comment.objects.filter(pk=removed.id).update(is_removed=True)
            thread.removed.append(removed.id)
            for k, post in enumerate(thread.posts, start=1):
                post.position = k
                if post.quotes == removed.id:
                    post.quotes = None
        last = SEED_EPOCH + timedelta(minutes=minute - 7)
        Topic.objects.filter(pk=topic.pk).update(date=SEED_EPOCH + timedelta(minutes=minute
                                                 - 7 * n_posts), last_active=last)
        threads.append(thread)
    return {
        "site_name": "Commons test forum",
        "topics_per_page": TOPICS_PER_PAGE,
        "comments_per_page": COMMENTS_PER_PAGE,
        "authors": [u.st.nickname for u in users],
        "categories": list(CATEGORIES),
        "threads": [asdict(t) for t in threads],
    }


def _post_count(i: int, rng: random.Random) -> int:
    """Mostly short threads; every seventh one spans three comment pages."""
    if i % 7 == 3:
        return 2 * COMMENTS_PER_PAGE + rng.randint(1, COMMENTS_PER_PAGE - 1)
    return rng.randint(1, 8)


def _emphasise(paragraph: str) -> str:
    """Markdown bold around the first long word (the reader still sees the same text)."""
    words = paragraph.split(" ")
    for k, word in enumerate(words):
        if len(word) >= 6 and word.isalpha():
            words[k] = f"**{word}**"
            break
    return " ".join(words)


def _publish(form_cls: Any, posted: Any, comment_model: Any, user: Any, topic: Any, body: str,
             when: datetime) -> Any:
    form = form_cls(user=user, topic=topic, data={"comment": body})
    if not form.is_valid():
        raise RuntimeError(f"comment form: {form.errors}")
    form.instance.date = when
    comment = form.save()
    posted(comment=comment, mentions=form.mentions)
    comment_model.objects.filter(pk=comment.pk).update(date=when)
    comment.refresh_from_db()
    return comment


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness.spirit_site.seed")
    parser.add_argument("--threads", type=int, default=36)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    truth = seed(args.threads, args.seed)
    out = Path(args.out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(truth, indent=1))
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
