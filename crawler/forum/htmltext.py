"""Clean text from a fragment of HTML (a forum post body), with selectolax.

Block elements and ``<br><br>`` separate paragraphs (a blank line, as the schema wants);
a single ``<br>`` (or a newline inside ``<pre>``) is a line break; scripts, styles and form
controls are dropped; runs of white space collapse to one space.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from selectolax.lexbor import LexborHTMLParser, LexborNode

#: Elements whose start and end separate paragraphs.
BLOCK_TAGS: frozenset[str] = frozenset({
    "address", "article", "aside", "blockquote", "caption", "center", "dd", "details", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
    "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
#: Elements whose content is never text a reader sees.
SKIP_TAGS: frozenset[str] = frozenset({
    "-comment", "button", "head", "iframe", "input", "noscript", "object", "script", "select",
    "style", "svg", "template", "textarea", "title",
})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u00a0]*\n\s*")


def node_text(node: LexborNode, exclude: Iterable[str] = ()) -> str:
    """The clean text of ``node``, without the parts matching the ``exclude`` selectors.

    Removing excluded parts changes the parsed tree: read other fields first.
    """
    for selector in exclude:
        for hit in node.css(selector):
            if hit is not node:
                hit.decompose()
    pieces: list[str] = []
    _walk(node, pieces, pre=node.tag == "pre")
    return tidy("".join(pieces))


def html_to_text(html: str, exclude: Iterable[str] = ()) -> str:
    """The clean text of an HTML fragment.

    >>> html_to_text("<p>One <b>two</b></p><p>Three<br>four</p>")
    'One two\\n\\nThree\\nfour'
    >>> html_to_text("Line one<br><br>Line two<blockquote>quoted</blockquote>",
    ...              exclude=["blockquote"])
    'Line one\\n\\nLine two'
    """
    tree = LexborHTMLParser(f"<div>{html}</div>")
    root = tree.css_first("body > div")
    return node_text(root, exclude) if root is not None else ""


def tidy(text: str) -> str:
    """Collapse spaces, strip lines, and keep one blank line between paragraphs.

    >>> tidy("  a  b \\n\\n\\n c\\n d ")
    'a b\\n\\nc\\nd'
    """
    paragraphs = []
    for block in _PARAGRAPH_BREAK.split(text):
        lines = [_SPACES.sub(" ", line).strip() for line in block.split("\n")]
        kept = "\n".join(line for line in lines if line)
        if kept:
            paragraphs.append(kept)
    return "\n\n".join(paragraphs)


def _walk(node: LexborNode, out: list[str], pre: bool) -> None:
    child = node.child
    while child is not None:
        tag = child.tag or ""
        if tag == "-text":
            text = child.text_content or ""
            out.append(text if pre else text.replace("\n", " "))
        elif tag == "br":
            out.append("\n")
        elif tag == "img":
            pass
        elif tag not in SKIP_TAGS:
            block = tag in BLOCK_TAGS
            if block:
                out.append("\n\n")
            _walk(child, out, pre or tag == "pre")
            if block:
                out.append("\n\n")
        child = child.next
