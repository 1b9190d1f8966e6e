"""JavaScript clients against the running gateway (node and the packages of package.json)."""
