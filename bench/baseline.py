"""The service's code as it was at another revision, to run side by side with today's.

Both run from the same virtualenv: the directory comes first on the server's PYTHONPATH, ahead
of the editable install of this checkout, and its server is started from inside it.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

from bench.stack import ROOT


def checkout(revision: str) -> Path:
    """A temporary directory holding `revision`'s tracked files (git archive, no .git)."""
    archive = subprocess.run(  # noqa: S603 - git with a revision we were given
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision],  # noqa: S607
        check=True,
        capture_output=True,
    ).stdout
    target = Path(tempfile.mkdtemp(prefix=f"provider-accounts-{revision[:12]}-"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target
