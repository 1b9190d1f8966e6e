"""Versioned prompts: files in ``prompts/`` pushed to a registry, served by reference, released by label.

    spec.py       the prompt file's shape, its content and content hash
    loader.py     reading and validating prompt files (errors name file, line and field)
    render.py     rendering in Jinja2's sandbox with StrictUndefined, variables checked by their JSON Schema
    registry.py   push (versions deduplicated by hash), list, show, history
    release.py    label moves: release, canary, promote, rollback, gated by gate.py
    gate.py       the eval gate: production only for a version whose eval suite passed (reads stored runs)
    compare.py    per-variant figures from the request log, with Fisher's exact test (stats.py)
    diff.py       the difference of two versions, as unified diffs
    store.py      bulk reads for the serving cache
    cache.py      the in-memory copy the hot path resolves from
    stage.py      the pipeline stage that serves a request that names a prompt
    notify.py     the old name of the bus topic (gateway.bus.topics.PROMPTS), until the admin API moves off it

Nothing here runs at import time; heavy imports (jinja2, jsonschema) happen in the modules that need them.
"""
