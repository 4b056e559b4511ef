# provider-accounts: runtime image (no test or local-stack dependencies).
FROM python:3.11-slim

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

COPY pyproject.toml README.md gunicorn.conf.py wsgi.py cli.py ./
COPY openapi ./openapi
COPY core ./core
COPY handlers ./handlers
# Editable install: the code stays in /app next to openapi/, which the app reads at start.
RUN pip install --editable . && rm -rf /root/.cache

USER app
# gunicorn's workers share metrics through files here (empty in every new container).
RUN mkdir -p /tmp/metrics
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/v1/health' % os.environ.get('PORT', '8000'), timeout=2)"]

CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
