"""A crawl frontier in Redis that several crawler processes (on one or many machines) share.

``COMMONS_FRONTIER=redis://host:6379/0`` (``commons crawl mediawiki ... --frontier URL``)
turns a crawl into one *worker* of a distributed crawl of its source: the add-on
(:mod:`.addon`) swaps in a scrapy-redis scheduler that leases requests (:mod:`.scheduler`),
a coordinator (:mod:`.coordinator`), a per-site limiter shared by every worker
(:mod:`.politeness`) and a pipeline writing per-worker part files (:mod:`.pipeline`), all
built on the client of the crawl's Redis keys (:mod:`.client`, with the Lua scripts of
:mod:`.lua`). Workers started with the same source and URL join the crawl in progress; the
last request done, one worker finishes the snapshot's manifest.
"""
