"""A real MediaWiki (Debian's `mediawiki` 1.39 on SQLite) served on loopback by `php -S`.

Used by the tests and by `make demo`:

    python -m tests.harness.mediawiki serve --workdir DIR --pages N [--port P]
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape, quoteattr

from tests.harness import apt_install, free_port
from tests.harness.corpus import Article, make_articles

MEDIAWIKI_DIR = Path("/usr/share/mediawiki")
MAINTENANCE_DIR = MEDIAWIKI_DIR / "maintenance"
DOCROOT = Path("/var/lib/mediawiki")
PACKAGES = ("mediawiki", "php-cli", "php-sqlite3", "php-intl", "php-mbstring", "php-xml")
_PHP_MODULES = ("pdo_sqlite", "intl", "mbstring", "xml", "dom")

DEFAULT_ROBOTS = "User-agent: *\nDisallow: /wiki/Special:\nDisallow: /index.php?title=Special:\n"
ADMIN_USER = "Admin"
DEFAULT_EDITORS = ("Alice Example", "Bob", "Chandra", "Dmitri")
NOTICE_TEMPLATE = "Template:Notice"
NOTICE_TEXT = "This page belongs to a generated test wiki."
SEED_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_HEADINGS = ("Overview", "Background", "Details", "Usage", "Discussion", "Notes")
_COMMENTS = ("Create page", "Expand article", "Add section")
_MARKUP_WORD = re.compile(r"(?<![\w'\u2019])[A-Za-z]{5,}(?![\w'\u2019])")

_ROUTER_PHP = r"""<?php
// Router for `php -S` (written by tests.harness.mediawiki).
// /robots.txt comes from robots.txt beside this file; /wiki/Title goes to index.php.
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/';
if ($path === '/robots.txt') {
    header('Content-Type: text/plain; charset=UTF-8');
    readfile(__DIR__ . '/robots.txt');
    return true;
}
if ($path === '/wiki' || strncmp($path, '/wiki/', 6) === 0) {
    $_SERVER['SCRIPT_NAME'] = '/index.php';
    $_SERVER['PHP_SELF'] = '/index.php';
    $_SERVER['SCRIPT_FILENAME'] = $_SERVER['DOCUMENT_ROOT'] . '/index.php';
    chdir($_SERVER['DOCUMENT_ROOT']);
    require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
    return true;
}
return false;
"""


class Revision(NamedTuple):
    """One revision to import."""

    user: str
    timestamp: datetime
    text: str
    comment: str = ""


@dataclass(frozen=True)
class WikiPage:
    """A page to import with its revisions, oldest first."""

    title: str
    revisions: Sequence[Revision]


@dataclass(frozen=True)
class Redirect:
    """A redirect page to import."""

    title: str
    target: str
    user: str = ADMIN_USER
    timestamp: datetime = SEED_EPOCH
    comment: str = "Redirect"


@dataclass(frozen=True)
class SeededPage:
    """Ground truth for one seeded page.

    `paragraphs` are the texts of the `<p>` elements MediaWiki renders for the
    article body, in order; headings and the {{Notice}} box are not among them.
    `page_id` and `revids` (oldest first) are read back from the API after import.
    """

    title: str
    wikitext: str
    paragraphs: tuple[str, ...]
    headings: tuple[str, ...]
    editors: frozenset[str]
    is_redirect: bool = False
    redirect_target: str | None = None
    page_id: int = 0
    revids: tuple[int, ...] = field(default=())

    @property
    def latest_revid(self) -> int:
        """The id of the page's current revision (0 before it is read back)."""
        return self.revids[-1] if self.revids else 0


def ensure_mediawiki_installed() -> None:
    """Install Debian's MediaWiki and PHP packages when missing, starting no daemon."""
    if _mediawiki_ready():
        return
    try:
        apt_install(PACKAGES, block_services=True)
    except RuntimeError as exc:
        raise RuntimeError(f"could not install MediaWiki: {exc}") from exc
    if not _mediawiki_ready():
        raise RuntimeError(f"installed {' '.join(PACKAGES)} but MediaWiki is still not usable")


def _mediawiki_ready() -> bool:
    if not (MAINTENANCE_DIR / "install.php").exists() or shutil.which("php") is None:
        return False
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True).stdout.lower()
    return all(m in modules.split() for m in _PHP_MODULES)


