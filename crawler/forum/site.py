"""Site facts forum spiders record: the licence, the terms page's hash, URL hygiene."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser

from commons.licenses import license_record, to_spdx
from crawler.forum.htmltext import node_text

_CC_LINK = re.compile(r"https?://creativecommons\.org/(?:licen[cs]es|publicdomain)/[\w./-]+",
                      re.I)


def operator_license(value: str) -> dict[str, Any]:
    """The licence the operator gave (``--license``): an SPDX id, a URL or a licence name.

    >>> operator_license("https://creativecommons.org/licenses/by-sa/4.0/")["spdx"]
    'CC-BY-SA-4.0'
    >>> operator_license("CC-BY-NC-SA-3.0")["spdx"]
    'CC-BY-NC-SA-3.0'
    """
    value = value.strip()
    if value.lower().startswith(("http://", "https://")):
        return license_record(value, None, origin="operator (--license)")
    record = license_record(None, value, origin="operator (--license)")
    if record["spdx"] is None and re.fullmatch(r"[A-Za-z0-9.+-]+", value):
        record["spdx"] = value  # taken as the SPDX id the operator says it is
    return record


def license_in_html(html: str, origin: str) -> dict[str, Any] | None:
    """The first ``rel=license`` link, else the first Creative Commons link, of a page."""
    tree = LexborHTMLParser(html)
    for node in tree.css("a[rel~=license], link[rel~=license]"):
        href = node.attributes.get("href")
        if href:
            return license_record(href, node.text(strip=True) or None,
                                  origin=f"{origin} (rel=license)")
    match = _CC_LINK.search(html)
    if match:
        return license_record(match.group(0), None, origin=f"{origin} (Creative Commons link)")
    return None


def license_value(record: dict[str, Any]) -> str | None:
    """What goes in each document's ``license`` column: SPDX id, else text, else URL."""
    return record.get("spdx") or record.get("text") or record.get("url")


def terms_record(url: str, status: int | None, html: str) -> dict[str, Any]:
    """The terms-of-service page as fetched: status, SHA-256 of its text, and its licence."""
    record: dict[str, Any] = {"url": url, "status": status, "sha256": None, "chars": 0,
                              "license": None}
    if status != 200 or not html:
        return record
    tree = LexborHTMLParser(html)
    main = tree.body or tree.root
    text = node_text(main) if main is not None else ""
    record["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    record["chars"] = len(text)
    record["license"] = license_in_html(html, "terms page")
    if record["license"] is None and to_spdx(None, text):
        record["license"] = license_record(None, to_spdx(None, text), origin="terms page text")
    return record


def meta_generator(html: str) -> str | None:
    """The page's ``<meta name="generator">``, if any."""
    node = LexborHTMLParser(html).css_first("meta[name=generator]")
    return node.attributes.get("content") if node is not None else None


def canonical_url(url: str, strip_params: tuple[str, ...] = ()) -> str:
    """``url`` without its fragment and without the named query parameters (session ids).

    >>> canonical_url("https://f.example/viewtopic.php?f=2&t=5&sid=0a1b#p9", ("sid",))
    'https://f.example/viewtopic.php?f=2&t=5'
    """
    parts = urlsplit(url)
    query = parts.query
    if strip_params and query:
        kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
                if k not in strip_params]
        query = urlencode(kept)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
