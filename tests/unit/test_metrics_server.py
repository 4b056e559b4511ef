"""The metrics port: a clear refusal when it is taken, rather than a traceback."""

from __future__ import annotations

import socket

import pytest
import requests

from core.metrics import start_metrics_server


def test_a_taken_metrics_port_stops_start_up_with_what_to_do():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(SystemExit) as stopped:
            start_metrics_server(port, "127.0.0.1", None)

    assert str(stopped.value) == (
        f"METRICS_PORT {port} on 127.0.0.1 cannot be used (Address already in use): set "
        "METRICS_PORT to a free port, or to 0 to serve no metrics"
    )


def test_a_free_metrics_port_serves_the_counters():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    start_metrics_server(port, "127.0.0.1", None)

    answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert answer.status_code == 200
    assert "provider_accounts_attempts_total" in answer.text
