"""The composition root: adapters and services wired from settings, one override per part."""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3

from core import jurisdictions
from core.adapters.attempts import DynamoAttemptCounter
from core.adapters.aws_clients import PROBE_CLIENT_CONFIG, aws_client, dynamodb_json_client
from core.adapters.cognito import CognitoIdentity
from core.adapters.dynamo_table import DynamoTable
from core.adapters.jwks import JwksCache
from core.adapters.licenses import DynamoLicenseStore
from core.adapters.mail import OutboxMailer, SesMailer
from core.adapters.probes import TableProbe, UserPoolProbe
from core.adapters.profile_reads import DynamoProfileReader
from core.adapters.providers import DynamoProviderStore
from core.adapters.recaptcha import GoogleRecaptcha, LocalRecaptcha
from core.background import BoundedExecutor
from core.clock import utc_now
from core.config import Settings
from core.emails import Links, link_templates
from core.id_tokens import IdTokenVerifier
from core.jurisdictions import LiveJurisdictions
from core.local.stack import DEMO_LICENSES as DEMO_LICENSES_CSV
from core.mail_caps import MailCapPolicy, MailCaps
from core.ports import (
    AttemptCounter,
    Clock,
    Identity,
    LicenseStore,
    Mailer,
    ProfileReader,
    ProviderStore,
    Recaptcha,
    TokenHasher,
)
from core.services.profile import ProfileDeps
from core.services.readiness import Probe, Readiness
from core.services.recovery import RecoveryDeps, RecoveryPolicy
from core.services.registration import RegistrationDeps, RegistrationPolicy
from core.token_hashing import Argon2TokenHasher


@dataclass(frozen=True)
class Dependencies:
    """Everything the handlers call, built once per app."""

    registration: RegistrationDeps
    recovery: RecoveryDeps
    profile: ProfileDeps
    verifier: IdTokenVerifier
    readiness: Readiness
    live_jurisdictions: LiveJurisdictions
    background: BoundedExecutor


def build_services(  # noqa: PLR0913 - one override per dependency, by design
    settings: Settings,
    *,
    session: boto3.session.Session | None = None,
    licenses: LicenseStore | None = None,
    providers: ProviderStore | None = None,
    profile_reader: ProfileReader | None = None,
    attempts: AttemptCounter | None = None,
    identity: Identity | None = None,
    mailer: Mailer | None = None,
    recaptcha: Recaptcha | None = None,
    hasher: TokenHasher | None = None,
    clock: Clock = utc_now,
    verifier: IdTokenVerifier | None = None,
    readiness: Readiness | None = None,
    live_jurisdictions: LiveJurisdictions | None = None,
) -> Dependencies:
    """Wire the real adapters into the services; pass any one of them to replace it.

    `session` is the boto3 session the AWS clients come from (the process's shared one when
    not given). Only the clients that something not overridden needs are built.
    """
    clients = _Clients(settings, session)
    if licenses is None or providers is None or profile_reader is None:
        provider_table = DynamoTable(clients.get("dynamodb"), settings.provider_table)
        licenses = licenses or DynamoLicenseStore(provider_table)
        providers = providers or DynamoProviderStore(provider_table)
        # The read behind every page load skips botocore's per-call pipeline (dynamo_json.py).
        profile_reader = profile_reader or DynamoProfileReader(
            DynamoTable(
                dynamodb_json_client(clients.get("dynamodb"), session), settings.provider_table
            )
        )
    if attempts is None:
        attempts = DynamoAttemptCounter(
            DynamoTable(clients.get("dynamodb"), settings.rate_limit_table)
        )
    if identity is None:
        identity = CognitoIdentity(
            clients.get("cognito-idp"),
            settings.user_pool_id or "",
            settings.user_pool_client_id or "",
        )
    mailer = mailer or build_mailer(settings, clients)
    recaptcha = recaptcha or build_recaptcha(settings)
    hasher = hasher or Argon2TokenHasher(
        settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism
    )
    links = Links(
        settings.ui_base_url,
        link_templates(settings.email_link_style, settings.email_link_templates),
    )
    lease = timedelta(seconds=settings.claim_lease_seconds)
    registration = RegistrationDeps(
        licenses=licenses,
        providers=providers,
        identity=identity,
        mailer=mailer,
        recaptcha=recaptcha,
        clock=clock,
        policy=RegistrationPolicy(
            links=links,
            claim_lease=lease,
            reregister_after=timedelta(hours=settings.reregistration_after_hours),
        ),
        caps=MailCaps(
            attempts,
            clock,
            MailCapPolicy(
                window=timedelta(seconds=settings.mail_cap_window_seconds),
                notices_per_recipient=settings.mail_notice_cap,
                invitations_per_license_and_address=settings.mail_invitation_cap,
                lease=lease,
            ),
        ),
    )
    recovery = RecoveryDeps(
        licenses=licenses,
        providers=providers,
        attempts=attempts,
        identity=identity,
        hasher=hasher,
        mailer=mailer,
        recaptcha=recaptcha,
        clock=clock,
        policy=RecoveryPolicy(
            links=links,
            token_ttl=timedelta(seconds=settings.recovery_token_ttl_seconds),
            cooldown=timedelta(seconds=settings.recovery_cooldown_seconds),
            initiate_limit=settings.recovery_initiate_limit,
            initiate_window=timedelta(seconds=settings.recovery_initiate_window_seconds),
            verify_limit=settings.recovery_verify_limit,
            verify_window=timedelta(seconds=settings.recovery_verify_window_seconds),
            verify_failure_limit=settings.recovery_verify_failure_limit,
            claim_lease=lease,
        ),
    )
    return Dependencies(
        registration=registration,
        recovery=recovery,
        profile=ProfileDeps(reader=profile_reader, clock=clock),
        verifier=verifier or build_verifier(settings),
        readiness=readiness or build_readiness(settings, session),
        live_jurisdictions=live_jurisdictions
        or jurisdictions.configured(
            settings.live_jurisdictions, settings.is_local, DEMO_LICENSES_CSV
        ),
        background=build_background(settings),
    )


