"""gunicorn settings for the container: uvicorn workers serving the Connexion app.

gunicorn itself reads WEB_CONCURRENCY (workers) and FORWARDED_ALLOW_IPS (trusted proxies);
the port comes from the service's own settings. Our worker class adds the read deadline,
keep-alive timeout and concurrency cap (handlers/server.py), as `provider-accounts serve` does.
"""

from gunicorn.glogging import Logger

from core.logs import configure_logging, settings_or_exit
from core.metrics import start_metrics_server

settings = settings_or_exit()


class ServiceLogger(Logger):
    """gunicorn's own lines (booting, signals, worker timeouts) through the service's handler.

    gunicorn gives its loggers a plain-text handler of their own; this takes it away again.
    The master sets it up before it logs or forks, so a worker loading the app logs the same.
    """

    def setup(self, cfg: object) -> None:
        super().setup(cfg)
        configure_logging(settings)


logger_class = ServiceLogger
bind = f"0.0.0.0:{settings.port}"
worker_class = "handlers.server.UvicornWorker"
accesslog = None  # the app logs one line per request, with its request id
# On SIGTERM a worker finishes its requests (floors of up to 5 s), then its process drains the
# background work it already answered 200 for (BACKGROUND_SHUTDOWN_SECONDS): give it both.
# The CDK stack's container stop timeout (120 s) stays above this.
graceful_timeout = int(settings.background_shutdown_seconds) + 20
timeout = 30


def when_ready(_server: object) -> None:
    """The master serves the metrics of all workers on METRICS_PORT."""
    start_metrics_server(
        settings.metrics_port, settings.metrics_host, settings.prometheus_multiproc_dir
    )


def post_worker_init(_worker: object) -> None:
    """JSON logs (in AWS) from every worker, through the service's own configuration."""
    configure_logging(settings)


def child_exit(_server: object, worker: object) -> None:
    """Drop a dead worker's live gauges from the multi-process metrics."""
    if settings.prometheus_multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
