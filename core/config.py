"""Every knob of the service, read from the environment in one place."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.emails import link_templates
from core.models import LICENSE_TYPES_BY_COMPACT

OnOff = Literal["on", "off"]
_POSTAL_CODE = re.compile(r"[a-z]{2}")
LOCAL_HOST = "127.0.0.1"


class Settings(BaseSettings):
    """Settings of one service instance; field names are the environment variable names."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    app_env: Literal["local", "aws"] = "local"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"
    cors_allowed_origins: str = ""
    # What browser frontends send: CompactConnect's HTTP client adds Cache-Control: no-cache
    # (and Authorization, even on public calls) to every request.
    cors_allowed_headers: str = "Authorization,Cache-Control,Content-Type,X-Request-Id"
    metrics_port: int = Field(9464, ge=0, le=65535)
    # prometheus_client reads this one itself too: set it under gunicorn (multi-process mode).
    prometheus_multiproc_dir: str | None = None
    readiness_cache_seconds: float = Field(5.0, ge=0)

    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    provider_table: str = "provider-accounts-providers"
    rate_limit_table: str = "provider-accounts-rate-limits"
    user_pool_id: str | None = None
    user_pool_client_id: str | None = None

    mail_backend: Literal["outbox", "ses"] = "outbox"
    mail_from: str = "Provider Accounts <no-reply@provider-accounts.local>"
    mail_configuration_set: str | None = None
    outbox_dir: Path = Path(".local/outbox")
    email_link_style: Literal["fragment", "compactconnect"] = "fragment"
    # JSON object: link kind -> URL template, overriding the style's (see core/emails.py).
    email_link_templates: dict[str, str] = Field(default_factory=dict)
    # JSON object: compact -> postal codes live for registration; unset: the demo data's
    # jurisdictions on the local stack, none in AWS.
    live_jurisdictions: dict[str, list[str]] | None = None
    # Empty: locally the service's own origin (its reference pages), in AWS a start-up error.
    ui_base_url: str = ""
    # The reference pages (/register, /sign-in, ...): "auto" serves them only on the local stack.
    web_pages: Literal["auto", "on", "off"] = "auto"

    recaptcha_secret: SecretStr | None = None
    recaptcha_verify_url: str = "https://www.google.com/recaptcha/api/siteverify"
    recaptcha_min_score: float = Field(0.5, ge=0.0, le=1.0)

    response_floors: OnOff = "on"
    ip_rate_limits: OnOff = "on"
    rate_limit_storage_uri: str = "memory://"
    registration_ip_limit: str = "3 per 15 minutes"
    initiate_recovery_ip_limit: str = "5 per 15 minutes"
    verify_recovery_ip_limit: str = "10 per 15 minutes"
    cancel_recovery_ip_limit: str = "10 per 15 minutes"

    recovery_token_ttl_seconds: int = Field(900, ge=60)
    recovery_cooldown_seconds: int = Field(0, ge=0, le=7 * 86400)
    recovery_initiate_limit: int = Field(3, ge=1)
    recovery_initiate_window_seconds: int = Field(3600, ge=60)
    recovery_verify_limit: int = Field(2, ge=1)
    recovery_verify_window_seconds: int = Field(900, ge=60)
    recovery_verify_failure_limit: int = Field(20, ge=1)
    claim_lease_seconds: int = Field(120, ge=5, le=600)
    reregistration_after_hours: int = Field(24, ge=1)

    mail_cap_window_seconds: int = Field(3600, ge=60, le=86400)
    mail_notice_cap: int = Field(1, ge=1)
    mail_invitation_cap: int = Field(1, ge=1)

    background_workers: int = Field(4, ge=1, le=64)
    # As many as the server admits at once (MAX_CONCURRENCY): a burst it lets in is queued,
    # not refused; the work behind one entry is a few AWS calls, so the queue drains in seconds.
    background_queue_size: int = Field(1000, ge=1)
    background_shutdown_seconds: float = Field(30.0, ge=0)

    # Link secrets carry 256 random bits: no hash cost makes guessing them any harder. A
    # memory-hard cost (argon2-cffi's default: 64 MiB, t=3, p=4, ~230 ms of CPU a hash) was
    # spent only when the password was right, and the CPU it took from the task's other
    # requests told an outsider so. At 1 MiB, t=1, p=1 a hash takes ~0.7 ms.
    argon2_time_cost: int = Field(1, ge=1)
    argon2_memory_cost_kib: int = Field(1024, ge=8)
    argon2_parallelism: int = Field(1, ge=1)

    jwks_url: str | None = None
    token_issuer: str | None = None
    jwks_cache_seconds: int = Field(3600, ge=60)
    jwks_min_refetch_seconds: int = Field(30, ge=1)
    token_leeway_seconds: int = Field(30, ge=0, le=300)

    max_body_bytes: int = Field(16384, ge=1024)
    worker_threads: int = Field(10, ge=1, le=256)
    request_read_timeout_seconds: float = Field(10.0, gt=0, le=300)
    # Longer than the load balancer's idle timeout (60 s on an ALB by default), so the
    # balancer, not this server, closes an idle connection it may be about to reuse.
    keep_alive_timeout_seconds: float = Field(65.0, gt=0, le=4000)
    max_concurrency: int = Field(1000, ge=1)
    local_seed_file: Path | None = None

    @field_validator("email_link_templates")
    @classmethod
    def _usable_link_templates(cls, value: dict[str, str]) -> dict[str, str]:
        """EMAIL_LINK_TEMPLATES names known link kinds and their placeholders only."""
        link_templates("fragment", value)  # raises ValueError naming what is wrong
        return value

    @field_validator("live_jurisdictions")
    @classmethod
    def _known_compacts_and_codes(
        cls, value: dict[str, list[str]] | None
    ) -> dict[str, list[str]] | None:
        """LIVE_JURISDICTIONS names known compacts and lower-case postal codes only."""
        for compact, codes in (value or {}).items():
            if compact not in LICENSE_TYPES_BY_COMPACT:
                raise ValueError(f"LIVE_JURISDICTIONS names an unknown compact: {compact!r}")
            bad = [code for code in codes if not _POSTAL_CODE.fullmatch(code)]
            if bad:
                raise ValueError(f"LIVE_JURISDICTIONS has codes that are not postal codes: {bad}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _local_links_open_own_pages(cls, data: Any) -> Any:
        """Locally, emailed links default to the pages this service serves itself."""
        if not isinstance(data, dict) or data.get("ui_base_url"):
            return data
        if data.get("app_env", "local") != "local":
            return data
        return {**data, "ui_base_url": f"http://{LOCAL_HOST}:{data.get('port', 8000)}"}

    @model_validator(mode="after")
    def _require_safe_production_settings(self) -> Settings:
        """In AWS, refuse to start with a setting that would leak or weaken something."""
        if self.app_env != "aws":
            return self
        missing = [
            name.upper()
            for name in ("recaptcha_secret", "user_pool_id", "user_pool_client_id")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError(
                f"APP_ENV=aws requires {', '.join(missing)} to be set in the environment"
            )
        unsafe = [
            message
            for broken, message in (
                (
                    self.mail_backend != "ses",
                    "MAIL_BACKEND=ses (the outbox writes secrets to disk)",
                ),
                (not self.ui_base_url.startswith("https://"), "UI_BASE_URL on https://"),
                (not self.floors_enabled, "RESPONSE_FLOORS=on"),
                (not self.ip_limits_enabled, "IP_RATE_LIMITS=on"),
                # The reference pages send a fixed reCAPTCHA token and are not in the image.
                (self.web_pages == "on", "WEB_PAGES=off or auto (the pages are for local use)"),
            )
            if broken
        ]
        if unsafe:
            raise ValueError(f"APP_ENV=aws requires {'; '.join(unsafe)}")
        return self

    @property
    def issuer(self) -> str:
        """The `iss` of the pool's tokens: always the AWS form, even when served by moto."""
        return (
            self.token_issuer
            or f"https://cognito-idp.{self.aws_region}.amazonaws.com/{self.user_pool_id}"
        )

    @property
    def jwks(self) -> str:
        """Where the pool's signing keys are served (the local endpoint when one is set)."""
        if self.jwks_url:
            return self.jwks_url
        base = self.aws_endpoint_url or f"https://cognito-idp.{self.aws_region}.amazonaws.com"
        return f"{base.rstrip('/')}/{self.user_pool_id}/.well-known/jwks.json"

    @property
    def json_logs(self) -> bool:
        """JSON lines in AWS (or when asked), human-readable text on the local stack."""
        return self.log_format == "json" or (self.log_format == "auto" and not self.is_local)

    @property
    def cors_origins(self) -> list[str]:
        """Origins allowed to call the API from a browser (the frontend's, locally)."""
        origins = [o.strip().rstrip("/") for o in self.cors_allowed_origins.split(",")]
        origins = [o for o in origins if o]
        if not origins and self.is_local:
            scheme, _, rest = self.ui_base_url.partition("://")
            origins = [f"{scheme}://{rest.split('/', 1)[0]}"]
        return origins

    @property
    def cors_headers(self) -> list[str]:
        """Request headers a browser may send cross-origin."""
        return [h.strip() for h in self.cors_allowed_headers.split(",") if h.strip()]

    @property
    def metrics_host(self) -> str:
        """Metrics listen on loopback locally; in AWS on the task's own interfaces only."""
        return LOCAL_HOST if self.is_local else "0.0.0.0"  # noqa: S104 - port not published

    @property
    def web_pages_enabled(self) -> bool:
        """Whether the service serves its reference pages (on by default only locally)."""
        return self.web_pages == "on" or (self.web_pages == "auto" and self.is_local)

    @property
    def floors_enabled(self) -> bool:
        """Whether response-time floors are applied."""
        return self.response_floors == "on"

    @property
    def ip_limits_enabled(self) -> bool:
        """Whether per-IP rate limits are enforced."""
        return self.ip_rate_limits == "on"

    @property
    def is_local(self) -> bool:
        """Whether the service runs on the embedded local AWS stack."""
        return self.app_env == "local"


def invalid_settings(error: ValidationError) -> str:
    """One line for settings that failed: the first error's place and message, never its input."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "settings"
    return f"invalid settings: {where}: {first.get('msg', 'invalid')}"
