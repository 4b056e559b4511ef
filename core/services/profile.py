"""The provider's own profile, for a verified ID token that outlived no recovery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.errors import NotFound, Unauthenticated
from core.id_tokens import IdentityClaims
from core.models import Profile
from core.ports import ProfileReader

RECENT_EVENTS = 20


@dataclass(frozen=True)
class ProfileDeps:
    """What the profile reads."""

    reader: ProfileReader


def get_profile(identity: IdentityClaims, deps: ProfileDeps) -> Profile:
    """The profile of the token's provider; Unauthenticated for a session a recovery ended."""
    profile = deps.reader.read(identity.compact, identity.provider_id, RECENT_EVENTS)
    if profile is None:
        raise NotFound("No provider record for this account")
    provider = profile.provider
    # A user left behind by an email change is not the account any more.
    if provider.registered_email is None or identity.username.lower() != provider.registered_email:
        raise Unauthenticated("The token is not valid")
    # Recovery recreates the user, but ID tokens issued before it stay valid for up to an
    # hour: whoever held the lost device is cut off here, from the moment a recovery claims
    # its link. auth_time has whole seconds: a sign-in at 12:00:00.3, before a cut-off at
    # 12:00:00.7, reads 12:00:00, so only sign-ins from the next whole second pass.
    cutoffs = [t for t in (provider.recovered_at, provider.sessions_not_before) if t]
    if cutoffs and identity.auth_time < _whole_second_after(max(cutoffs)):
        raise Unauthenticated("The session ended when the account was recovered")
    return profile


def _whole_second_after(moment: datetime) -> datetime:
    """The moment itself if it has no fraction of a second, else the next whole second."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)
