"""The reference pages beside the API: their paths, their own policy, nothing else served."""

from __future__ import annotations

import json

import pytest

from core.config import Settings
from handlers.web_pages import PAGES

# Pages and assets are read from disk and settings: nothing here writes to AWS.
pytestmark = pytest.mark.shared_aws

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self' https://cognito-idp.us-east-1.amazonaws.com; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


@pytest.mark.parametrize(("path", "page"), PAGES.items())
def test_each_page_is_html_with_its_own_module_and_policy(client, path, page):
    answer = client.get(path)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["content-security-policy"] == PAGE_POLICY
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert f"<title>{page.title} · Provider accounts</title>" in answer.text
    assert f'<script type="module" src="/assets/js/{page.script}"></script>' in answer.text
    assert "{{" not in answer.text  # every placeholder and partial was filled in
    assert client.get(f"/assets/js/{page.script}").headers["content-type"] == "text/javascript"


def test_the_browser_config_names_the_pool_the_api_trusts(client, aws: Settings):
    answer = client.get("/assets/config.json")

    assert answer.status_code == 200
    assert json.loads(answer.content) == {
        "apiBaseUrl": "/v1",
        "cognitoEndpoint": "https://cognito-idp.us-east-1.amazonaws.com/",
        "region": "us-east-1",
        "userPoolClientId": aws.user_pool_client_id,
        "recaptchaToken": "reference-pages",
    }


def test_the_qr_encoder_comes_from_the_installed_npm_package(client):
    answer = client.get("/assets/vendor/qrcode.mjs")

    assert (answer.status_code, answer.headers["content-type"]) == (200, "text/javascript")
    assert "export default qrcode;" in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/assets/%2e%2e/%2e%2e/core/config.py",
        "/assets/../layout.html",
        "/assets/vendor/axe.min.js",
        "/assets/js/missing.js",
        "/assets/a%00.css",  # a NUL byte, which the file system refuses outright
        "/assets/" + "a" * 300 + ".css",  # a name longer than the file system allows
        "/assets/" + "a" * 300 + "/x.css",
        "/register/",
        "/",
    ],
)
def test_nothing_outside_the_pages_and_their_assets_is_served(client, path):
    answer = client.get(path)

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 404
    assert "content-security-policy" not in answer.headers


def test_pages_answer_only_get_and_head(client):
    head = client.head("/sign-in")

    assert (head.status_code, head.content) == (200, b"")
    assert client.post("/sign-in").status_code in (404, 405)


def test_api_answers_do_not_carry_the_page_policy(client):
    answer = client.get("/v1/health")

    assert answer.headers.get("content-security-policy") != PAGE_POLICY


def test_with_web_pages_off_no_page_is_served(aws: Settings):
    from handlers.app import create_app

    app = create_app(aws.model_copy(update={"web_pages": "off"}))
    with app.test_client() as client:
        assert client.get("/register").status_code == 404
        assert client.get("/assets/config.json").status_code == 404
