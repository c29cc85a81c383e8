# One replica of the app. Dependencies come from uv.lock exactly as `make run` installs them (the runtime set: no
# extras); the process runs as an unprivileged user and listens on HOST:PORT.
#
#   docker build -t liberation-realtime .
#   docker run -p 8000:8000 -e SECRET_KEY=... liberation-realtime
#
# compose.yaml runs two of these behind nginx on PostgreSQL and Redis.

FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock .python-version ./
# The project is an application (`[tool.uv] package = false`): only its locked dependencies are installed.
RUN uv sync --frozen --no-dev --no-cache

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin liberation \
    && mkdir /data && chown liberation:liberation /data
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY main.py ./
COPY app ./app
COPY services ./services
COPY components ./components
COPY theme ./theme
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    NICEGUI_STORAGE_PATH=/data/nicegui
USER liberation
VOLUME /data
EXPOSE 8000
# Healthy while /api/v1/health answers 200 (503 "degraded": the database, Redis or the scheduler is in trouble).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/api/v1/health\", timeout=2)"]
CMD ["python", "main.py"]
