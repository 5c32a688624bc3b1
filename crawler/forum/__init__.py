"""What the forum spiders build on: forum descriptions, site facts, post text, increments."""
