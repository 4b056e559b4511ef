"""gunicorn settings for the container: uvicorn workers serving the Connexion app.

gunicorn itself reads WEB_CONCURRENCY (workers) and FORWARDED_ALLOW_IPS (trusted proxies);
the port comes from the service's own settings.
"""

from core.config import Settings

bind = f"0.0.0.0:{Settings().port}"
worker_class = "uvicorn_worker.UvicornWorker"
accesslog = "-"
graceful_timeout = 20
timeout = 30
