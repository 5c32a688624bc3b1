"""Charts as inline SVG, drawn with matplotlib (no pyplot state, no external resources).

Each chart comes in two layouts, ``wide`` (panels side by side) and ``narrow`` (panels
stacked, for phones; the page's CSS shows one of them). Every ``<svg>`` has a ``viewBox``
and no fixed size, so it scales to its column; text stays text (``svg.fonttype = none``)
and ids are salted per chart so several charts can share one HTML document.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import matplotlib
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from audit.estimate.intervals import proportion_ci
from audit.report.fmt import missing
from audit.report.load import BINS, MEASURES

#: Okabe-Ito colours (readable with colour-blindness).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
_RC = {"svg.fonttype": "none", "font.size": 10, "axes.spines.top": False,
       "axes.spines.right": False, "font.family": "DejaVu Sans"}
WIDE, NARROW = 7.5, 4.0


def _rc(extra: dict[str, Any] | None = None) -> Any:
    """matplotlib settings of every chart (a context manager)."""
    settings: Any = {**_RC, **(extra or {})}
    return matplotlib.rc_context(settings)


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def to_svg(fig: Figure, name: str, label: str, layout: str = "wide") -> str:
    """Serialise ``fig`` as an inline, scalable, accessible ``<svg>`` element."""
    buf = io.StringIO()
    with _rc({"svg.hashsalt": f"{name}-{layout}"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    head_end = svg.index(">")
    head = re.sub(r'\s(width|height)="[^"]*"', "", svg[:head_end])
    head += (f' class="chart {layout}" data-chart="{name}" role="img" '
             f'aria-label="{_attr(label)}" preserveAspectRatio="xMidYMid meet"')
    return head + svg[head_end:]


Draw = Callable[[bool], Figure]


def both(draw: Draw, name: str, label: str) -> str:
    """The wide and the narrow layout of one chart."""
    return to_svg(draw(False), name, label, "wide") + to_svg(draw(True), name, label, "narrow")


def _figure(width: float, height: float) -> Figure:
    with _rc():
        return Figure(figsize=(width, height), layout="constrained")


def _panels(narrow: bool, n: int, height: float, sharey: bool = False) -> tuple[Figure, Any]:
    """``n`` panels side by side (wide) or stacked (narrow); ``height`` is one panel's."""
    if narrow:
        fig = _figure(NARROW, height * n + 0.3)
        return fig, fig.subplots(n, 1, squeeze=False)[:, 0]
    fig = _figure(WIDE, height + 0.3)
    return fig, fig.subplots(1, n, sharey=sharey, squeeze=False)[0]


def _err(est: float, low: float, high: float) -> tuple[float, float]:
    if missing(est):
        return 0.0, 0.0
    return max(0.0, est - low), max(0.0, high - est)


PANELS = (
    ("training set found in the source", "train_doc_share", "train_word_share"),
    ("source found in the training set", "source_doc_share", "source_word_share"),
)


def overlap_chart(summary: Sequence[dict[str, Any]]) -> str:
    """Per source, both directions, documents and words, with interval whiskers."""
    n = len(summary)
    names = [str(r["source"]) for r in summary]

    def draw(narrow: bool) -> Figure:
        with _rc():
            fig, axes = _panels(narrow, 2, 0.9 + 0.7 * n)
            for ax, (title, doc_key, word_key) in zip(axes, PANELS, strict=True):
                for j, (key, what) in enumerate(((doc_key, "documents"), (word_key, "words"))):
                    ys = [i + (j - 0.5) * 0.38 for i in range(n)]
                    est = [0.0 if missing(r[key]) else float(r[key]) * 100 for r in summary]
                    errs = [_err(r[key], r[f"{key}_low"], r[f"{key}_high"]) for r in summary]
                    ax.barh(ys, est, height=0.36, color=color(j), label=what,
                            xerr=[[e[0] * 100 for e in errs], [e[1] * 100 for e in errs]],
                            error_kw={"ecolor": "#333333", "capsize": 3, "elinewidth": 1})
                ax.set_title(title, fontsize=10)
                ax.set_xlabel("share, % (95% interval)")
                ax.set_xlim(0, 100)
                ax.set_yticks(range(n), names)
                ax.set_ylim(n - 0.5, -0.5)
            axes[-1].legend(loc="lower right", fontsize=8, frameon=False)
        return fig

    return both(draw, "overlap", "Overlap per source in both directions, with 95% intervals")


