"""The reference pages (/register, /sign-in, ...): static files served beside the API.

They are not part of the OpenAPI contract: they call the API and Cognito from the browser
exactly as an outside frontend would. This middleware answers only their own paths and passes
everything else on, so the API keeps its own headers and policies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from core.config import Settings

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
# Third-party browser code, installed from the npm registry by `make web-deps`.
NODE_MODULES = WEB_DIR / "node_modules"
VENDOR_FILES = {"qrcode.mjs": NODE_MODULES / "qrcode-generator" / "dist" / "qrcode.mjs"}
ASSETS = "/assets/"
CONFIG_PATH = "/assets/config.json"
MEDIA_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


@dataclass(frozen=True)
class Page:
    """One page: its content file under web/pages, its title and its script module."""

    content: str
    title: str
    script: str


PAGES = {
    "/register": Page("register.html", "Register your account", "register.js"),
    "/sign-in": Page("sign-in.html", "Sign in", "sign-in.js"),
    "/account": Page("account.html", "Your account", "account.js"),
    "/account-recovery": Page("account-recovery.html", "Recover your account", "recovery.js"),
    "/account-recovery/verify": Page("verify.html", "Confirm account recovery", "verify.js"),
    "/account-recovery/not-me": Page("not-me.html", "It was not me", "not-me.js"),
}


def render_page(page: Page) -> bytes:
    """The layout around one page's content, with its partials included."""
    layout = (WEB_DIR / "layout.html").read_text()
    content = (WEB_DIR / "pages" / page.content).read_text()
    for partial in sorted((WEB_DIR / "partials").glob("*.html")):
        content = content.replace(f"{{{{{partial.stem}}}}}", partial.read_text())
    filled = (
        layout.replace("{{title}}", page.title)
        .replace("{{script}}", page.script)
        .replace("{{main}}", content)
    )
    return filled.encode()


def cognito_endpoint(settings: Settings) -> str:
    """Where browsers reach the pool's Cognito: the local stack's moto, or AWS's endpoint."""
    endpoint = (
        settings.aws_endpoint_url or f"https://cognito-idp.{settings.aws_region}.amazonaws.com"
    )
    return endpoint.rstrip("/") + "/"


def browser_config(settings: Settings) -> bytes:
    """What the pages need to call Cognito: the same pool and app client the API trusts."""
    return json.dumps(
        {
            "apiBaseUrl": "/v1",
            "cognitoEndpoint": cognito_endpoint(settings),
            "region": settings.aws_region,
            "userPoolClientId": settings.user_pool_client_id,
            # The local stack accepts any reCAPTCHA token but "fail"; a deployment that turns
            # the pages on must put a real reCAPTCHA widget in front of these forms.
            "recaptchaToken": "reference-pages",
        }
    ).encode()


def missing_vendor_files() -> list[str]:
    """Third-party files the pages need that `make web-deps` has not installed."""
    return [str(path) for path in VENDOR_FILES.values() if not path.is_file()]


def content_security_policy(settings: Settings) -> str:
    """Only our own scripts and styles; fetches to the API and to the pool's Cognito endpoint."""
    cognito = urlsplit(cognito_endpoint(settings))
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",  # the QR code is drawn as inline SVG elements
            f"connect-src 'self' {cognito.scheme}://{cognito.netloc}",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


class WebPagesMiddleware:
    """Answers GET and HEAD for the pages and their assets; everything else goes to the API."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.pages = {path: render_page(page) for path, page in PAGES.items()}
        self.config = browser_config(settings)
        self.policy = content_security_policy(settings).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        found = self._find(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        body, media_type = found
        headers = [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"content-security-policy", self.policy),
            # Pages and scripts change with each release; nothing in them is personal.
            (b"cache-control", b"no-cache"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    def _find(self, path: str) -> tuple[bytes, str] | None:
        if path in self.pages:
            return self.pages[path], "text/html; charset=utf-8"
        if path == CONFIG_PATH:
            return self.config, "application/json"
        if not path.startswith(ASSETS):
            return None
        file = _asset_file(path.removeprefix(ASSETS))
        if file is None:
            return None
        return file.read_bytes(), MEDIA_TYPES[file.suffix]


def _asset_file(name: str) -> Path | None:
    """A file of web/assets or a vendored module; never anything outside them."""
    if name.startswith("vendor/"):
        vendored = VENDOR_FILES.get(name.removeprefix("vendor/"))
        return vendored if vendored is not None and vendored.is_file() else None
    assets = (WEB_DIR / "assets").resolve()
    try:
        candidate = (assets / name).resolve()
        known = candidate.suffix in MEDIA_TYPES
        if known and candidate.is_relative_to(assets) and candidate.is_file():
            return candidate
    except (ValueError, OSError):  # a NUL byte, a name too long: no such file either way
        return None
    return None
