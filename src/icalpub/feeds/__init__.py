"""Which events go where: the feed kinds, the feeds of a site, and search queries."""
