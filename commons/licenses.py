"""Licence strings and URLs normalised to SPDX ids where one is recognisable."""

from __future__ import annotations

import re

_CC_URL = re.compile(
    r"creativecommons\.org/licen[cs]es/(?P<kind>by(?:-nc)?(?:-sa|-nd)?)/(?P<ver>\d\.\d)",
    re.IGNORECASE,
)
_CC0_URL = re.compile(r"creativecommons\.org/publicdomain/zero/1\.0", re.IGNORECASE)
_CC_TEXT = re.compile(
    r"creative\s+commons\s+(?P<words>attribution(?:[\s-]+(?:non-?commercial|share-?alike|"
    r"no-?deriv(?:atives|s)?))*)[\s\w.-]*?(?P<ver>\d\.\d)",
    re.IGNORECASE,
)
_GFDL = re.compile(r"gnu\s+free\s+documentation\s+licen[cs]e\s*(?:v(?:ersion)?\s*)?(\d\.\d)?"
                   r"(?P<later>.*or\s+later)?", re.IGNORECASE)


def _cc_kind_from_words(words: str) -> str:
    w = words.lower()
    parts = ["BY"]
    if "commercial" in w:
        parts.append("NC")
    if "share" in w:
        parts.append("SA")
    if "deriv" in w:
        parts.append("ND")
    return "-".join(parts)


def to_spdx(url: str | None, text: str | None = None) -> str | None:
    """The SPDX id for a licence URL or name, or None when not recognisable.

    >>> to_spdx("https://creativecommons.org/licenses/by-sa/4.0/")
    'CC-BY-SA-4.0'
    >>> to_spdx(None, "Creative Commons Attribution-NonCommercial-ShareAlike 3.0")
    'CC-BY-NC-SA-3.0'
    >>> to_spdx("", "GNU Free Documentation License 1.3 or later")
    'GFDL-1.3-or-later'
    >>> to_spdx(None, "All rights reserved") is None
    True
    """
    for candidate in (url or "", text or ""):
        m = _CC_URL.search(candidate)
        if m:
            return f"CC-{m.group('kind').upper()}-{m.group('ver')}"
        if _CC0_URL.search(candidate):
            return "CC0-1.0"
    if text:
        if re.search(r"\bCC0\b|public\s+domain\s+dedication", text, re.IGNORECASE):
            return "CC0-1.0"
        m = _CC_TEXT.search(text)
        if m:
            return f"CC-{_cc_kind_from_words(m.group('words'))}-{m.group('ver')}"
        m2 = re.search(r"\bCC[\s-](BY(?:-NC)?(?:-SA|-ND)?)[\s-](\d\.\d)", text, re.IGNORECASE)
        if m2:
            return f"CC-{m2.group(1).upper()}-{m2.group(2)}"
        g = _GFDL.search(text)
        if g and g.group(1):
            return f"GFDL-{g.group(1)}-{'or-later' if g.group('later') else 'only'}"
    return None


def license_record(url: str | None, text: str | None, origin: str) -> dict[str, str | None]:
    """The licence as recorded in a manifest: SPDX id, raw URL and text, and where it came from."""
    return {"spdx": to_spdx(url, text), "url": url or None, "text": text or None, "origin": origin}
