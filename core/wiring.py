"""The composition root's parts: AWS clients, adapters and services built from settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
from botocore.config import Config

from core import jurisdictions
from core.adapters.attempts import DynamoAttemptCounter
from core.adapters.cognito import CognitoIdentity
from core.adapters.jwks import JwksCache
from core.adapters.licenses import DynamoLicenseStore
from core.adapters.mail import OutboxMailer, SesMailer
from core.adapters.probes import TableProbe, UserPoolProbe
from core.adapters.providers import DynamoProviderStore
from core.adapters.recaptcha import GoogleRecaptcha, LocalRecaptcha
from core.clock import utc_now
from core.config import Settings
from core.emails import Links, link_templates
from core.id_tokens import IdTokenVerifier
from core.jurisdictions import LiveJurisdictions
from core.local.stack import DEMO_LICENSES as DEMO_LICENSES_CSV
from core.ports import Mailer, Recaptcha
from core.services.profile import ProfileDeps
from core.services.readiness import Readiness
from core.services.recovery import RecoveryDeps, RecoveryPolicy
from core.services.registration import RegistrationDeps, RegistrationPolicy
from core.token_hashing import Argon2TokenHasher

# Fail fast rather than pile up: one AWS call waits at most 2 × (2 + 4) s. A recovery makes
# four calls after claiming its token, so it ends well within the 60 s claim lease.
AWS_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=4, retries={"mode": "standard", "max_attempts": 2}
)


@dataclass(frozen=True)
class Dependencies:
    """Everything the handlers call, built once per app."""

    registration: RegistrationDeps
    recovery: RecoveryDeps
    profile: ProfileDeps
    verifier: IdTokenVerifier
    readiness: Readiness
    live_jurisdictions: LiveJurisdictions


# Readiness answers fast or not at all: one try, one second.
PROBE_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1})


def aws_client(settings: Settings, service: str, config: Config = AWS_CLIENT_CONFIG) -> Any:
    """A boto3 client (thread-safe) for the configured region and endpoint."""
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        config=config,
    )


class ThreadLocalTable:
    """A DynamoDB Table resource per thread: boto3 resources must not be shared by threads."""

    def __init__(self, settings: Settings, name: str) -> None:
        self._settings = settings
        self._name = name
        self._local = threading.local()

    def __getattr__(self, attribute: str) -> Any:
        table = getattr(self._local, "table", None)
        if table is None:
            table = self._local.table = self._create()
        return getattr(table, attribute)

    def _create(self) -> Any:
        resource = boto3.session.Session().resource(
            "dynamodb",
            region_name=self._settings.aws_region,
            endpoint_url=self._settings.aws_endpoint_url,
            config=AWS_CLIENT_CONFIG,
        )
        return resource.Table(self._name)


def aws_table(settings: Settings, name: str) -> Any:
    """A DynamoDB Table that is safe to use from every request thread."""
    return ThreadLocalTable(settings, name)


def build_services(settings: Settings) -> Dependencies:
    """Wire the real adapters into the services."""
    provider_table = aws_table(settings, settings.provider_table)
    licenses = DynamoLicenseStore(provider_table)
    providers = DynamoProviderStore(provider_table)
    attempts = DynamoAttemptCounter(aws_table(settings, settings.rate_limit_table))
    cognito = aws_client(settings, "cognito-idp")
    identity = CognitoIdentity(
        cognito,
        settings.user_pool_id or "",
        settings.user_pool_client_id or "",
    )
    mailer = build_mailer(settings)
    recaptcha = build_recaptcha(settings)
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
        clock=utc_now,
        policy=RegistrationPolicy(
            links=links,
            claim_lease=lease,
            reregister_after=timedelta(hours=settings.reregistration_after_hours),
        ),
    )
    recovery = RecoveryDeps(
        licenses=licenses,
        providers=providers,
        attempts=attempts,
        identity=identity,
        hasher=Argon2TokenHasher(
            settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism
        ),
        mailer=mailer,
        recaptcha=recaptcha,
        clock=utc_now,
        policy=RecoveryPolicy(
            links=links,
            token_ttl=timedelta(seconds=settings.recovery_token_ttl_seconds),
            initiate_limit=settings.recovery_initiate_limit,
            initiate_window=timedelta(seconds=settings.recovery_initiate_window_seconds),
            verify_limit=settings.recovery_verify_limit,
            verify_window=timedelta(seconds=settings.recovery_verify_window_seconds),
            claim_lease=lease,
        ),
    )
    return Dependencies(
        registration=registration,
        recovery=recovery,
        profile=ProfileDeps(licenses=licenses, providers=providers),
        verifier=build_verifier(settings),
        readiness=build_readiness(settings),
        live_jurisdictions=jurisdictions.configured(
            settings.live_jurisdictions, settings.is_local, DEMO_LICENSES_CSV
        ),
    )


def build_readiness(settings: Settings) -> Readiness:
    """Probes of both tables and the user pool, cached for READINESS_CACHE_SECONDS."""
    dynamodb = aws_client(settings, "dynamodb", PROBE_CLIENT_CONFIG)
    cognito = aws_client(settings, "cognito-idp", PROBE_CLIENT_CONFIG)
    probes = [
        TableProbe(dynamodb, settings.provider_table, "provider_table"),
        TableProbe(dynamodb, settings.rate_limit_table, "rate_limit_table"),
        UserPoolProbe(cognito, settings.user_pool_id or ""),
    ]
    return Readiness(probes, settings.readiness_cache_seconds)


def build_verifier(settings: Settings) -> IdTokenVerifier:
    """ID-token verification against the pool's JWKS."""
    signing_keys = JwksCache(settings.jwks, settings.jwks_cache_seconds, settings.jwks_min_refetch_seconds)
    return IdTokenVerifier(
        signing_keys, settings.issuer, settings.user_pool_client_id or "", settings.token_leeway_seconds
    )


def build_mailer(settings: Settings) -> Mailer:
    """SES or the outbox folder, as MAIL_BACKEND says."""
    if settings.mail_backend == "ses":
        return SesMailer(aws_client(settings, "ses"), settings.mail_from)
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
