"""How to read an HTML forum: a small declarative description (TOML file or shipped preset).

A description names CSS selectors (selectolax/lexbor syntax, ``:has()`` included) for the
board's thread list and its next page, a thread's posts and its next page, and each post's
id, author, time and body. A field is a string ``"CSS"`` (text of the first match),
``"CSS::attr(NAME)"`` (an attribute; ``"::attr(NAME)"`` reads the element itself), or a table
``{css = "...", regex = '...'}`` whose regex keeps its first group. See
``crawler/presets/phpbb.toml`` for a commented example.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from commons.exceptions import ConfigError

_ATTR = re.compile(r"^(?P<css>.*?)::attr\((?P<attr>[^)]+)\)\s*$", re.S)
_PROBE = LexborHTMLParser("<html><body></body></html>")

#: Allowed keys per table, and which are required.
_KEYS: dict[str, dict[str, bool]] = {
    "": {"name": False, "engine": False, "strip_params": False, "terms": False,
         "board": True, "thread": True, "post": True},
    "board": {"forum_links": False, "thread_links": True, "next_page": False,
              "thread_id": True},
    "thread": {"title": False, "post": True, "next_page": False},
    "post": {"id": True, "author": True, "time": False, "time_formats": False,
             "timezone": False, "body": True, "exclude": False, "revision": False,
             "reply_to": False, "permalink": False},
}


@dataclass(frozen=True)
class Field:
    """One value read from an element: CSS selector, optional attribute, optional regex."""

    css: str
    attr: str | None = None
    regex: re.Pattern[str] | None = None

    def values(self, node: LexborNode) -> list[str]:
        """Every non-empty value, in document order."""
        targets = [node] if not self.css else node.css(self.css)
        out = []
        for target in targets:
            if self.attr:
                raw = target.attributes.get(self.attr) or ""
            else:
                raw = target.text(deep=True, separator=" ", strip=True)
            value = " ".join(raw.split())
            if value and self.regex is not None:
                match = self.regex.search(value)
                value = (match.group(1) if match and match.groups() else
                         match.group(0) if match else "")
            if value:
                out.append(value)
        return out

    def first(self, node: LexborNode) -> str | None:
        """The first non-empty value, or None."""
        values = self.values(node)
        return values[0] if values else None


@dataclass(frozen=True)
class ForumSpec:
    """A parsed, validated forum description."""

    name: str
    origin: str
    sha256: str
    raw: dict[str, Any]
    thread_links: Field
    thread_id: re.Pattern[str]
    post: str
    post_id: Field
    author: Field
    body: str
    engine: str | None = None
    strip_params: tuple[str, ...] = ()
    terms: str | None = None
    forum_links: Field | None = None
    board_next: Field | None = None
    title: Field | None = None
    thread_next: Field | None = None
    time: Field | None = None
    time_formats: tuple[str, ...] = ()
    timezone: str = "UTC"
    exclude: tuple[str, ...] = field(default=())
    revision: Field | None = None
    reply_to: Field | None = None
    permalink: str | None = None

    def selector_of(self, name: str) -> str:
        """The selector text of a field, for error messages."""
        return str(self.raw_value(name))

    def raw_value(self, dotted: str) -> Any:
        table, _, key = dotted.partition(".")
        return self.raw.get(table, {}).get(key)

    def parse_time(self, value: str | None) -> datetime | None:
        """A post's time as an aware UTC datetime (see :func:`parse_forum_time`)."""
        return parse_forum_time(value, self.time_formats, self.timezone)

    def record(self) -> dict[str, Any]:
        """What the manifest keeps about the description."""
        return {"name": self.name, "origin": self.origin, "sha256": self.sha256,
                "description": self.raw}


def preset_names() -> list[str]:
    """The presets shipped in ``crawler/presets``."""
    folder = resources.files("crawler") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_preset(name: str) -> ForumSpec:
    """A shipped preset by name (``phpbb``, ``spirit``)."""
    if name not in preset_names():
        raise ConfigError(f"--preset {name!r} is not a shipped preset; choose one of "
                          f"{', '.join(preset_names())}, or describe the forum with --selectors")
    data = (resources.files("crawler") / "presets" / f"{name}.toml").read_bytes()
    return parse_spec(data, f"preset {name}")


