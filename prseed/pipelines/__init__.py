"""prseed's item pipelines."""
