"""Audit reports for people: an offline HTML page with charts, a Markdown summary,
attribution (Markdown and Parquet) and a Croissant/PROV-O disclosure record.

Modules: ``load`` (the run from the catalog), ``consent`` (signals at crawl time),
``charts`` (matplotlib to inline SVG), ``page`` (index.html), ``markdown``, ``attribution``,
``disclosure``, ``reproduce``, ``build`` (writes the folder), ``cli`` (``commons report``).
"""

from __future__ import annotations

from audit.report.build import ReportResult, write_report

__all__ = ["ReportResult", "write_report"]
