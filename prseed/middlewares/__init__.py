"""prseed's downloader middlewares."""
