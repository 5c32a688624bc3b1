"""Benchmarks of the audit against its peers (``make bench``, ``python -m bench.run``)."""
