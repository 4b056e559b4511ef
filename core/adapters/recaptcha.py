"""Google reCAPTCHA verification, failing closed."""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests

log = logging.getLogger(__name__)
LOCAL_FAILING_TOKEN = "fail"  # noqa: S105 - not a secret: the local stand-in rejects it


class GoogleRecaptcha:
    """Calls siteverify; any network error or non-success answer counts as a failure."""

    def __init__(
        self,
        secret: str,
        verify_url: str,
        min_score: float,
        session: Any | None = None,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._secret = secret
        self._url = verify_url
        self._min_score = min_score
        self._session = session
        self._local = threading.local()
        self._timeout = timeout_seconds

    def verify(self, token: str, remote_ip: str | None) -> bool:
        """Whether Google accepts the token (and, for v3, its score reaches the minimum)."""
        data = {"secret": self._secret, "response": token}
        if remote_ip:
            data["remoteip"] = remote_ip
        try:
            answer = self._http().post(self._url, data=data, timeout=self._timeout)
            answer.raise_for_status()
            result = answer.json()
        except (requests.RequestException, ValueError) as error:
            log.warning("recaptcha verification unreachable error=%s", type(error).__name__)
            return False
        if not isinstance(result, dict) or result.get("success") is not True:
            return False
        score = result.get("score")
        if score is None:
            return True
        # A score that is not a number fails closed, like every other malformed answer.
        numeric = isinstance(score, int | float) and not isinstance(score, bool)
        return numeric and float(score) >= self._min_score

    def _http(self) -> Any:
        """The injected session, or one per thread (requests sessions are not shared)."""
        if self._session is not None:
            return self._session
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session


class LocalRecaptcha:
    """The local stack's stand-in: accepts every token except the literal 'fail'."""

    def __init__(self) -> None:
        log.warning("reCAPTCHA is bypassed: APP_ENV=local accepts every token except 'fail'")

    def verify(self, token: str, remote_ip: str | None) -> bool:  # noqa: ARG002
        """Accept anything but 'fail', so the failure path can be exercised locally."""
        return token != LOCAL_FAILING_TOKEN
