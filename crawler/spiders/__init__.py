"""The spiders: one per kind of commons source."""
