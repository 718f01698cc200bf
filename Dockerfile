# The editroom image: one image for the API, the runner and the one-shot migration.
FROM python:3.11-slim

# DejaVu: the text operation draws non-Latin scripts with it (Pillow's own font is Latin only);
# Noto Color Emoji: emoji in colour; libfribidi0 lets Pillow's bundled libraqm shape text (Arabic,
# skin tones and joined emoji).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-noto-color-emoji \
        libfribidi0 \
    && rm -rf /var/lib/apt/lists/*

ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH \
    EDITROOM_DATA_DIR=/var/lib/editroom

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

# Uploads being checked and edits' scratch files live in EDITROOM_DATA_DIR (media go to S3).
RUN useradd --system --uid 10001 editroom \
    && install -d -o editroom -g editroom /var/lib/editroom
USER editroom
# 8000: the API (and its /metrics); 9101: a runner's /metrics in compose.yaml.
EXPOSE 8000 9101
ENTRYPOINT ["editroom"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
