"""Virtual keys and teams: key material, the database store, and the in-memory cache that authenticates requests.

The hot path only ever touches ``KeyCache.lookup`` (a dict lookup on the key's SHA-256); everything else runs in
the CLI, the admin API, or the cache's background refresh.
"""
