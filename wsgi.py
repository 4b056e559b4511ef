"""ASGI entry point: `gunicorn -k uvicorn_worker.UvicornWorker wsgi:app`."""

from handlers.app import create_app
from handlers.server import freeze_startup_objects

app = create_app()
freeze_startup_objects()
