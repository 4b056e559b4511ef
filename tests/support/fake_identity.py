"""An in-memory Cognito user pool: users, statuses, passwords and a log of calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.errors import ConditionFailed
from core.models import IdentityUser, RiskContext
from tests.support.fakes import FailsOnDemand, MutableClock
from tests.support.leaks import remember


@dataclass
class FakeUser:
    """A user of the fake pool, with the password Cognito would check."""

    username: str
    attributes: dict[str, str]
    password: str
    last_modified: datetime
    status: str = "FORCE_CHANGE_PASSWORD"
    enabled: bool = True
    mfa_device: str | None = None


class FakeIdentity(FailsOnDemand):
    """A user pool with case-insensitive usernames, like the real pool; logs every call."""

    def __init__(self, clock: MutableClock) -> None:
        super().__init__()
        self.clock = clock
        self.risks: list[RiskContext | None] = []  # what each password check was given
        self.users: dict[str, FakeUser] = {}
        self.calls: list[tuple[str, str]] = []

    def get_user(self, username: str) -> IdentityUser | None:
        self._log("get_user", username)
        user = self.users.get(username.casefold())
        if user is None:
            return None
        return IdentityUser(
            user.username, user.status, user.enabled, user.last_modified, dict(user.attributes)
        )

    def create_user(
        self, username: str, attributes: dict[str, str], temporary_password: str
    ) -> None:
        self._log("create_user", username)
        if username.casefold() in self.users:
            raise ConditionFailed("The username is taken")
        remember(temporary_password)
        self.users[username.casefold()] = FakeUser(
            username, dict(attributes), temporary_password, self.clock()
        )

    def set_temporary_password(self, username: str, temporary_password: str) -> None:
        self._log("set_temporary_password", username)
        user = self.users[username.casefold()]  # Cognito: UserNotFoundException
        remember(temporary_password)
        user.password, user.status, user.last_modified = (
            temporary_password,
            "FORCE_CHANGE_PASSWORD",
            self.clock(),
        )

    def delete_user(self, username: str) -> None:
        self._log("delete_user", username)
        self.users.pop(username.casefold(), None)

    def disable_user(self, username: str) -> None:
        self._log("disable_user", username)
        user = self.users.get(username.casefold())
        if user is not None:
            user.enabled = False

    def enable_user(self, username: str) -> None:
        self._log("enable_user", username)
        user = self.users.get(username.casefold())
        if user is not None:
            user.enabled = True

    def password_is_valid(
        self, username: str, password: str, risk: RiskContext | None = None
    ) -> bool:
        self._log("password_is_valid", username)
        self.risks.append(risk)
        user = self.users.get(username.casefold())
        return user is not None and user.enabled and user.password == password

    def sign_in_first_time(self, username: str, new_password: str, mfa_device: str) -> None:
        """What the provider does with an invitation: new password, MFA enrolled."""
        user = self.users[username.casefold()]
        user.password, user.status, user.mfa_device = new_password, "CONFIRMED", mfa_device
        user.last_modified = self.clock()

    def user(self, username: str) -> FakeUser | None:
        """The stored user, for assertions."""
        return self.users.get(username.casefold())

    def methods_called(self) -> list[str]:
        """Names of the calls made so far, in order."""
        return [method for method, _ in self.calls]

    def _log(self, method: str, username: str) -> None:
        self.calls.append((method, username))
        self._check(method)
