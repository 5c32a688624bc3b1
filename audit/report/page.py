"""index.html: one self-contained page (inline CSS and SVG, no script, nothing fetched)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup, escape

from audit.report import charts
from audit.report.consent import signal_shares
from audit.report.fmt import data, missing
from audit.report.load import RunData
from audit.report.reproduce import audit_command, report_command
from commons.provenance import iso

#: Consent signals named in the headline sentences (when recorded for some source).
HEADLINE_AGENTS = ("GPTBot", "CCBot")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("audit.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.globals["num"] = data
    env.globals["ident"] = lambda v: Markup(f'<span class="id">{escape(v)}</span>')
    env.globals["snap"] = lambda v: Markup(f'<span class="id snap">{escape(v)}</span>')
    env.filters["iso"] = lambda v: iso(v) if isinstance(v, datetime) else (v or "")
    return env


def _json_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return "n/a" if missing(value) else str(value)


def _history_points(data: RunData) -> dict[str, list[tuple[datetime, int]]]:
    out: dict[str, list[tuple[datetime, int]]] = {}
    for s, snaps in data.snapshot_history.items():
        pts = [(charts.when(f.time, f.snapshot_id),
                len(f.consent.disallowed_agents)) for f in snaps if f.consent.recorded]
        good = [(t, n) for t, n in pts if t is not None]
        if len(good) >= 2:
            out[s] = good  # type: ignore[assignment]
    return out


def render(data: RunData, *, out_dir: str, generated_at: datetime) -> str:
    """The report page of ``data``."""
    summary = data.summary
    shares = signal_shares(data.matched_docs, {s: data.snapshots[s].consent
                                               for s in data.sources})
    shown_shares = [r for r in shares if r["docs"] or r["key"] in
                    {f"robots:{a}" for a in HEADLINE_AGENTS}]
    headline_consent = [r for r in shares if r["key"] in {f"robots:{a}" for a in HEADLINE_AGENTS}
                        and r["unknown_docs"] < sum(data.matched_docs.values())]
    per_source_snaps = {s: len(v) for s, v in data.snapshot_history.items()}
    history_sources = sorted({r["source"] for r in data.history})
    history_multi = [s for s in history_sources
                     if sum(1 for r in data.history if r["source"] == s) >= 2]
    consent_points = _history_points(data)
    figures: defaultdict[str, str] = defaultdict(str)  # a figure not drawn renders as ""
    if summary:
        figures["overlap"] = charts.overlap_chart(summary)
        figures["similarity"] = charts.similarity_chart(data.histograms, data.sources)
        figures["calibration"] = charts.calibration_chart(summary, data.meta)
    if data.licences:
        figures["licences"] = charts.share_bars(
            [str(r["license"]) for r in data.licences], [float(r["docs"]) for r in data.licences],
            "licences", "matched source documents", "Matched source documents by licence",
            percent=False)
    if any((r["share"] or 0.0) > 0 for r in shown_shares):
        figures["consent"] = charts.share_bars(
            [r["label"] for r in shown_shares], [r["share"] or 0.0 for r in shown_shares],
            "consent", "share of matched source documents, %",
            "Matched documents by the consent signals of their source at snapshot time")
    if history_multi:
        figures["history"] = charts.history_chart(
            [r for r in data.history if r["source"] in history_multi])
    if consent_points:
        figures["consent_history"] = charts.consent_history_chart(consent_points)
    data_dir = str(data.data_root)
    command, api_only = audit_command(data.config, data_dir)
    calibration = {str(r["source"]): charts.calibration_rates(data.meta, str(r["source"]),
                                                              float(r["confidence"]))
                   for r in summary}
    return _env().get_template("report.html.j2").render(
        d=data, run=data.run, meta=data.meta, summary=summary, figures=figures,
        svg=lambda k: Markup(figures[k]), shares=shown_shares,
        headline_consent=headline_consent, history_multi=history_multi,
        per_source_snaps=per_source_snaps, consent_points=consent_points,
        calibration=calibration, command=command, api_only=api_only,
        report_command=report_command(data.run, out_dir, data_dir),
        generated_at=iso(generated_at), json_text=_json_text,
        total_matched=sum(data.matched_docs.values()), missing=missing,
        css=Markup(resources.files("audit.report").joinpath("templates/style.css")
                   .read_text("utf-8")),
    )
