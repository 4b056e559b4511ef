# provider-accounts: runtime image (no test or local-stack dependencies).
# Real builds use the official slim image; `make image` here passes a base made from Debian
# packages (scripts/debian-base-image.sh) because Docker Hub is out of reach.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=aws \
    MAIL_BACKEND=ses \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics

WORKDIR /app
RUN useradd --system --uid 10001 --no-create-home --home-dir /app app

# The runtime dependencies first, in their own layer: code changes do not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --requirement /tmp/requirements.txt \
    && rm -rf /root/.cache /tmp/requirements.txt

COPY README.md gunicorn.conf.py wsgi.py cli.py ./
COPY openapi ./openapi
COPY core ./core
COPY handlers ./handlers
# Editable install: the code stays in /app next to openapi/, which the app reads at start.
RUN pip install --no-deps --editable . && rm -rf /root/.cache

USER app
# gunicorn's workers share metrics through files here (empty in every new container).
RUN mkdir -p /tmp/metrics
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/v1/health' % os.environ.get('PORT', '8000'), timeout=2)"]

CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
