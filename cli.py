"""The `provider-accounts` command: serve, bootstrap, seed, unlock."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from pydantic import ValidationError

from core.config import Settings, invalid_settings
from core.logs import configure_logging
from core.metrics import start_metrics_server


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    # Connexion imports Starlette's test client at import time; its deprecation notice about
    # httpx says nothing to an operator.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    parser = argparse.ArgumentParser(prog="provider-accounts", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API (APP_ENV=local: on an embedded AWS stack)")
    commands.add_parser("bootstrap", help="create missing tables, user pool and app client")
    seed = commands.add_parser("seed", help="load license records from a CSV file")
    seed.add_argument("file", type=Path)
    unlock = commands.add_parser(
        "unlock", help='let an account locked by "Not me" sign in and recover again'
    )
    unlock.add_argument("--compact", required=True)
    unlock.add_argument("--provider-id", required=True)
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        print(f"provider-accounts: {invalid_settings(error)}", file=sys.stderr)
        return 2
    configure_logging(settings)
    if args.command == "serve":
        return serve(settings)
    if args.command == "unlock":
        return unlock_account(settings, args.compact, args.provider_id)
    if args.command == "bootstrap":
        from core.local.stack import provision

        print(json.dumps(provision(settings).as_settings(), indent=2))
        return 0
    from core.local.seed import SeedError
    from core.local.stack import seed_file

    try:
        count = seed_file(settings, args.file)
    # A file that cannot be opened or is not UTF-8 fails while reading, before any write.
    except (SeedError, OSError, UnicodeDecodeError) as error:
        print(f"provider-accounts: {error}; nothing was loaded", file=sys.stderr)
        return 1
    print(f"loaded {count} license records")
    return 0


def serve(settings: Settings) -> int:
    """Serve on 127.0.0.1 (local) or all interfaces (aws) until interrupted."""
    import uvicorn

    from handlers.app import create_app
    from handlers.server import freeze_startup_objects, uvicorn_options

    stack = None
    host = "0.0.0.0"  # noqa: S104 - in AWS the container's port is what is published
    if settings.is_local:
        from core.local.stack import STACK_FILE, start_moto_stack

        stack = start_moto_stack(settings)
        settings = stack.settings
        host = "127.0.0.1"
        print(f"Local AWS stack at {settings.aws_endpoint_url}; described in {STACK_FILE}")
        print(f"Swagger UI: http://127.0.0.1:{settings.port}/v1/ui/")
        if settings.web_pages_enabled:
            print(f"Pages: http://127.0.0.1:{settings.port}/register (README: Try it in a browser)")
        print(f"Emails are written to {settings.outbox_dir.resolve()}")
        if settings.metrics_port:
            print(f"Metrics: http://127.0.0.1:{settings.metrics_port}/metrics")
    start_metrics_server(
        settings.metrics_port, settings.metrics_host, settings.prometheus_multiproc_dir
    )
    app = create_app(settings)
    freeze_startup_objects()
    try:
        uvicorn.run(
            app,
            host=host,
            port=settings.port,
            proxy_headers=True,
            log_config=None,  # keep the logging configure_logging set up
            **uvicorn_options(settings),
        )
    finally:
        if stack is not None:
            stack.stop()
    return 0


def unlock_account(settings: Settings, compact: str, provider_id: str) -> int:
    """Unlock one account; the operator's OS user name goes to the log and the history."""
    import getpass

    from core.errors import ConditionFailed, NotFound
    from core.services.not_me import unlock_account as unlock
    from core.wiring import build_services

    operator = getpass.getuser()
    try:
        unlock(compact, provider_id, operator, build_services(settings).recovery)
    except NotFound:
        print(f"provider-accounts: no provider {compact}/{provider_id}", file=sys.stderr)
        return 1
    except ConditionFailed:
        print(f"provider-accounts: {compact}/{provider_id} is not locked", file=sys.stderr)
        return 1
    print(f"unlocked {compact}/{provider_id} (by {operator})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
