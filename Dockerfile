# The editroom image: one image for the API, the runner and the one-shot migration.
FROM python:3.11-slim

ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH

WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.9

# Dependencies first, from the lock only, so code changes reuse this layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-default-groups --no-install-project

# The code runs from its source tree: migrations and SQL functions are read from db/.
COPY service service
COPY runner runner
COPY db db
RUN uv sync --frozen --no-default-groups

RUN useradd --system --uid 10001 editroom
USER editroom
EXPOSE 8000
ENTRYPOINT ["editroom"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
