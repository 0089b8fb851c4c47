"""prseed's spiders."""