SHORT_TITLES = {"jaccard": "Jaccard", "train_in_source": "training doc\ninside source doc",
                "source_in_train": "source doc\ninside training doc"}


def similarity_chart(histograms: dict[str, dict[str, list[int]]], sources: Sequence[str]) -> str:
    """Histograms of Jaccard and of containment both ways, over all matches, per source."""
    edges = [i / BINS for i in range(BINS + 1)]

    def draw(narrow: bool) -> Figure:
        with _rc():
            fig, axes = _panels(narrow, len(MEASURES), 2.2, sharey=True)
            for ax, key in zip(axes, MEASURES, strict=True):
                bottom = [0] * BINS
                for i, s in enumerate(sources):
                    counts = histograms.get(key, {}).get(s, [0] * BINS)
                    ax.bar(edges[:-1], counts, width=1 / BINS, align="edge", bottom=bottom,
                           color=color(i), edgecolor="white", linewidth=0.5, label=s)
                    bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
                ax.set_title(SHORT_TITLES[key].replace("\n", " ") if narrow
                             else SHORT_TITLES[key], fontsize=9)
                ax.set_xlim(0, 1)
                ax.set_ylabel("matched pairs" if narrow or ax is axes[0] else "")
            axes[-1].set_xlabel("value")
            axes[0].legend(fontsize=8, frameon=False, loc="upper left")
        return fig

    return both(draw, "similarity", "Distribution of similarity and containment of matches")


def calibration_rates(meta: dict[str, Any], source: str, confidence: float
                      ) -> dict[str, tuple[float, float, float] | None]:
    """False positive and negative rates of the MinHash decision with intervals (run.json)."""
    cal = (meta.get("calibration") or {}).get(source) or {}
    out: dict[str, tuple[float, float, float] | None] = {}
    for key, k_name, n_name in (("fp", "false_positive", "predicted_positive"),
                                ("fn", "false_negative", "predicted_negative")):
        k, n = int(cal.get(k_name) or 0), int(cal.get(n_name) or 0)
        if n <= 0:
            out[key] = None
            continue
        iv = proportion_ci(k, n, confidence)
        out[key] = (iv.estimate, iv.low, iv.high)
    return out


