"""Consent signals a site publishes: robots.txt verdicts per AI agent, TDMRep, noai, aipref."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from protego import Protego

#: User-Agent tokens of well-known AI crawlers, plus the catch-all.
AI_AGENTS: tuple[str, ...] = (
    "GPTBot",
    "OAI-SearchBot",
    "ChatGPT-User",
    "CCBot",
    "Google-Extended",
    "ClaudeBot",
    "anthropic-ai",
    "Applebot-Extended",
    "meta-externalagent",
    "PerplexityBot",
    "Bytespider",
    "cohere-ai",
    "*",
)

_DIRECTIVE = re.compile(
    r"^\s*(content-usage|license)\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE
)


def robots_record(
    url: str, status: int | None, body: bytes, own_agent: str, probe_urls: list[str]
) -> dict[str, Any]:
    """Parse robots.txt and record the raw text, verdicts per agent and extra directives.

    A missing robots.txt (4xx) allows everything, as RFC 9309 says; the record keeps the status.
    """
    text = body.decode("utf-8", errors="replace") if body else ""
    effective = text if status is not None and 200 <= status < 300 else ""
    parser = Protego.parse(effective)
    agents = (own_agent, *AI_AGENTS)
    verdicts: dict[str, dict[str, bool]] = {}
    for agent in agents:
        verdicts[agent] = {u: bool(parser.can_fetch(u, agent)) for u in probe_urls}
    extra = [(m.group(1).lower(), m.group(2)) for m in _DIRECTIVE.finditer(effective)]
    crawl_delay = parser.crawl_delay(own_agent)
    delays = {agent: parser.crawl_delay(agent) for agent in agents}
    return {
        "url": url,
        "status": status,
        "text": text,
        "sha256": hashlib.sha256(body or b"").hexdigest(),
        "own_agent": own_agent,
        "probe_urls": probe_urls,
        "allowed": {agent: all(v.values()) for agent, v in verdicts.items()},
        "verdicts": verdicts,
        "crawl_delay": float(crawl_delay) if crawl_delay is not None else None,
        "crawl_delays": {a: float(d) for a, d in delays.items() if d is not None},
        "content_usage": [v for k, v in extra if k == "content-usage"],
        "rsl_license": [v for k, v in extra if k == "license"],
        "sitemaps": list(parser.sitemaps),
    }


_META_ROBOTS = re.compile(
    r"<meta\s+[^>]*name\s*=\s*[\"']robots[\"'][^>]*content\s*=\s*[\"']([^\"']*)[\"']", re.I
)
_META_ROBOTS_REV = re.compile(
    r"<meta\s+[^>]*content\s*=\s*[\"']([^\"']*)[\"'][^>]*name\s*=\s*[\"']robots[\"']", re.I
)
_META_TDM = re.compile(
    r"<meta\s+[^>]*name\s*=\s*[\"'](tdm-reservation|tdm-policy)[\"'][^>]*content\s*=\s*"
    r"[\"']([^\"']*)[\"']",
    re.I,
)


_LINK_LICENSE = re.compile(
    r"<(?:a|link)\s+[^>]*rel\s*=\s*[\"'][^\"']*\blicense\b[^\"']*[\"'][^>]*>", re.I
)
_HREF = re.compile(r"href\s*=\s*[\"']([^\"']+)[\"']", re.I)
#: X-Robots-Tag directives that take a value after a colon (not a User-Agent prefix).
_VALUED = frozenset({"max-snippet", "max-image-preview", "max-video-preview",
                     "unavailable_after"})


def robots_directives(values: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Split X-Robots-Tag / meta robots values into general and per-agent directives.

    >>> robots_directives(["noindex, noai", "GPTBot: noimageai, nofollow"])
    (['noai', 'noindex'], {'GPTBot': ['noimageai', 'nofollow']})
    """
    general: set[str] = set()
    agents: dict[str, list[str]] = {}
    for value in values:
        head, sep, rest = value.partition(":")
        if sep and head.strip() and head.strip().lower() not in _VALUED and " " not in head.strip():
            tokens = [t.strip().lower() for t in rest.split(",") if t.strip()]
            agents.setdefault(head.strip(), []).extend(tokens)
        else:
            general.update(t.strip().lower() for t in value.split(",") if t.strip())
    return sorted(general), agents


def page_signals(headers: dict[str, list[str]], html: str) -> dict[str, Any]:
    """Opt-out and licence signals in one page's headers and HTML head."""

    def header(name: str) -> list[str]:
        return headers.get(name.lower(), [])

    metas = _META_ROBOTS.findall(html) + _META_ROBOTS_REV.findall(html)
    general, per_agent = robots_directives(metas + header("x-robots-tag"))
    tdm_meta = {k.lower(): v for k, v in _META_TDM.findall(html)}
    licenses = [h for tag in _LINK_LICENSE.findall(html) for h in _HREF.findall(tag)]
    return {
        "x_robots_tag": header("x-robots-tag"),
        "meta_robots": metas,
        "noai": "noai" in general,
        "noimageai": "noimageai" in general,
        "robots_by_agent": per_agent,
        "tdm_reservation": _first(header("tdm-reservation")) or tdm_meta.get("tdm-reservation"),
        "tdm_policy": _first(header("tdm-policy")) or tdm_meta.get("tdm-policy"),
        "content_usage": header("content-usage"),
        "license_links": list(dict.fromkeys(licenses)),
        "link_header": header("link"),
    }


def terms_record(text: str | bytes | None) -> dict[str, Any]:
    """Whether a terms page exists, and the SHA-256 and size of its text.

    >>> terms_record("Terms")["sha256"][:12], terms_record(None)
    ('ede548996483', {'exists': False, 'sha256': None, 'bytes': 0})
    """
    if text is None:
        return {"exists": False, "sha256": None, "bytes": 0}
    data = text.encode("utf-8") if isinstance(text, str) else text
    return {"exists": True, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def lower_headers(raw: Any) -> dict[str, list[str]]:
    """Scrapy ``Headers`` -> {lower-case name: [decoded values]}."""
    out: dict[str, list[str]] = {}
    for key, values in raw.items():
        name = (key.decode("latin-1") if isinstance(key, bytes) else str(key)).lower()
        out[name] = [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values]
    return out