class MediaWikiServer:
    """A fresh MediaWiki in `workdir`, served by `php -S` on 127.0.0.1.

    The first `start()` installs a new wiki (replacing one left in `workdir`);
    a `start()` after `stop()` serves the same wiki on the same port again.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        sitename: str = "Testwiki",
        license_url: str = "https://creativecommons.org/licenses/by-sa/4.0/",
        license_text: str = "Creative Commons Attribution-Share Alike 4.0",
        robots_txt: str = DEFAULT_ROBOTS,
        port: int | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.sitename = sitename
        self.license_url = license_url
        self.license_text = license_text
        self._robots_txt = robots_txt
        self._port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._installed = False
        self._known_users: set[str] = {ADMIN_USER}
        self._dump_count = 0

    # -- locations -------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (chosen at the first start when none was given)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8080."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """URL of api.php."""
        return f"{self.url}/api.php"

    @property
    def local_settings(self) -> Path:
        """The LocalSettings.php this wiki uses (via MW_CONFIG_FILE)."""
        return self.workdir / "LocalSettings.php"

    @property
    def log_path(self) -> Path:
        """Where `php -S` writes its request log and errors."""
        return self.workdir / "php-server.log"

    def page_url(self, title: str) -> str:
        """The canonical /wiki/ URL MediaWiki gives for `title`."""
        return f"{self.url}/wiki/{_url_title(title)}"

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> MediaWikiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> MediaWikiServer:
        """Install (first time only), serve, and wait until api.php answers."""
        if self._proc is not None:
            return self
        ensure_mediawiki_installed()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._port is None:
            self._port = free_port()
        if not self._installed:
            self._install()
        self._write_settings()
        (self.workdir / "router.php").write_text(_ROUTER_PHP)
        self.set_robots_txt(self._robots_txt)
        env = {**self._env(), "PHP_CLI_SERVER_WORKERS": "4"}
        router = str(self.workdir / "router.php")
        cmd = ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(DOCROOT), router]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        atexit.register(self.stop)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop `php -S` and its workers (the whole process group)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            proc.poll()
            if not _group_alive(proc.pid):
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    @property
    def running(self) -> bool:
        """Whether `php -S` is up."""
        return self._proc is not None and self._proc.poll() is None

    def set_robots_txt(self, text: str) -> None:
        """Serve `text` at /robots.txt from the next request on."""
        self._robots_txt = text
        target = self.workdir / "robots.txt"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(target)

    # -- maintenance and seeding ---------------------------------------------

    def run_maintenance(self, script: str, *args: str, stdin: str | None = None) -> str:
        """Run maintenance/`script` against this wiki; return its output or raise."""
        cmd = ["php", str(MAINTENANCE_DIR / script), *args]
        result = subprocess.run(
            cmd, cwd=self.workdir, env=self._env(), input=stdin, capture_output=True, text=True
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise RuntimeError(f"{script} {' '.join(args)} failed:\n{output[-3000:]}")
        return output

    def create_users(self, names: Sequence[str]) -> None:
        """Create accounts for `names` that this harness has not created yet."""
        for name in names:
            name = _normalize_user(name)
            if name in self._known_users:
                continue
            password = f"harness-{os.urandom(8).hex()}-Pw!"
            try:
                self.run_maintenance("createAndPromote.php", name, password)
            except RuntimeError as exc:
                if "Account exists" not in str(exc):
                    raise
            self._known_users.add(name)

    def import_pages(self, pages: Sequence[WikiPage | Redirect]) -> None:
        """Import pages with importDump.php and bring derived tables up to date.

        Editors get real accounts first, so `prop=contributors` lists them.
        """
        users = [r.user for p in pages if isinstance(p, WikiPage) for r in p.revisions]
        users += [p.user for p in pages if isinstance(p, Redirect)]
        self.create_users(list(dict.fromkeys(users)))
        self._dump_count += 1
        dump = self.workdir / "import" / f"dump-{self._dump_count:03d}.xml"
        dump.parent.mkdir(exist_ok=True)
        dump.write_text(export_xml(pages), encoding="utf-8")
        self.run_maintenance("importDump.php", "--quiet", str(dump))
        self.run_maintenance("rebuildrecentchanges.php")
        self.run_jobs()
        self.run_maintenance("initSiteStats.php", "--update")

    def run_jobs(self) -> None:
        """Run the job queue to empty (the web server runs no jobs itself)."""
        self.run_maintenance("runJobs.php", "--quiet")

    def edit_page(self, title: str, text: str, user: str, summary: str = "") -> None:
        """Save `text` as a new revision of `title` by `user` (edit.php)."""
        out = self.run_maintenance(
            "edit.php", "--user", user, "--summary", summary, title, stdin=text
        )
        if "done" not in out:
            raise RuntimeError(f"edit of {title!r} failed: {out.strip()}")
        self._known_users.add(_normalize_user(user))
        self.run_jobs()

    def delete_page(
        self, title: str, reason: str = "Test deletion", user: str = ADMIN_USER
    ) -> None:
        """Delete `title` (deleteBatch.php)."""
        out = self.run_maintenance("deleteBatch.php", "-u", user, "-r", reason, stdin=title + "\n")
        if "Deleted!" not in out:
            raise RuntimeError(f"delete of {title!r} failed: {out.strip()}")
        self.run_jobs()

    def undelete_page(self, title: str, user: str = ADMIN_USER) -> None:
        """Restore a deleted page with its revisions (undelete.php)."""
        out = self.run_maintenance("undelete.php", "-u", user, title)
        if "done" not in out.lower():
            raise RuntimeError(f"undelete of {title!r} failed: {out.strip()}")
        self.run_jobs()

    def move_page(
        self,
        old: str,
        new: str,
        *,
        leave_redirect: bool = True,
        reason: str = "Test move",
        user: str = ADMIN_USER,
    ) -> None:
        """Rename `old` to `new` (moveBatch.php), leaving a redirect unless told not to."""
        args = ["-u", user, "-r", reason] + ([] if leave_redirect else ["--noredirects"])
        out = self.run_maintenance("moveBatch.php", *args, stdin=f"{old}|{new}\n")
        if "FAILED" in out or "-->" not in out:
            raise RuntimeError(f"move of {old!r} to {new!r} failed: {out.strip()}")
        self.run_jobs()

    def api(self, params: Mapping[str, str]) -> dict[str, Any]:
        """GET api.php with `params` (format=json, formatversion=2) and decode it."""
        query = urllib.parse.urlencode({**params, "format": "json", "formatversion": "2"})
        request = urllib.request.Request(
            f"{self.api_url}?{query}", headers={"User-Agent": "tests.harness.mediawiki"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            data: dict[str, Any] = json.load(response)
        if "error" in data:
            raise RuntimeError(f"API error for {params}: {data['error']}")
        return data

    def revisions_by_title(self) -> dict[str, tuple[int, tuple[int, ...]]]:
        """Map each main-namespace title to (page_id, revision ids oldest first)."""
        found: dict[str, tuple[int, list[int]]] = {}
        params = {
            "action": "query",
            "list": "allrevisions",
            "arvprop": "ids",
            "arvlimit": "max",
            "arvnamespace": "0",
        }
        cont: dict[str, str] = {}
        while True:
            data = self.api({**params, **cont})
            for page in data["query"]["allrevisions"]:
                entry = found.setdefault(page["title"], (page["pageid"], []))
                entry[1].extend(r["revid"] for r in page["revisions"])
            if "continue" not in data:
                break
            cont = data["continue"]
        return {title: (pid, tuple(sorted(ids))) for title, (pid, ids) in found.items()}

    def seed_default(self, n_pages: int, seed: int) -> list[SeededPage]:
        """Import `n_pages` prose articles plus 2 redirects; return their ground truth.

        Also imports Template:Notice, used by every article. Page ids and revision
        ids are read back from the API.
        """
        pages, truth = build_default_site(n_pages, seed)
        self.import_pages(pages)
        ids = self.revisions_by_title()
        out = []
        for page in truth:
            page_id, revids = ids.get(page.title, (0, ()))
            out.append(replace(page, page_id=page_id, revids=revids))
        return out

    # -- internals -------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        return {**os.environ, "MW_CONFIG_FILE": str(self.local_settings)}

    def _install(self) -> None:
        for name in ("LocalSettings.php", "HarnessSettings.php", "robots.txt", "router.php"):
            (self.workdir / name).unlink(missing_ok=True)
        for name in ("db", "import"):
            shutil.rmtree(self.workdir / name, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k != "MW_CONFIG_FILE"}
        admin_password = f"harness-admin-{os.urandom(8).hex()}"
        cmd = [
            "php",
            str(MAINTENANCE_DIR / "install.php"),
            "--dbtype=sqlite",
            f"--dbpath={self.workdir / 'db'}",
            f"--server={self.url}",
            "--scriptpath=",
            f"--confpath={self.workdir}",
            "--lang=en",
            f"--pass={admin_password}",
            self.sitename,
            ADMIN_USER,
        ]
        result = subprocess.run(cmd, cwd=self.workdir, env=env, capture_output=True, text=True)
        if result.returncode != 0 or not self.local_settings.exists():
            output = (result.stdout + result.stderr)[-3000:]
            raise RuntimeError(f"MediaWiki install.php failed:\n{output}")
        with self.local_settings.open("a") as fh:
            fh.write(
                "\n# Added by tests.harness.mediawiki\nrequire __DIR__ . '/HarnessSettings.php';\n"
            )
        self._installed = True
        self._known_users = {ADMIN_USER}

    def _write_settings(self) -> None:
        settings = f"""<?php
