"""The spiders: one per kind of commons source, each a :class:`.base.CommonsSpider`."""
