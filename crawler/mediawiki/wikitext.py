"""Wikitext to plain text, keeping paragraph breaks and dropping templates and markup."""

from __future__ import annotations

import contextlib
import re

import mwparserfromhell
from mwparserfromhell.nodes import Node
from mwparserfromhell.wikicode import Wikicode

_DROP_LINK_PREFIXES = ("category:", "file:", "image:", "media:")
_DROP_TAGS = frozenset({"ref", "references", "gallery", "math", "score", "syntaxhighlight",
                        "source", "timeline", "graph", "templatedata"})
_BLANKS = re.compile(r"\n\s*\n+")
_SPACES = re.compile(r"[ \t]+")
_SPACE_BEFORE_PUNCT = re.compile(r" +([.,;:!?)\]])")


def wikitext_to_text(wikitext: str | None) -> str:
    """Plain text of a page: headings and prose kept, paragraphs separated by one blank line.

    >>> wikitext_to_text("== Intro ==\\n'''Bold''' [[Link|label]] {{cite|x}}.\\n\\nNext para.")
    'Intro\\n\\nBold label.\\n\\nNext para.'
    """
    if not wikitext:
        return ""
    code = mwparserfromhell.parse(wikitext)
    for link in list(code.filter_wikilinks(recursive=True)):
        if str(link.title).strip().lower().startswith(_DROP_LINK_PREFIXES):
            _remove(code, link)
    for tag in list(code.filter_tags(recursive=True)):
        if str(tag.tag).strip().lower() in _DROP_TAGS:
            _remove(code, tag)
    for template in list(code.filter_templates(recursive=False)):
        _remove(code, template)
    for heading in list(code.filter_headings(recursive=False)):
        code.replace(heading, f"\n\n{heading.title.strip_code().strip()}\n\n")
    for table in list(code.filter_tags(recursive=False)):
        if str(table.tag).strip().lower() == "table":
            _remove(code, table)
    text = code.strip_code(normalize=True, collapse=True, keep_template_params=False)
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    joined = "\n".join(lines)
    paragraphs = [p.strip() for p in _BLANKS.split(joined)]
    paragraphs = [_SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(p.split())) for p in paragraphs]
    return "\n\n".join(p for p in paragraphs if p)


def _remove(code: Wikicode, node: Node) -> None:
    with contextlib.suppress(ValueError):  # already removed with an enclosing node
        code.remove(node)
