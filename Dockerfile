# The gateway image: one process per container; scale with replicas (they share Redis and PostgreSQL).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY gateway ./gateway
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True
RUN useradd --create-home --uid 10001 gateway
COPY --from=build /install /usr/local
WORKDIR /app
COPY config ./config
COPY prompts ./prompts
COPY evals ./evals
USER gateway
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:4000/health')" || exit 1
ENTRYPOINT ["gateway"]
CMD ["serve", "--config", "/app/config/compose.yaml", "--host", "0.0.0.0", "--port", "4000"]