def calibration_chart(summary: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    """False positive / negative rates per source, with Clopper-Pearson or Wilson whiskers."""
    n = len(summary)

    def draw(narrow: bool) -> Figure:
        with _rc():
            fig = _figure(NARROW if narrow else WIDE, 1.2 + 0.6 * n)
            ax = fig.subplots()
            for j, (key, what) in enumerate((("fp", "false positive rate"),
                                             ("fn", "false negative rate"))):
                ys, est, lo, hi = [], [], [], []
                for i, r in enumerate(summary):
                    rate = calibration_rates(meta, str(r["source"]), float(r["confidence"]))[key]
                    if rate is None:
                        continue
                    ys.append(i + (j - 0.5) * 0.38)
                    est.append(rate[0] * 100)
                    lo.append((rate[0] - rate[1]) * 100)
                    hi.append((rate[2] - rate[0]) * 100)
                ax.errorbar(est, ys, xerr=[lo, hi], fmt="o", color=color(j + 4), capsize=3,
                            elinewidth=1.2, markersize=6, label=what)
            ax.set_yticks(range(n), [str(r["source"]) for r in summary])
            ax.set_ylim(n - 0.5, -0.5)
            ax.set_xlim(-2, 100)
            ax.set_xlabel("rate, % of the calibration pairs (95% interval)")
            ax.legend(fontsize=8, frameon=False, loc="lower right")
        return fig

    return both(draw, "calibration", "Calibration: false positive and negative rates")


def share_bars(labels: Sequence[str], values: Sequence[float], name: str, xlabel: str,
               label: str, percent: bool = True) -> str:
    """A horizontal bar chart of one value per label."""
    n = max(1, len(labels))

    def draw(narrow: bool) -> Figure:
        with _rc():
            fig = _figure(NARROW if narrow else WIDE, 0.9 + 0.32 * n)
            ax = fig.subplots()
            vals = [v * 100 if percent else v for v in values]
            ax.barh(range(len(labels)), vals, height=0.6, color=color(0))
            ticks = [_wrap(t, 22) if narrow else t for t in labels]
            ax.set_yticks(range(len(labels)), ticks, fontsize=8 if narrow else 10)
            ax.set_ylim(len(labels) - 0.5, -0.5)
            if percent:
                ax.set_xlim(0, 100)
            ax.set_xlabel(xlabel)
        return fig

    return both(draw, name, label)


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def history_chart(history: Sequence[dict[str, Any]]) -> str:
    """Overlap of the same training set per snapshot date, per source, with whiskers."""
    sources = sorted({str(r["source"]) for r in history})

    def draw(narrow: bool) -> Figure:
        with _rc():
            fig, axes = _panels(narrow, 2, 2.4, sharey=True)
            for ax, (title, key, _w) in zip(axes, PANELS, strict=True):
                for i, s in enumerate(sources):
                    pts = [r for r in history if r["source"] == s and not missing(r[key])
                           and when(r.get("snapshot_time"), r.get("snapshot_id")) is not None]
                    xs = [when(r.get("snapshot_time"), r.get("snapshot_id")) for r in pts]
                    ys = [float(r[key]) * 100 for r in pts]
                    errs = [_err(r[key], r[f"{key}_low"], r[f"{key}_high"]) for r in pts]
                    ax.errorbar(xs, ys, yerr=[[e[0] * 100 for e in errs],
                                              [e[1] * 100 for e in errs]],
                                marker="o", capsize=3, color=color(i), label=s)
                ax.set_title(f"documents of the {title}", fontsize=9)
                ax.set_ylim(0, 100)
                ax.set_ylabel("share, % (95% interval)" if narrow or ax is axes[0] else "")
                _date_axis(ax)
            axes[-1].legend(fontsize=8, frameon=False)
        return fig

    return both(draw, "history", "Overlap over time, per snapshot of each source")


def consent_history_chart(points: dict[str, list[tuple[datetime, int]]]) -> str:
    """Number of AI crawlers robots.txt disallowed, per snapshot of each source."""

    def draw(narrow: bool) -> Figure:
        with _rc():
            fig = _figure(NARROW if narrow else WIDE, 2.6)
            ax = fig.subplots()
            top = 1
            for i, (s, pts) in enumerate(sorted(points.items())):
                xs: Any = [p[0] for p in pts]
                ax.step(xs, [p[1] for p in pts],
                        where="post", marker="o", color=color(i), label=s)
                top = max([top, *(p[1] for p in pts)])
            ax.set_ylim(0, math.ceil(top * 1.15) + 0.5)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel("AI crawlers disallowed")
            _date_axis(ax)
            ax.legend(fontsize=8, frameon=False)
        return fig

    return both(draw, "consent-history", "robots.txt refusals of AI crawlers over time")


def _date_axis(ax: Any) -> None:
    locator = AutoDateLocator(minticks=2, maxticks=5)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.margins(x=0.08)


def when(time: Any, snapshot_id: Any = None) -> datetime | None:
    """A naive UTC datetime for plotting: the time given, else parsed from a snapshot id."""
    if isinstance(time, datetime):
        return time.astimezone(UTC).replace(tzinfo=None) if time.tzinfo else time
    try:
        return datetime.strptime(str(snapshot_id)[:16], "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
