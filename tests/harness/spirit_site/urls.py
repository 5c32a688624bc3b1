"""Spirit's URLs at the site root, plus ``/robots.txt`` from the work folder."""

from __future__ import annotations

import spirit.urls
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from tests.harness.spirit import DEFAULT_ROBOTS


def robots_txt(request: HttpRequest) -> HttpResponse:
    """The work folder's robots.txt (rewritten by the harness), else a default."""
    robots = settings.WORKDIR / "robots.txt"
    text = robots.read_text() if robots.exists() else DEFAULT_ROBOTS
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


urlpatterns = [
    path("robots.txt", robots_txt),
    path("", include(spirit.urls)),
]
