"""index.html in a real headless Chromium (Debian's package, driven by Playwright).

The page must render offline with no console error, show its charts, show only numbers that
equal the catalog (each number is a ``<data>`` element; the test recomputes every one from
``audit_summary``, ``audit_runs`` and independent SQL over ``audit_matches`` and
``snapshots``), and fit a phone's width. Screenshots are saved under the test's tmp dir and
copied to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from audit.estimate.intervals import proportion_ci
from tests.audit.report.conftest import CHROMIUM, CHROMIUM_ARGS, RUN, query, save_artifact
from tests.audit.report.world import ReportWorld

EXPECTED_CHARTS = {"overlap", "similarity", "calibration", "licences", "consent", "history",
                   "consent-history"}
SUMMARY_KEYS = {"train_docs", "train_docs_matched", "source_docs", "source_docs_matched",
                *(f"{k}{s}" for k in ("train_doc_share", "train_word_share", "source_doc_share",
                                      "source_word_share") for s in ("", "_low", "_high")),
                "candidates", "near_duplicates", "containments", "exact_checked",
                "calibration_pairs", "calibration_fp_rate", "calibration_fn_rate",
                "calibration_mean_abs_error", "lsh_missed_near_duplicates"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=120_000)
        yield b
        b.close()


class Visit:
    """A page load with its console messages, page errors and network requests."""

    def __init__(self, browser: Browser, url: str, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)
        self.page.goto(url, wait_until="load")

    def _route(self, route: Any) -> None:
        self.requests.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def desktop(browser: Browser, report_dir: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Visit]:
    visit = Visit(browser, (report_dir / "index.html").as_uri(),
                  viewport={"width": 1280, "height": 900})
    shot = tmp_path_factory.mktemp("screens") / "report-desktop.png"
    visit.page.screenshot(path=str(shot), full_page=True)
    save_artifact(shot)
    yield visit
    visit.close()


def test_renders_offline_with_no_console_error(desktop: Visit, report_dir: Path) -> None:
    assert desktop.errors == []
    assert [m for m in desktop.console if m[0] in ("error", "warning")] == []
    assert desktop.requests == [(report_dir / "index.html").as_uri()]
    for tag in ("script", "link", "img", "iframe", "object"):
        assert desktop.page.locator(tag).count() == 0, tag
    assert desktop.page.title() == f"Overlap audit {RUN}"


CHARTS_JS = """els => els.filter(e => e.getBoundingClientRect().width > 0).map(e => ({
  name: e.dataset.chart, layout: e.classList[1], label: e.getAttribute('aria-label'),
  marks: e.querySelectorAll('path, use, rect').length, width: e.getBoundingClientRect().width,
  height: e.getBoundingClientRect().height, right: e.getBoundingClientRect().right}))"""


def visible_charts(page: Page) -> list[dict[str, Any]]:
    charts: list[dict[str, Any]] = page.eval_on_selector_all("figure svg.chart", CHARTS_JS)
    return charts


def test_charts_are_present(desktop: Visit) -> None:
    charts = visible_charts(desktop.page)
    assert sorted(c["name"] for c in charts) == sorted(EXPECTED_CHARTS)
    for c in charts:
        assert c["layout"] == "wide"
        assert c["label"] and c["marks"] >= 10 and c["width"] > 600 and c["height"] > 80, c


def _displayed(text: str, kind: str) -> float | None:
    if text == "n/a":
        return None
    if kind == "pct":
        return float(text.rstrip("%")) / 100
    return float(text.replace(",", ""))


def _check_display(n: dict[str, Any]) -> None:
    """The text is the value, rounded as its kind says."""
    value = None if n["value"] == "" else float(n["value"])
    shown = _displayed(n["text"], n["kind"])
    if value is None or (isinstance(value, float) and math.isnan(value)):
        assert shown is None, n
        return
    assert shown is not None, n
    tol = {"pct": 0.0005, "count": 0.0, "plain": abs(value) * 1e-5}[n["kind"]]
    assert abs(shown - value) <= tol + 1e-9, n


def _same(value: str, expected: Any) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return value == ""
    return value != "" and float(value) == float(expected)


def _consent_truth(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """(documents under the signal, unknown documents) per signal, from raw manifest JSON."""
    rows = query(con, "WITH m AS (SELECT DISTINCT source, snapshot_id, doc_id FROM "
                      "audit_matches WHERE run = ?) SELECT m.source, s.robots, s.consent "
                      "FROM m JOIN snapshots s USING (source, snapshot_id)", [RUN])
    out: dict[str, list[int]] = {}
    for r in rows:
        robots, consent = json.loads(r["robots"]), json.loads(r["consent"])
        entry, tdmrep = consent.get("entry_page", {}), consent.get("tdmrep")
        facts: dict[str, bool | None] = {
            f"robots:{a}": not ok for a, ok in robots["allowed"].items()}
        facts["noai"] = entry.get("noai")
        facts["tdm"] = (None if tdmrep is None and entry.get("tdm_reservation") is None
                        else any(str(x.get("tdm-reservation")) == "1"
                                 for x in (tdmrep or {}).get("rules") or []))
        facts["content-usage"] = bool(robots.get("content_usage") or entry.get("content_usage"))
        for key, val in facts.items():
            acc = out.setdefault(key, [0, 0])
            acc[0] += val is True
            acc[1] += val is None
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_every_number_shown_equals_the_catalog(desktop: Visit,
                                               catalog: duckdb.DuckDBPyConnection) -> None:
    nums = desktop.page.eval_on_selector_all(
        "data.num", "els => els.map(e => ({value: e.value, text: e.textContent, "
        "kind: e.classList[1], ...e.dataset}))")
    summary = {(r["run"], r["source"]): r for r in query(catalog, "SELECT * FROM audit_summary")}
    meta = query(catalog, "SELECT calibration FROM audit_runs WHERE run = ?", [RUN])[0]
    calibration = json.loads(meta["calibration"])
    total = query(catalog, "SELECT count(*) AS n FROM (SELECT DISTINCT source, doc_id FROM "
                           "audit_matches WHERE run = ?)", [RUN])[0]["n"]
    licences = {r["license"]: r for r in query(
        catalog, "SELECT license, count(DISTINCT doc_id) AS docs, count(DISTINCT train_id) AS "
                 "train FROM audit_matches WHERE run = ? GROUP BY 1", [RUN])}
    pages = {(r["source"], r["doc_id"]): r for r in query(
        catalog, "SELECT source, doc_id, max(containment_source_in_train) AS coverage, "
                 "count(DISTINCT train_id) AS train FROM audit_matches WHERE run = ? "
                 "GROUP BY ALL", [RUN])}
    consent = _consent_truth(catalog)
    seen: set[tuple[str, str, str]] = set()
    for n in nums:
        _check_display(n)
        src, key, source = n["src"], n["key"], n.get("source", "")
        seen.add((src, key, source))
        if src == "summary":
            row = summary[(n.get("run", RUN), source)]
            assert _same(n["value"], row[key]), n
        elif src == "run":
            kind = "fp" if "_fp_" in key else "fn"
            cal = calibration[source]
            k = cal["false_positive" if kind == "fp" else "false_negative"]
            total_n = cal["predicted_positive" if kind == "fp" else "predicted_negative"]
            iv = proportion_ci(k, total_n, summary[(RUN, source)]["confidence"])
            assert _same(n["value"], iv.low if key.endswith("_low") else iv.high), n
        elif key == "matched_docs_total":
            assert _same(n["value"], total), n
        elif key.startswith("licence_"):
            lic = licences[n["licence"]]
            assert _same(n["value"], lic["docs" if key == "licence_docs" else "train"]), n
        elif key.startswith("consent_"):
            docs, unknown = consent[n["signal"]]
            expected = {"consent_docs": docs, "consent_unknown": unknown,
                        "consent_share": docs / total if unknown < total else None}[key]
            assert _same(n["value"], expected), n
        elif key.startswith("top_"):
            page = pages[(source, n["doc"])]
            assert _same(n["value"], page["coverage" if key == "top_coverage" else "train"]), n
        else:
            raise AssertionError(f"number with no known origin: {n}")
    for source in ("wiki", "forum"):
        assert {("summary", k, source) for k in SUMMARY_KEYS} <= seen
    assert ("matches", "consent_share", "") in seen
    runs_in_history = {n.get("run") for n in nums if n.get("run")}
    assert runs_in_history == {"before", "after"}
    top_rows = [n for n in nums if n["key"] == "top_coverage"]
    assert len(top_rows) == min(25, len(pages))


def test_consent_headline_names_the_share_under_gptbot(desktop: Visit,
                                                       catalog: duckdb.DuckDBPyConnection) -> None:
    share = query(catalog, (
        "WITH m AS (SELECT DISTINCT source, snapshot_id, doc_id FROM audit_matches WHERE run = ?) "
        "SELECT avg(CASE WHEN s.robots->'allowed'->>'GPTBot' = 'false' THEN 1.0 ELSE 0.0 END) "
        "AS share FROM m JOIN snapshots s USING (source, snapshot_id)"), [RUN])[0]["share"]
    text = desktop.page.locator("#consent p.headline").first.inner_text()
    assert re.fullmatch(r"[\d.]+% of matched source documents come from a source whose "
                        r"robots\.txt disallowed GPTBot at snapshot time\.", text), text
    assert abs(float(text.split("%")[0]) / 100 - share) <= 0.0005 + 1e-9
    assert 0 < share < 1  # the wiki refused GPTBot in June, the forum did not


def test_no_number_outside_a_checked_element(desktop: Visit) -> None:
    """Digits appear only in <data> (checked above), ids, code, times, links and charts."""
    stray = desktop.page.evaluate("""() => {
      const ok = new Set(['DATA', 'CODE', 'PRE', 'TIME', 'A', 'SVG', 'STYLE', 'TITLE']);
      const bad = [];
      const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      while (walk.nextNode()) {
        const t = walk.currentNode;
        if (!/[0-9]/.test(t.textContent)) continue;
        let el = t.parentElement, fine = false;
        for (; el; el = el.parentElement) {
          if (ok.has(el.tagName.toUpperCase()) || el.classList.contains('id')) {
            fine = true; break;
          }
        }
        if (!fine) bad.push(t.textContent.trim().slice(0, 80));
      }
      return bad;
    }""")
    assert stray == []


def test_top_pages_link_to_the_matched_pages(desktop: Visit,
                                              catalog: duckdb.DuckDBPyConnection) -> None:
    urls = {(r["source"], r["doc_id"]): r["url"] for r in query(
        catalog, "SELECT DISTINCT source, doc_id, url FROM audit_matches WHERE run = ?", [RUN])}
    rows = desktop.page.eval_on_selector_all(
        "#top-pages tbody tr", "els => els.map(e => ({source: e.dataset.source, "
        "doc: e.dataset.doc, href: e.querySelector('a').getAttribute('href')}))")
    assert rows
    for r in rows:
        assert r["href"] == urls[(r["source"], r["doc"])]


def test_reproduce_command_has_the_run_parameters(desktop: Visit, report_world: ReportWorld
                                                  ) -> None:
    text = desktop.page.locator("#reproduce").inner_text()
    audit_line, report_line = text.strip().splitlines()
    for part in (f"commons audit {report_world.training}", "--sources wiki,forum",
                 "--run-name after", "--threshold 0.8", "--num-perm 128", "--ngram 5",
                 "--signer reference", f"--data {report_world.data.root}"):
        assert part in audit_line
    assert report_line.startswith("commons report after --out ")


def test_fits_a_phone_screen(browser: Browser, report_dir: Path,
                             tmp_path_factory: pytest.TempPathFactory) -> None:
    visit = Visit(browser, (report_dir / "index.html").as_uri(),
                  viewport={"width": 390, "height": 844}, device_scale_factor=2,
                  is_mobile=True, has_touch=True)
    try:
        layout = visit.page.evaluate("""() => ({
          scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
          body: document.body.scrollWidth,
          wide: [...document.querySelectorAll('main > section > *, header > *')]
                  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                  .map(e => e.tagName + '#' + e.id + '.' + e.className)})""")
        assert layout["inner"] == 390
        assert layout["scroll"] <= layout["inner"] and layout["body"] <= layout["inner"], layout
        assert layout["wide"] == [], layout
        charts = visible_charts(visit.page)
        assert sorted(c["name"] for c in charts) == sorted(EXPECTED_CHARTS)
        for c in charts:
            assert c["layout"] == "narrow" and c["marks"] >= 10 and c["right"] <= 390, c
        size = visit.page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 14
        shot = tmp_path_factory.mktemp("screens") / "report-phone.png"
        visit.page.screenshot(path=str(shot), full_page=True)
        save_artifact(shot)
        assert visit.errors == []
    finally:
        visit.close()
