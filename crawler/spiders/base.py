"""What every commons spider shares: arguments, User-Agent, consent capture, error reporting."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse

from scrapy import Request, Spider
from scrapy.exceptions import (
    CannotResolveHostError,
    CloseSpider,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from commons import __version__
from commons.exceptions import ConfigError
from commons.store import DataDir, SnapshotManifest, SnapshotStore, check_source_name
from crawler.consent.signals import lower_headers, page_signals, robots_record
from crawler.items import SnapshotInfoItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_CONTACT_RE = re.compile(r"^(mailto:)?[^@\s]+@[^@\s]+\.[^@\s]+$|^https?://\S+$")


def truthy(value: Any) -> bool:
    """A spider argument as a boolean (``-a incremental=true``)."""
    return str(value).lower() in {"1", "true", "yes", "on"}


def build_user_agent(contact: str) -> str:
    """A descriptive User-Agent with the operator's contact.

    >>> build_user_agent("ops@example.org")
    'commons-provenance/0.1.0 (dataset provenance audit; contact: ops@example.org)'
    """
    return f"commons-provenance/{__version__} (dataset provenance audit; contact: {contact})"


def check_contact(contact: str | None) -> str:
    """The contact if it is an e-mail address or an http(s) URL, else ConfigError."""
    if not contact or not _CONTACT_RE.match(contact.strip()):
        raise ConfigError(
            f"--contact {contact!r} is missing or not an e-mail address or URL: site operators "
            "must be able to reach whoever runs the crawl (e.g. --contact ops@example.org)"
        )
    return contact.strip()


def check_base_url(url: str | None) -> str:
    """An absolute http(s) URL, else ConfigError."""
    parsed = urlparse(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{url!r} is not an http(s) URL: give the site's address, e.g. "
                          "https://wiki.example.org")
    return url  # type: ignore[return-value]


class CommonsSpider(Spider):
    """Base spider: validates arguments, sets the User-Agent, records consent, fails clearly.

    Spider arguments (``-a`` with ``scrapy crawl``): ``url``, ``source``, ``contact``.
    Subclasses implement :meth:`crawl_site`, called after robots.txt and the entry page.
    """

    #: Paths checked against robots.txt for the verdicts recorded in the manifest.
    probe_paths: tuple[str, ...] = ("/",)
    store: SnapshotStore
    #: The unfinished snapshot this crawl continues (``resume`` argument), if any.
    resume_manifest: SnapshotManifest | None = None
    snapshot_id: str | None = None

    def __init__(self, url: str | None = None, source: str | None = None,
                 contact: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = check_base_url(url)
        self.source = check_source_name(source or "")
        self.contact = check_contact(contact)
        parsed = urlparse(self.base_url)
        self.origin = f"{parsed.scheme}://{parsed.netloc}"
        self.allowed_domains = [parsed.hostname or ""]
        self.parameters: dict[str, Any] = {"url": self.base_url, "source": self.source}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> CommonsSpider:
        kwargs.setdefault("contact", crawler.settings.get("COMMONS_CONTACT"))
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, CommonsSpider)
        crawler.settings.set("USER_AGENT", build_user_agent(spider.contact), priority="spider")
        spider.store = SnapshotStore(DataDir(crawler.settings.get("COMMONS_DATA") or "data"))
        spider.resume_manifest = None
        if truthy(kwargs.get("resume")):
            spider.resume_manifest = spider._find_resumable(kwargs.get("snapshot_id"))
            spider.snapshot_id = spider.resume_manifest.snapshot_id
            spider.parameters["resumed"] = True
        spider.prepare()
        return spider

    def _find_resumable(self, snapshot_id: str | None) -> SnapshotManifest:
        manifest = (self.store.get(self.source, snapshot_id) if snapshot_id
                    else self.store.resumable(self.source))
        if manifest.status == "complete":
            raise ConfigError(f"snapshot {self.source}/{manifest.snapshot_id} is already "
                              "complete; start a new crawl without --resume")
        if manifest.crawler != self.name or manifest.base_url != self.base_url:
            raise ConfigError(
                f"snapshot {self.source}/{manifest.snapshot_id} was a {manifest.crawler} crawl "
                f"of {manifest.base_url}; resume it with the same kind and URL"
            )
        return manifest

    def prepare(self) -> None:
        """Hook: load what the crawl needs from the store before it starts (resume, base)."""

    # -- errors -------------------------------------------------------------------------

    def fail(self, url: str, problem: str, advice: str) -> CloseSpider:
        """Record a one-line error for the CLI and return the CloseSpider to raise."""
        message = f"{url}: {problem}; {advice}"
        stats = self.crawler.stats
        assert stats is not None
        if not stats.get_value("commons/error"):
            stats.set_value("commons/error", message)
            stats.set_value("commons/error_parts", json.dumps([url, problem, advice]))
        self.logger.error(message)
        return CloseSpider("error")

    def on_error(self, failure: Failure) -> None:
        """Errback: turn network, HTTP and robots.txt failures into one-line errors."""
        request = failure.request  # type: ignore[attr-defined]
        url = request.url
        if failure.check(HttpError):
            status = failure.value.response.status  # type: ignore[union-attr]
            raise self.fail(url, f"HTTP {status}", "check the URL, or try again later if the "
                            "site is down")
        if failure.check(DNSLookupError, CannotResolveHostError):
            raise self.fail(url, "host name not found", "check the URL's spelling")
        if failure.check(ConnectionRefusedError, TimeoutError, TCPTimedOutError,
                         DownloadConnectionRefusedError, DownloadTimeoutError, DownloadFailedError):
            raise self.fail(url, f"unreachable ({failure.value.__class__.__name__})",
                            "check the URL and that the site is up")
        if failure.check(IgnoreRequest):
            reason = str(failure.value) or "request ignored"
            if "robots.txt" in reason:
                raise self.fail(url, "robots.txt forbids this crawler",
                                "the crawl respects it; ask the site's operators for access")
            raise self.fail(url, reason, "try again later")
        raise self.fail(url, f"request failed ({failure.getErrorMessage()})",
                        "check the URL and your network")

    # -- the crawl ----------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        yield Request(
            urljoin(self.origin, "/robots.txt"),
            callback=self.parse_robots,
            errback=self.on_error,
            meta={"dont_obey_robotstxt": True, "handle_httpstatus_all": True},
            dont_filter=True,
        )

    def parse_robots(self, response: Response) -> Iterator[Any]:
        own_agent = self.settings.get("ROBOTSTXT_USER_AGENT") or "commons-provenance"
        probes = [urljoin(self.origin, p) for p in self.probe_paths] + [self.base_url]
        body = response.body if response.status < 500 else b""
        self.robots = robots_record(response.url, response.status, body, own_agent, probes)
        yield SnapshotInfoItem(robots=self.robots)  # recorded even when it refuses us
        if response.status >= 500:
            raise self.fail(response.url, f"robots.txt answered HTTP {response.status}",
                            "RFC 9309 says to assume a full disallow; try again later")
        if not self.robots["verdicts"][own_agent][self.base_url]:
            raise self.fail(self.base_url, f"robots.txt forbids User-Agent {own_agent!r}",
                            "the crawl respects it; ask the site's operators for access")
        yield Request(self.base_url, callback=self.parse_entry, errback=self.on_error,
                      dont_filter=True)

    def parse_entry(self, response: Response) -> Iterator[Any]:
        html = response.text if hasattr(response, "text") else ""
        signals = page_signals(lower_headers(response.headers), html)
        yield SnapshotInfoItem(consent={"entry_page": {"url": response.url, **signals}})
        yield Request(
            urljoin(self.origin, "/.well-known/tdmrep.json"),
            callback=self.parse_tdmrep,
            errback=self.tdmrep_unavailable,
            cb_kwargs={"entry": response},
            meta={"handle_httpstatus_all": True},
            dont_filter=True,
        )

    def parse_tdmrep(self, response: Response, entry: Response) -> Iterator[Any]:
        """Record the W3C TDM Reservation Protocol file, if the site publishes one."""
        record: dict[str, Any] = {"url": response.url, "status": response.status, "rules": None}
        if response.status == 200:
            try:
                record["rules"] = json.loads(response.body)
            except ValueError:
                record["raw"] = response.body[:65536].decode("utf-8", errors="replace")
        yield SnapshotInfoItem(consent={"tdmrep": record})
        yield from self.crawl_site(entry)

    def tdmrep_unavailable(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        record = {"url": request.url, "status": None, "error": failure.getErrorMessage()}
        yield SnapshotInfoItem(consent={"tdmrep": record})
        yield from self.crawl_site(request.cb_kwargs["entry"])

    def crawl_site(self, entry: Response) -> Iterator[Any]:
        raise NotImplementedError
