"""The provider's own profile, for a verified ID token that outlived no recovery."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.clock import utc_now
from core.errors import NotFound, Unauthenticated
from core.id_tokens import IdentityClaims
from core.models import Profile, Provider
from core.ports import Clock, ProfileReader, ProviderStore

RECENT_EVENTS = 20


@dataclass(frozen=True)
class ProfileDeps:
    """What the profile reads."""

    reader: ProfileReader
    clock: Clock = utc_now


def get_profile(identity: IdentityClaims, deps: ProfileDeps) -> Profile:
    """The profile of the token's provider; Unauthenticated for a session a recovery ended."""
    profile = deps.reader.read(identity.compact, identity.provider_id, RECENT_EVENTS)
    if profile is None:
        raise NotFound("No provider record for this account")
    check_session(identity, profile.provider)
    pending = profile.provider.pending_recovery
    # An expired link is no pending recovery, even before it is cleared.
    live = pending if pending is not None and pending.expires_at > deps.clock() else None
    return replace(profile, pending_recovery=live)


def signed_in_provider(identity: IdentityClaims, providers: ProviderStore) -> Provider:
    """The token's provider record, if the token's session still counts."""
    provider = providers.get(identity.compact, identity.provider_id)
    if provider is None:
        raise NotFound("No provider record for this account")
    check_session(identity, provider)
    return provider


def check_session(identity: IdentityClaims, provider: Provider) -> None:
    """Unauthenticated unless the token belongs to the account as it is now."""
    # A user left behind by an email change is not the account any more.
    if provider.registered_email is None or identity.username.lower() != provider.registered_email:
        raise Unauthenticated("The token is not valid")
    if provider.locked_at is not None:  # locked by a "Not me": no session counts
        raise Unauthenticated("The account is locked")
    # Recovery recreates the user, but ID tokens issued before it stay valid for up to an
    # hour: whoever held the lost device is cut off here, from the moment a recovery claims
    # its link. auth_time has whole seconds: a sign-in at 12:00:00.3, before a cut-off at
    # 12:00:00.7, reads 12:00:00, so only sign-ins from the next whole second pass.
    cutoffs = [t for t in (provider.recovered_at, provider.sessions_not_before) if t]
    if cutoffs and identity.auth_time < whole_second_after(max(cutoffs)):
        raise Unauthenticated("The session ended when the account was recovered")


def whole_second_after(moment: datetime) -> datetime:
    """The moment itself if it has no fraction of a second, else the next whole second."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)
