"""A normal Scrapy project that snapshots commons sources into the Parquet store."""
