"""The response cache: exact and semantic, tenant-scoped, stream-correct (see ``stage.py`` and docs/caching.md).

    policy.py     which caching applies to a request (config layers, then the request's own controls)
    identity.py   the exact key, the semantic namespace and text, the scope
    exact.py      answer stores: in-process LRU, Redis
    replay.py     a stream's chunks to one body and back
    checks.py     the second-stage check of a semantic hit
    index.py      per-namespace numpy vector index
    embedder.py   local MiniLM or a routed embedding model
    semantic.py   lookup with deadline, Redis sharing, adaptive decisions (adaptive.py)
    stage.py      the pipeline stage
"""
