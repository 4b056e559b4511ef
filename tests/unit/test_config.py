"""Settings come from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.config import Settings

PRODUCTION = {
    "APP_ENV": "aws",
    "RECAPTCHA_SECRET": "6Lc-test-secret",
    "USER_POOL_ID": "us-east-1_AbCdEf123",
    "USER_POOL_CLIENT_ID": "4v1a2b3c4d5e6f7g8h9i0j",
    "MAIL_BACKEND": "ses",
    "UI_BASE_URL": "https://app.example.test",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment holding none of the service's variables."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_local_needs_nothing_from_the_environment(environment: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert (settings.app_env, settings.is_local) == ("local", True)
    assert settings.recaptcha_secret is None
    assert (settings.floors_enabled, settings.ip_limits_enabled) == (True, True)


def test_aws_with_every_secret_starts(environment: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        environment.setenv(name, value)
    settings = Settings()
    assert settings.is_local is False
    assert settings.recaptcha_secret is not None
    assert settings.recaptcha_secret.get_secret_value() == "6Lc-test-secret"
    assert "6Lc-test-secret" not in repr(settings)


def test_aws_without_the_recaptcha_secret_fails_naming_it(
    environment: pytest.MonkeyPatch,
) -> None:
    # Given production settings without RECAPTCHA_SECRET
    for name, value in PRODUCTION.items():
        if name != "RECAPTCHA_SECRET":
            environment.setenv(name, value)
    # When the settings are loaded, the error names that variable and only it
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert "APP_ENV=aws requires RECAPTCHA_SECRET to be set in the environment" in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value", "requirement"),
    [
        ("MAIL_BACKEND", "outbox", "MAIL_BACKEND=ses"),
        ("UI_BASE_URL", "http://app.example.test", "UI_BASE_URL on https://"),
        ("RESPONSE_FLOORS", "off", "RESPONSE_FLOORS=on"),
        ("IP_RATE_LIMITS", "off", "IP_RATE_LIMITS=on"),
    ],
)
def test_aws_refuses_a_setting_that_would_weaken_it(
    environment: pytest.MonkeyPatch, name: str, value: str, requirement: str
) -> None:
    # Given complete production settings but one unsafe value
    for key, good in PRODUCTION.items():
        environment.setenv(key, good)
    environment.setenv(name, value)
    # When they are loaded, start-up fails naming what is required
    with pytest.raises(ValidationError, match=re.escape(requirement)):
        Settings()


def test_aws_with_nothing_names_every_missing_variable(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("APP_ENV", "aws")
    environment.setenv("RECAPTCHA_SECRET", "")
    with pytest.raises(
        ValidationError,
        match="requires RECAPTCHA_SECRET, USER_POOL_ID, USER_POOL_CLIENT_ID to be set",
    ):
        Settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_ENV", "production"),
        ("RECOVERY_TOKEN_TTL_SECONDS", "30"),
        ("CLAIM_LEASE_SECONDS", "601"),
        ("PORT", "0"),
        ("RESPONSE_FLOORS", "maybe"),
    ],
)
def test_out_of_range_values_are_refused(
    name: str, value: str, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv(name, value)
    with pytest.raises(ValidationError, match=name.lower()):
        Settings()


def test_variables_are_read_case_insensitively_and_typed(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environment.setenv("recovery_verify_limit", "5")
    environment.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    environment.setenv("IP_RATE_LIMITS", "off")
    settings = Settings()
    assert settings.recovery_verify_limit == 5
    assert settings.outbox_dir == tmp_path / "outbox"
    assert settings.ip_limits_enabled is False


def test_frontend_settings_are_read_from_json_and_lists(environment: pytest.MonkeyPatch) -> None:
    # Given the settings README gives for CompactConnect's frontend
    environment.setenv("CORS_ALLOWED_HEADERS", "Authorization, Cache-Control,,X-Custom")
    environment.setenv("EMAIL_LINK_STYLE", "compactconnect")
    environment.setenv("EMAIL_LINK_TEMPLATES", '{"account_recovery": "{ui}/Start"}')
    environment.setenv("LIVE_JURISDICTIONS", '{"aslp": ["oh", "ky"], "coun": []}')

    # When they are read
    settings = Settings()

    # Then each is typed as the service uses it
    assert settings.cors_headers == ["Authorization", "Cache-Control", "X-Custom"]
    assert settings.email_link_style == "compactconnect"
    assert settings.email_link_templates == {"account_recovery": "{ui}/Start"}
    assert settings.live_jurisdictions == {"aslp": ["oh", "ky"], "coun": []}


def test_the_default_cors_headers_are_what_browser_frontends_send(
    environment: pytest.MonkeyPatch,
) -> None:
    assert Settings().cors_headers == [
        "Authorization",
        "Cache-Control",
        "Content-Type",
        "X-Request-Id",
    ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LIVE_JURISDICTIONS", '{"nope": ["oh"]}', "unknown compact: 'nope'"),
        ("LIVE_JURISDICTIONS", '{"aslp": ["OH", "ohio"]}', "not postal codes: ['OH', 'ohio']"),
        ("EMAIL_LINK_TEMPLATES", '{"verify": "{ui}/v"}', "unknown email link kind(s): verify"),
        ("EMAIL_LINK_TEMPLATES", '{"sign_in": "{ui}/{token}"}', "unknown placeholder(s): token"),
        ("EMAIL_LINK_STYLE", "hash", "email_link_style"),
    ],
)
def test_unusable_frontend_settings_stop_start_up_naming_the_fault(
    name: str, value: str, message: str, environment: pytest.MonkeyPatch
) -> None:
    environment.setenv(name, value)
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings()


def test_local_links_and_pages_default_to_the_service_itself(
    environment: pytest.MonkeyPatch,
) -> None:
    # Given the local stack on port 8123 and no UI_BASE_URL
    environment.setenv("PORT", "8123")
    settings = Settings()
    # Then emailed links open the service's own reference pages, which are served
    assert settings.ui_base_url == "http://127.0.0.1:8123"
    assert settings.cors_origins == ["http://127.0.0.1:8123"]
    assert (settings.web_pages, settings.web_pages_enabled) == ("auto", True)


def test_an_explicit_frontend_and_web_pages_off_are_kept(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("UI_BASE_URL", "http://127.0.0.1:3000")
    environment.setenv("WEB_PAGES", "off")
    settings = Settings()
    assert (settings.ui_base_url, settings.web_pages_enabled) == ("http://127.0.0.1:3000", False)


def test_aws_serves_no_pages_and_refuses_to_start_with_them(
    environment: pytest.MonkeyPatch,
) -> None:
    # (the pages send a fixed reCAPTCHA token, and the image holds no web/ folder)
    for name, value in PRODUCTION.items():
        environment.setenv(name, value)
    assert Settings().web_pages_enabled is False
    environment.setenv("WEB_PAGES", "on")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert "WEB_PAGES=off or auto" in str(raised.value)


def test_aws_without_ui_base_url_fails_naming_it(environment: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        if name != "UI_BASE_URL":
            environment.setenv(name, value)
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert "UI_BASE_URL on https://" in str(raised.value)
