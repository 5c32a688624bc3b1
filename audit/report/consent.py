"""The consent state a snapshot's manifest recorded at crawl time, and shares of matches under it.

A manifest's ``robots`` holds the robots.txt verdict per AI agent (``allowed``) and its
``Content-Usage`` lines; ``consent`` holds the entry page's signals (``noai``,
``tdm-reservation``, ``Content-Usage`` header) and the TDMRep file (see crawler/consent/signals.py).
A snapshot with no robots record (e.g. one written by a tool that recorded nothing) is
``unknown``, never counted as allowing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crawler.consent.signals import AI_AGENTS


def _obj(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ConsentState:
    """Consent and opt-out signals of one snapshot, as recorded when it was crawled."""

    recorded: bool
    robots_status: int | None
    allowed: dict[str, bool]
    content_usage: tuple[str, ...]
    noai: bool | None
    tdm_reserved: bool | None
    tdm_policy: str | None

    @classmethod
    def from_manifest(cls, robots: Any, consent: Any) -> ConsentState:
        """Read the ``robots`` and ``consent`` JSON of a manifest (or of the snapshots view)."""
        r = _obj(robots)
        c = _obj(consent)
        entry = _obj(c.get("entry_page"))
        tdmrep = _obj(c.get("tdmrep"))
        allowed = {str(k): bool(v) for k, v in _obj(r.get("allowed")).items()}
        usage = [str(v) for v in (r.get("content_usage") or [])]
        usage += [str(v) for v in (entry.get("content_usage") or [])]
        reservation = entry.get("tdm_reservation")
        rules = tdmrep.get("rules")
        tdm: bool | None = None
        if reservation is not None or tdmrep:
            tdm = str(reservation).strip() == "1" or _tdmrep_reserves(rules)
        return cls(
            recorded=bool(allowed),
            robots_status=r.get("status") if isinstance(r.get("status"), int) else None,
            allowed=allowed,
            content_usage=tuple(usage),
            noai=bool(entry["noai"]) if "noai" in entry else None,
            tdm_reserved=tdm,
            tdm_policy=entry.get("tdm_policy"),
        )

    def disallows(self, agent: str) -> bool | None:
        """Whether robots.txt disallowed ``agent`` (None: not recorded)."""
        if agent not in self.allowed:
            return None
        return not self.allowed[agent]

    @property
    def disallowed_agents(self) -> list[str]:
        return [a for a in AI_AGENTS if self.allowed.get(a) is False]


def _tdmrep_reserves(rules: Any) -> bool:
    """True when a tdmrep.json rule list reserves TDM rights (``tdm-reservation: 1``)."""
    if not isinstance(rules, list):
        return False
    return any(isinstance(r, dict) and str(r.get("tdm-reservation")) == "1" for r in rules)


@dataclass(frozen=True)
class Signal:
    """One yes/no consent signal, evaluated per snapshot."""

    key: str
    label: str

    def holds(self, state: ConsentState) -> bool | None:
        if self.key.startswith("robots:"):
            return state.disallows(self.key.split(":", 1)[1])
        if self.key == "noai":
            return state.noai
        if self.key == "tdm":
            return state.tdm_reserved
        if self.key == "content-usage":
            return bool(state.content_usage) if state.recorded else None
        raise AssertionError(self.key)


SIGNALS: tuple[Signal, ...] = (
    *(Signal(f"robots:{a}", f"robots.txt disallowed {a}") for a in AI_AGENTS if a != "*"),
    Signal("robots:*", "robots.txt disallowed every crawler (*)"),
    Signal("noai", "noai in X-Robots-Tag or meta robots"),
    Signal("tdm", "TDM rights reserved (TDMRep)"),
    Signal("content-usage", "a Content-Usage (aipref) preference was published"),
)


def signal_shares(matched: dict[str, int], states: dict[str, ConsentState]) -> list[dict[str, Any]]:
    """Per signal: matched documents whose source showed it at snapshot time, and their share.

    Args:
        matched: distinct matched source documents per source.
        states: the audited snapshot's consent state per source.
    """
    total = sum(matched.values())
    rows: list[dict[str, Any]] = []
    for sig in SIGNALS:
        yes = [s for s in matched if sig.holds(states[s]) is True]
        unknown = [s for s in matched if sig.holds(states[s]) is None]
        docs = sum(matched[s] for s in yes)
        rows.append({
            "key": sig.key, "label": sig.label, "docs": docs,
            "share": docs / total if total and sum(matched[s] for s in unknown) < total
            else None,
            "unknown_docs": sum(matched[s] for s in unknown),
            "sources": yes,
        })
    return rows