// Written by tests.harness.mediawiki; rewritten at every start.
$wgServer = {_php_str(self.url)};
$wgCanonicalServer = $wgServer;
$wgArticlePath = "/wiki/$1";
$wgRightsUrl = {_php_str(self.license_url)};
$wgRightsText = {_php_str(self.license_text)};
$wgEnableUploads = false;
$wgEnableEmail = false;
$wgMainCacheType = CACHE_NONE;
$wgParserCacheType = CACHE_NONE;
$wgMessageCacheType = CACHE_NONE;
$wgSessionCacheType = CACHE_DB;
$wgEnableSidebarCache = false;
$wgUseFileCache = false;
$wgJobRunRate = 0;
$wgRCMaxAge = 50 * 365 * 86400;
$wgShowExceptionDetails = true;
$wgPingback = false;
"""
        (self.workdir / "HarnessSettings.php").write_text(settings)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        query = "action=query&meta=siteinfo&format=json&formatversion=2"
        last_error = ""
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise RuntimeError(f"php -S exited early:\n{self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.api_url}?{query}", timeout=5) as response:
                    if "general" in json.load(response).get("query", {}):
                        return
            except (OSError, ValueError) as exc:
                last_error = str(exc)
            time.sleep(0.1)
        raise RuntimeError(
            f"MediaWiki not ready after {timeout}s ({last_error}):\n{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def export_xml(pages: Sequence[WikiPage | Redirect]) -> str:
    """A MediaWiki XML export (schema 0.11) of `pages`."""
    ns = "http://www.mediawiki.org/xml/export-0.11/"
    parts = [
        f'<mediawiki xmlns="{ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{ns} http://www.mediawiki.org/xml/export-0.11.xsd" '
        'version="0.11" xml:lang="en">\n'
    ]
    for page in pages:
        if isinstance(page, Redirect):
            revisions: Sequence[Revision] = [
                Revision(page.user, page.timestamp, f"#REDIRECT [[{page.target}]]", page.comment)
            ]
        else:
            revisions = [Revision(*r) for r in page.revisions]
        namespace = _namespace_id(page.title)
        parts.append(
            f"  <page>\n    <title>{escape(page.title)}</title>\n    <ns>{namespace}</ns>\n"
        )
        if isinstance(page, Redirect):
            parts.append(f"    <redirect title={quoteattr(page.target)} />\n")
        for rev in revisions:
            stamp = _utc(rev.timestamp).strftime("%Y-%m-%dT%H:%M:%SZ")
            size = len(rev.text.encode("utf-8"))
            parts.append(
                "    <revision>\n"
                f"      <timestamp>{stamp}</timestamp>\n"
                f"      <contributor><username>{escape(rev.user)}</username></contributor>\n"
                f"      <comment>{escape(rev.comment)}</comment>\n"
                "      <model>wikitext</model>\n"
                "      <format>text/x-wiki</format>\n"
                f'      <text xml:space="preserve" bytes="{size}">{escape(rev.text)}</text>\n'
                "    </revision>\n"
            )
        parts.append("  </page>\n")
    parts.append("</mediawiki>\n")
    return "".join(parts)


def build_default_site(
    n_pages: int, seed: int
) -> tuple[list[WikiPage | Redirect], list[SeededPage]]:
    """The pages `seed_default` imports and their ground truth, without a server.

    `n_pages` prose articles (1-3 revisions each by a rotating set of
    DEFAULT_EDITORS) and min(2, n_pages) redirects, plus Template:Notice (not in
    the ground truth).
    """
    articles = make_articles(n_pages, seed)
    rng = random.Random(seed)
    notice = WikiPage(
        NOTICE_TEMPLATE,
        [
            Revision(
                ADMIN_USER,
                SEED_EPOCH - timedelta(days=1),
                f"<div class=\"notice\" role=\"note\">''{NOTICE_TEXT}''</div>"
                "<noinclude>\nShown at the top of every seeded article.</noinclude>",
                "Create notice",
            )
        ],
    )
    pages: list[WikiPage | Redirect] = [notice]
    truth: list[SeededPage] = []
    for i, article in enumerate(articles):
        others = [a.title for a in articles if a.title != article.title] or ["Main Page"]
        body = _decorate(article, rng.choice(others), rng)
        heading = rng.choice(_HEADINGS) if len(body) >= 2 else None
        n_revs = rng.randint(1, 3)
        start = SEED_EPOCH + timedelta(hours=i)
        revisions = []
        for k in range(n_revs):
            upto = math.ceil(len(body) * (k + 1) / n_revs)
            revisions.append(
                Revision(
                    DEFAULT_EDITORS[(i + k) % len(DEFAULT_EDITORS)],
                    start + timedelta(days=3 * k),
                    _wikitext(body[:upto], heading),
                    _COMMENTS[k % len(_COMMENTS)],
                )
            )
        pages.append(WikiPage(article.title, revisions))
        truth.append(
            SeededPage(
                title=article.title,
                wikitext=revisions[-1].text,
                paragraphs=article.paragraphs,
                headings=(heading,) if heading else (),
                editors=frozenset(r.user for r in revisions),
                is_redirect=False,
            )
        )
    for r, target in enumerate([articles[0], articles[-1]][: min(2, n_pages)]):
        user = DEFAULT_EDITORS[(r + 1) % len(DEFAULT_EDITORS)]
        redirect = Redirect(
            f"{target.title} (alias)", target.title, user, SEED_EPOCH + timedelta(days=30 + r)
        )
        pages.append(redirect)
        truth.append(
            SeededPage(
                title=redirect.title,
                wikitext=f"#REDIRECT [[{target.title}]]",
                paragraphs=(),
                headings=(),
                editors=frozenset({user}),
                is_redirect=True,
                redirect_target=target.title,
            )
        )
    return pages, truth


def _decorate(article: Article, link_target: str, rng: random.Random) -> list[str]:
    """Paragraphs as wikitext: one '''bold''' word in the first, one link in the second."""
    body = list(article.paragraphs)
    body[0] = _wrap_word(body[0], rng, lambda w: f"'''{w}'''")
    index = 1 if len(body) > 1 else 0
    body[index] = _wrap_word(body[index], rng, lambda w: f"[[{link_target}|{w}]]", skip_bold=True)
    return body


def _wrap_word(
    text: str, rng: random.Random, wrap: Callable[[str], str], skip_bold: bool = False
) -> str:
    spans = [m.span() for m in _MARKUP_WORD.finditer(text)]
    if skip_bold:
        spans = [(a, b) for a, b in spans if "'''" not in text[max(0, a - 3) : b + 3]]
    if not spans:
        return text
    a, b = rng.choice(spans)
    return text[:a] + wrap(text[a:b]) + text[b:]


def _wikitext(body: Sequence[str], heading: str | None) -> str:
    blocks = ["{{Notice}}"]
    split = max(1, len(body) // 2)
    for i, paragraph in enumerate(body):
        if heading and i == split:
            blocks.append(f"== {heading} ==")
        blocks.append(paragraph)
    return "\n\n".join(blocks) + "\n"


def _namespace_id(title: str) -> int:
    prefix = title.split(":", 1)[0] if ":" in title else ""
    return {"Template": 10, "Category": 14, "Help": 12, "User": 2, "Project": 4}.get(prefix, 0)


def _normalize_user(name: str) -> str:
    name = " ".join(name.replace("_", " ").split())
    return name[:1].upper() + name[1:]


def _url_title(title: str) -> str:
    title = title.replace(" ", "_")
    return urllib.parse.quote(title[:1].upper() + title[1:], safe="/:(),!*@$;~-_.")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _php_str(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _serve(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = MediaWikiServer(Path(args.workdir), port=args.port)
    with server:
        server.seed_default(args.pages, args.seed)
        print(f"READY {server.url}", flush=True)
        while not stop.wait(1.0):
            if not server.running:
                print(f"php -S exited; see {server.log_path}", file=sys.stderr)
                return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: `serve --workdir DIR --pages N [--port P] [--seed S]`."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.mediawiki")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="install, seed and serve a wiki until SIGTERM")
    serve.add_argument("--workdir", required=True)
    serve.add_argument("--pages", type=int, default=300)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
