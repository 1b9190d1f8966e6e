"""Build the semantic cache from the stage's parts (imported only when a policy says ``semantic``: numpy)."""

from __future__ import annotations

from gateway.cache.embedder import BURST, CpuBudget, Embedder, LocalEmbedder, RoutedEmbedder
from gateway.cache.semantic import SemanticCache
from gateway.config.models import CacheSettings
from gateway.pipeline.stages import StageParts


def semantic_cache(parts: StageParts, settings: CacheSettings) -> SemanticCache:
    embedder: Embedder
    if settings.embedding_model is None:
        embedder = LocalEmbedder(parts.models, CpuBudget(settings.embedder_cpu_share, BURST))
    else:
        parts.router.require(settings.embedding_model)
        embedder = RoutedEmbedder(parts.router, settings.embedding_model)
    redis = parts.redis if settings.backend in ("auto", "redis") else None
    return SemanticCache(
        embedder,
        per_namespace=settings.namespace_entries,
        explore_rate=settings.explore_rate,
        redis=redis,
        prefix=parts.config.gateway.redis_key_prefix,
    )
