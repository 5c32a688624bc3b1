"""Consent and licence signals: read at crawl time (:mod:`.signals`), compared over time
(:mod:`.ledger`)."""
