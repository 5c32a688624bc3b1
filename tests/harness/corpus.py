"""Real English prose from Debian documentation packages, offline and reproducible.

Paragraphs come from the `<p>` elements of Python's HTML documentation
(Debian `python3-doc`). They are kept only when they are plain running text that
MediaWiki renders unchanged, so they double as ground truth for crawl tests.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from pathlib import Path

import lxml.html

from tests.harness import apt_install

PYTHON_DOC_HTML = Path("/usr/share/doc/python3-doc/html")
DEBIAN_REFERENCE_HTML = Path("/usr/share/doc/debian-reference-en/html")
_PROBE_FILE = PYTHON_DOC_HTML / "library" / "functions.html"

#: Sub-folders of the Python docs that hold prose; changelogs and indexes are left out.
PROSE_DIRS = ("tutorial", "library", "howto", "faq", "reference", "using", "extending")

# Characters that are markup in wikitext, or that MediaWiki may rewrite when rendering.
_WIKI_UNSAFE = re.compile(r"[\[\]{}<>|~&#*=\\_$@^`]|''|>>>|\.\.\.|https?://|\bISBN\b|\bRFC\b")
_WORD = re.compile(r"[A-Za-z][a-z]{3,}")
_STOPWORD_TEXT = """
also been both does each even from have here into just like made make many more most
much must never only other over same should some such than that their them then
there these they this those through used uses using very well were what when where
which while will with would your about after again before being between could
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Article:
    """A titled article made of prose paragraphs."""

    title: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        """The paragraphs joined by blank lines."""
        return "\n\n".join(self.paragraphs)


def ensure_prose_packages(include_debian_reference: bool = False) -> None:
    """Install `python3-doc` (and `debian-reference-en` if asked) when missing."""
    wanted = []
    if not _PROBE_FILE.exists():
        wanted.append("python3-doc")
    if include_debian_reference and not DEBIAN_REFERENCE_HTML.exists():
        wanted.append("debian-reference-en")
    if wanted:
        apt_install(wanted)
    if not _PROBE_FILE.exists():
        raise RuntimeError(f"python3-doc installed but {_PROBE_FILE} is missing")


@functools.lru_cache(maxsize=8)
def prose_paragraphs(min_words: int = 40) -> list[str]:
    """Distinct prose paragraphs of at least `min_words` words, in a fixed order.

    The order follows the sorted file list and each file's document order. The
    returned list is cached: do not mutate it.
    """
    ensure_prose_packages()
    seen: set[str] = set()
    out: list[str] = []
    for path in _prose_files():
        for paragraph in _file_paragraphs(path):
            if paragraph in seen or len(paragraph.split()) < min_words:
                continue
            seen.add(paragraph)
            out.append(paragraph)
    return out


def make_articles(
    n: int, seed: int, paragraphs_per_article: tuple[int, int] = (3, 8)
) -> list[Article]:
    """Build `n` articles with unique, MediaWiki-safe titles, deterministic in `seed`.

    Paragraphs are drawn without replacement while the pool lasts, so articles share
    none unless `n` times the mean article length exceeds the pool.
    """
    low, high = paragraphs_per_article
    if n < 0 or low < 1 or high < low:
        raise ValueError("need n >= 0 and 1 <= low <= high")
    pool = prose_paragraphs()
    rng = random.Random(seed)
    order: list[int] = []
    articles: list[Article] = []
    used_titles: set[str] = set()
    for _ in range(n):
        count = rng.randint(low, high)
        chosen: list[int] = []
        while len(chosen) < count:
            if not order:
                order = list(range(len(pool)))
                rng.shuffle(order)
            index = order.pop()
            if index not in chosen or len(pool) < count:
                chosen.append(index)
        paragraphs = tuple(pool[i] for i in chosen)
        title = _make_title(paragraphs[0], rng, used_titles)
        used_titles.add(title)
        articles.append(Article(title=title, paragraphs=paragraphs))
    return articles


def _prose_files() -> list[Path]:
    files: list[Path] = []
    for folder in PROSE_DIRS:
        files.extend((PYTHON_DOC_HTML / folder).glob("*.html"))
    return sorted(files)


def _file_paragraphs(path: Path) -> list[str]:
    root = lxml.html.parse(str(path)).getroot()
    out = []
    for p in root.xpath('//div[@role="main"]//p | //div[@class="body"]//p'):
        if p.xpath("ancestor::table | ancestor::dt | ancestor::pre"):
            continue
        text = " ".join(p.text_content().split())
        code = sum(len(c.text_content()) for c in p.xpath(".//code | .//tt | .//kbd"))
        if _is_prose(text, code):
            out.append(text)
    return out


def _is_prose(text: str, code_chars: int) -> bool:
    if not text or not text[0].isupper() or text[-1] not in ".!?":
        return False
    if code_chars > 0.05 * len(text) or _WIKI_UNSAFE.search(text):
        return False
    if "()" in text or "  " in text or not text.isprintable():
        return False
    visible = [c for c in text if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    return letters >= 0.85 * len(visible)


def _make_title(first_paragraph: str, rng: random.Random, used: set[str]) -> str:
    sentence = re.split(r"(?<=[.!?]) ", first_paragraph, maxsplit=1)[0]
    words = [w.lower() for w in _WORD.findall(sentence) if w.lower() not in _STOPWORDS]
    words = words or ["article"]
    k = min(len(words), rng.randint(2, 3))
    start = rng.randint(0, len(words) - k)
    stem = " ".join(words[start : start + k])
    stem = stem[0].upper() + stem[1:]
    number = rng.randint(1, 999)
    while f"{stem} {number}" in used:
        number += 1
    return f"{stem} {number}"
