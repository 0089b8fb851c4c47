"""prseed's Scrapy extensions."""
