"""Browser-facing protections as plain ASGI: security headers on every response, Secure cookies behind TLS,
optional API documentation, and the one rule for which origins may use a signed-in browser's cookie."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = "; ".join((
    "default-src 'self'",
    # NiceGUI renders its page state as an inline script and Vue compiles the element templates in the browser.
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
"""The Content-Security-Policy of the pages: nothing from other origins, no framing, no plugins."""

DOCS_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
    "img-src 'self' data: https://fastapi.tiangolo.com",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
))
"""/docs and /redoc load Swagger UI and ReDoc from their CDN."""

DOC_PATHS = ("/docs", "/redoc", "/openapi.json")
HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Adds CSP, X-Frame-Options, X-Content-Type-Options and Referrer-Policy to every HTTP response, and behind TLS
    (the request's scheme is https, directly or through a trusted proxy) HSTS and the Secure flag on cookies."""

    def __init__(self, app: ASGIApp, *, docs_public: bool = True) -> None:
        self.app = app
        self.docs_public = docs_public
        self.common = [
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        docs = path.startswith(DOC_PATHS)
        if docs and not self.docs_public:
            await _not_found(send)
            return
        policy = (DOCS_POLICY if docs else PAGE_POLICY).encode()
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [(b"content-security-policy", policy), *self.common]
                if secure:
                    extra.append((b"strict-transport-security", HSTS))
                    headers = [(n, _secure_cookie(v) if n.lower() == b"set-cookie" else v) for n, v in headers]
                headers.extend((name, value) for name, value in extra if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class OriginPolicy:
    """Which origins may use a signed-in browser's cookie: the app's own (as the browser reached it) and those
    configured in ALLOWED_ORIGINS. A request without an Origin header is not a browser page's and passes."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = frozenset(o.rstrip("/").lower() for o in allowed)

    def allows(self, origin: str | None, *, scheme: str, host: str | None) -> bool:
        if not origin:
            return True
        origin = origin.rstrip("/").lower()
        if origin in self.allowed:
            return True
        if not host:
            return False
        own = {f"{scheme}://{host}".lower()}
        if scheme in ("ws", "wss"):  # a WebSocket handshake reports ws/wss; the page itself was http/https
            own.add(f"{'https' if scheme == 'wss' else 'http'}://{host}".lower())
        return origin in own

    def allows_scope(self, scope: Scope) -> bool:
        """For an ASGI http or websocket scope."""
        headers = _headers(scope.get("headers", ()))
        return self.allows(headers.get("origin"), scheme=str(scope.get("scheme", "http")), host=headers.get("host"))

    def for_engineio(self, origin: str | None, environ: Mapping[str, Any]) -> bool:
        """The `cors_allowed_origins` callable of NiceGUI's socket.io server (engine.io passes a WSGI-like environ)."""
        scheme = str(environ.get("wsgi.url_scheme", "http"))
        return self.allows(origin, scheme=scheme, host=environ.get("HTTP_HOST"))


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}


def _secure_cookie(value: bytes) -> bytes:
    attributes = {part.strip().lower() for part in value.split(b";")[1:]}
    return value if b"secure" in attributes else value + b"; Secure"


async def _not_found(send: Send) -> None:
    body = b'{"detail":"the API documentation is not served here (DOCS_PUBLIC=false)"}'
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
