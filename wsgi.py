"""ASGI entry point: `gunicorn -k uvicorn_worker.UvicornWorker wsgi:app`."""

from handlers.app import create_app

app = create_app()
