"""Domain errors of the crawler package (a crawl's own failures are ``CrawlError``)."""

from __future__ import annotations

from commons.exceptions import CommonsError


class NoConsentRecordsError(CommonsError):
    """A source has no snapshot, hence no consent signals to show."""
