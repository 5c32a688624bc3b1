"""The estimate stage: shares with confidence intervals (``intervals``) and the per-source
summary rows (``summary``)."""
