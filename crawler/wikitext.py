"""Wikitext to plain text, keeping paragraph breaks and dropping templates and markup."""

from __future__ import annotations

import re

import mwparserfromhell

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
    for node in list(code.filter_wikilinks(recursive=True)):
        if str(node.title).strip().lower().startswith(_DROP_LINK_PREFIXES):
            _remove(code, node)
    for node in list(code.filter_tags(recursive=True)):
        if str(node.tag).strip().lower() in _DROP_TAGS:
            _remove(code, node)
    for node in list(code.filter_templates(recursive=False)):
        _remove(code, node)
    for heading in list(code.filter_headings(recursive=False)):
        code.replace(heading, f"\n\n{heading.title.strip_code().strip()}\n\n")
    for node in list(code.filter_tags(recursive=False)):
        if str(node.tag).strip().lower() in {"table"}:
            _remove(code, node)
    text = code.strip_code(normalize=True, collapse=True, keep_template_params=False)
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    joined = "\n".join(lines)
    paragraphs = [p.strip() for p in _BLANKS.split(joined)]
    paragraphs = [_SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(p.split())) for p in paragraphs]
    return "\n\n".join(p for p in paragraphs if p)


def _remove(code: mwparserfromhell.wikicode.Wikicode, node: object) -> None:
    try:
        code.remove(node)
    except ValueError:
        pass  # already removed with an enclosing node
