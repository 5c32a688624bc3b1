"""Scheduled, incremental crawls and re-audits."""
