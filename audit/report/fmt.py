"""How numbers appear in the report: one formatter per kind, each wrapped in ``<data>``.

Every number a reader sees in ``index.html`` is a ``<data>`` element whose ``value`` is the
full-precision number and whose ``data-src``/``data-key`` say where it came from
(``summary``: a column of ``audit_summary``; ``run``: a field of ``audit_runs``;
``matches``: an aggregate over ``audit_matches``), so a test or a reader can check it.
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape


def missing(value: Any) -> bool:
    """True for None and NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def pct(value: Any, digits: int = 1) -> str:
    """A share as a percentage.

    >>> pct(0.12345)
    '12.3%'
    >>> pct(float("nan"))
    'n/a'
    """
    if missing(value):
        return "n/a"
    return f"{float(value) * 100:.{digits}f}%"


def count(value: Any) -> str:
    """A count with thousands separators.

    >>> count(1234567)
    '1,234,567'
    """
    if missing(value):
        return "n/a"
    return f"{int(value):,}"


def plain(value: Any) -> str:
    """A parameter value as written on a command line.

    >>> plain(0.8), plain(128), plain(None)
    ('0.8', '128', 'n/a')
    """
    if missing(value):
        return "n/a"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


FORMATS = {"pct": pct, "count": count, "plain": plain}


def raw(value: Any) -> str:
    """The machine-readable value: full precision, empty when missing.

    >>> raw(0.1), raw(3), raw(None), raw(True)
    ('0.1', '3', '', 'true')
    """
    if missing(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def data(value: Any, kind: str, src: str, key: str, source: str | None = None,
         **extra: Any) -> Markup:
    """``<data>`` markup for one number (see module doc); ``extra`` become data-* attributes.

    >>> str(data(0.5, "pct", "summary", "train_doc_share", "wiki"))
    '<data class="num pct" value="0.5" data-src="summary" data-key="train_doc_share" \
data-source="wiki">50.0%</data>'
    """
    attrs = f' data-src="{escape(src)}" data-key="{escape(key)}"'
    if source is not None:
        attrs += f' data-source="{escape(source)}"'
    for name, v in extra.items():
        attrs += f' data-{name.replace("_", "-")}="{escape(v)}"'
    text = FORMATS[kind](value)
    return Markup(f'<data class="num {kind}" value="{escape(raw(value))}"{attrs}>'
                  f"{escape(text)}</data>")