def build_background(settings: Settings) -> BoundedExecutor:
    """The bounded executor of registration and initiateRecovery work; drained at exit."""
    executor = BoundedExecutor(settings.background_workers, settings.background_queue_size)
    atexit.register(executor.shutdown, settings.background_shutdown_seconds)
    return executor


def build_readiness(settings: Settings, session: boto3.session.Session | None = None) -> Readiness:
    """Probes of both tables and the user pool, cached for READINESS_CACHE_SECONDS."""
    dynamodb = aws_client(settings, "dynamodb", PROBE_CLIENT_CONFIG, session)
    cognito = aws_client(settings, "cognito-idp", PROBE_CLIENT_CONFIG, session)
    probes: list[Probe] = [
        TableProbe(dynamodb, settings.provider_table, "provider_table"),
        TableProbe(dynamodb, settings.rate_limit_table, "rate_limit_table"),
        UserPoolProbe(cognito, settings.user_pool_id or ""),
    ]
    return Readiness(probes, settings.readiness_cache_seconds)


def build_verifier(settings: Settings) -> IdTokenVerifier:
    """ID-token verification against the pool's JWKS."""
    signing_keys = JwksCache(
        settings.jwks, settings.jwks_cache_seconds, settings.jwks_min_refetch_seconds
    )
    return IdTokenVerifier(
        signing_keys,
        settings.issuer,
        settings.user_pool_client_id or "",
        settings.token_leeway_seconds,
    )


def build_mailer(settings: Settings, clients: _Clients) -> Mailer:
    """SES or the outbox folder, as MAIL_BACKEND says."""
    if settings.mail_backend == "ses":
        return SesMailer(clients.get("ses"), settings.mail_from, settings.mail_configuration_set)
    return OutboxMailer(settings.outbox_dir, settings.mail_from)


def build_recaptcha(settings: Settings) -> Recaptcha:
    """Google's siteverify, or the local stand-in when APP_ENV=local has no secret."""
    if settings.recaptcha_secret is not None:
        return GoogleRecaptcha(
            settings.recaptcha_secret.get_secret_value(),
            settings.recaptcha_verify_url,
            settings.recaptcha_min_score,
        )
    return LocalRecaptcha()


class _Clients:
    """The app's AWS clients, one per service, built on first need."""

    def __init__(self, settings: Settings, session: boto3.session.Session | None) -> None:
        self._settings = settings
        self._session = session
        self._built: dict[str, Any] = {}

    def get(self, service: str) -> Any:
        """The client of `service`, shared by every adapter that calls it."""
        if service not in self._built:
            self._built[service] = aws_client(self._settings, service, session=self._session)
        return self._built[service]
