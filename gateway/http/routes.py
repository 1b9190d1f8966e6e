"""The route table: every path the gateway serves, and its handler."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from gateway.http.handlers import anthropic, health, metrics, openai, responses, usage

ROUTES: list[BaseRoute] = [
    Route("/v1/chat/completions", openai.chat_completions, methods=["POST"]),
    Route("/v1/completions", openai.completions, methods=["POST"]),
    Route("/v1/embeddings", openai.embeddings, methods=["POST"]),
    Route("/v1/models", openai.list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}", openai.get_model, methods=["GET"]),
    Route("/v1/responses", responses.create, methods=["POST"]),
    Route("/v1/responses/{response_id}", responses.retrieve, methods=["GET"]),
    Route("/v1/responses/{response_id}", responses.delete, methods=["DELETE"]),
    Route("/v1/responses/{response_id}/input_items", responses.list_input_items, methods=["GET"]),
    Route("/v1/messages", anthropic.messages, methods=["POST"]),
    Route("/v1/messages/count_tokens", anthropic.count_tokens, methods=["POST"]),
    Route("/v1/usage", usage.usage, methods=["GET"]),  # the calling key's own spend (docs/costs.md)
    # Clients configured with a base URL that lacks /v1 still work.
    Route("/chat/completions", openai.chat_completions, methods=["POST"]),
    Route("/completions", openai.completions, methods=["POST"]),
    Route("/embeddings", openai.embeddings, methods=["POST"]),
    Route("/responses", responses.create, methods=["POST"]),
    Route("/models", openai.list_models, methods=["GET"]),
    Route("/health", health.health, methods=["GET"]),
    Route("/health/ready", health.ready, methods=["GET"]),
    Route("/health/dependencies", health.dependencies, methods=["GET"]),
    Route("/metrics", metrics.metrics, methods=["GET"]),  # Prometheus (docs/telemetry.md)
]
