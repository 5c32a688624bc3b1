"""What the MediaWiki spider builds on: wikitext to text, recent changes, distributed chains."""
