"""Log files of the real server processes the e2e tests start; the log-secrets test reads them."""

from __future__ import annotations

from pathlib import Path

SERVER_LOG_FILES: list[Path] = []