def load_selectors(path: str | Path) -> ForumSpec:
    """A forum description from a TOML file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the selectors file ({exc.strerror}); give a "
                          "TOML file like crawler/presets/phpbb.toml") from exc
    return parse_spec(data, str(path))


def parse_spec(data: bytes, origin: str) -> ForumSpec:
    """Parse and validate a description; ConfigError names the file and the key."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{origin}: not valid TOML ({exc})") from exc
    _check_keys(raw, origin)
    board, thread, post = raw["board"], raw["thread"], raw["post"]

    def fld(table: str, key: str, link: bool = False) -> Field | None:
        value = {"board": board, "thread": thread, "post": post}[table].get(key)
        return None if value is None else _field(value, f"{origin}: [{table}] {key}", link)

    thread_links = fld("board", "thread_links", link=True)
    post_id, author = fld("post", "id"), fld("post", "author")
    assert thread_links is not None and post_id is not None and author is not None
    timezone = str(post.get("timezone", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{origin}: [post] timezone {timezone!r} is not a known time zone "
                          "(use e.g. UTC or Europe/Berlin)") from exc
    return ForumSpec(
        name=str(raw.get("name") or Path(origin).stem),
        origin=origin,
        sha256=hashlib.sha256(data).hexdigest(),
        raw=raw,
        engine=raw.get("engine"),
        strip_params=tuple(_strings(raw.get("strip_params", []), f"{origin}: strip_params")),
        terms=raw.get("terms"),
        forum_links=fld("board", "forum_links", link=True),
        thread_links=thread_links,
        board_next=fld("board", "next_page", link=True),
        thread_id=_regex(board["thread_id"], f"{origin}: [board] thread_id"),
        title=fld("thread", "title"),
        post=_css(thread["post"], f"{origin}: [thread] post"),
        thread_next=fld("thread", "next_page", link=True),
        post_id=post_id,
        author=author,
        time=fld("post", "time"),
        time_formats=tuple(_strings(post.get("time_formats", []),
                                    f"{origin}: [post] time_formats")),
        timezone=timezone,
        body=_css(post["body"], f"{origin}: [post] body"),
        exclude=tuple(_css(s, f"{origin}: [post] exclude")
                      for s in _strings(post.get("exclude", []), f"{origin}: [post] exclude")),
        revision=fld("post", "revision"),
        reply_to=fld("post", "reply_to"),
        permalink=post.get("permalink"),
    )


def _check_keys(raw: dict[str, Any], origin: str) -> None:
    for table, keys in _KEYS.items():
        where = f"[{table}]" if table else "the top level"
        section = raw if not table else raw.get(table)
        if not isinstance(section, dict):
            raise ConfigError(f"{origin}: missing table [{table}]; see crawler/presets/phpbb.toml")
        for key in section:
            if key not in keys:
                raise ConfigError(f"{origin}: unknown key {key!r} in {where}; known keys: "
                                  f"{', '.join(keys)}")
        for key, required in keys.items():
            if required and key not in section:
                raise ConfigError(f"{origin}: {where} needs {key!r}; see "
                                  "crawler/presets/phpbb.toml")


def _field(value: Any, where: str, link: bool) -> Field:
    regex = None
    if isinstance(value, dict):
        unknown = set(value) - {"css", "regex"}
        if unknown or "css" not in value:
            raise ConfigError(f"{where}: a table field takes 'css' and optional 'regex'")
        if "regex" in value:
            regex = _regex(value["regex"], where)
        value = value["css"]
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a selector string, got {value!r}")
    match = _ATTR.match(value)
    css, attr = (match.group("css").strip(), match.group("attr").strip()) if match else (
        value.strip(), None)
    if css.endswith("::text"):
        css = css[: -len("::text")].strip()
    if link and attr is None:
        attr = "href"
    if css:
        _css(css, where)
    elif attr is None:
        raise ConfigError(f"{where}: empty selector")
    return Field(css=css, attr=attr, regex=regex)


def _css(selector: Any, where: str) -> str:
    if not isinstance(selector, str) or not selector.strip():
        raise ConfigError(f"{where}: expected a CSS selector string, got {selector!r}")
    try:
        _PROBE.css(selector)
    except SelectolaxError as exc:
        raise ConfigError(f"{where}: {selector!r} is not a CSS selector lexbor can parse") from exc
    return selector


def _regex(pattern: Any, where: str) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise ConfigError(f"{where}: expected a regular expression string, got {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{where}: {pattern!r} is not a valid regular expression "
                          f"({exc})") from exc


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    return value


_MERIDIEM = [(re.compile(r"\ba\.m\.", re.I), "AM"), (re.compile(r"\bp\.m\.", re.I), "PM"),
             (re.compile(r"\bnoon\b", re.I), "12:00 PM"),
             (re.compile(r"\bmidnight\b", re.I), "12:00 AM")]
_MONTH_DOT = re.compile(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.", re.I)


def parse_forum_time(value: str | None, formats: tuple[str, ...] = (),
                     timezone: str = "UTC") -> datetime | None:
    """ISO 8601, Unix seconds, or one of ``formats`` (strptime) after normalising
    ``a.m.``/``p.m.``/``noon``/``midnight`` and dotted month abbreviations (Django's style).
    Naive times are in ``timezone``. None when nothing fits.

    >>> parse_forum_time("2024-01-05T10:00:00+01:00")
    datetime.datetime(2024, 1, 5, 9, 0, tzinfo=datetime.timezone.utc)
    >>> parse_forum_time("Sept. 2, 2024, noon", ("%b %d, %Y, %I:%M %p",))
    datetime.datetime(2024, 9, 2, 12, 0, tzinfo=datetime.timezone.utc)
    """
    if not value:
        return None
    text = value.strip()
    moment: datetime | None = None
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for pattern, replacement in _MERIDIEM:
            text = pattern.sub(replacement, text)
        text = _MONTH_DOT.sub(lambda m: m.group(1)[:3], text)
        for fmt in formats:
            try:
                moment = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)
