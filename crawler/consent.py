"""Consent signals a site publishes: robots.txt verdicts per AI agent, TDMRep, noai, aipref."""

from __future__ import annotations

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
    return {
        "url": url,
        "status": status,
        "text": text,
        "own_agent": own_agent,
        "probe_urls": probe_urls,
        "allowed": {agent: all(v.values()) for agent, v in verdicts.items()},
        "verdicts": verdicts,
        "crawl_delay": float(crawl_delay) if crawl_delay is not None else None,
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


def page_signals(headers: dict[str, list[str]], html: str) -> dict[str, Any]:
    """Opt-out signals in one page's headers and HTML head."""

    def header(name: str) -> list[str]:
        return headers.get(name.lower(), [])

    metas = _META_ROBOTS.findall(html) + _META_ROBOTS_REV.findall(html)
    robots_tokens = {
        t.strip().lower() for v in metas + header("x-robots-tag") for t in v.split(",")
    }
    tdm_meta = {k.lower(): v for k, v in _META_TDM.findall(html)}
    return {
        "x_robots_tag": header("x-robots-tag"),
        "meta_robots": metas,
        "noai": "noai" in robots_tokens,
        "noimageai": "noimageai" in robots_tokens,
        "tdm_reservation": _first(header("tdm-reservation")) or tdm_meta.get("tdm-reservation"),
        "tdm_policy": _first(header("tdm-policy")) or tdm_meta.get("tdm-policy"),
        "content_usage": header("content-usage"),
    }


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def lower_headers(raw: Any) -> dict[str, list[str]]:
    """Scrapy ``Headers`` -> {lower-case name: [decoded values]}."""
    out: dict[str, list[str]] = {}
    for key, values in raw.items():
        name = (key.decode("latin-1") if isinstance(key, bytes) else str(key)).lower()
        out[name] = [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values]
    return out
