"""One ASGI middleware that gives every response, API and web alike, the browser-side security
headers. `grants serve` wraps whatever it serves with it (the combined app, `--only api`,
`--only web`; see service/cli.py).

A header the response already has is left as it is: the web app sends its own strict CSP for
its pages, the API docs theirs, file downloads `default-src 'none'; sandbox`."""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""For responses without a CSP of their own (JSON, problems, files): nothing may load or run."""
HSTS = "max-age=63072000; includeSubDomains"
"""Two years, subdomains too; sent only over HTTPS (a browser ignores it over HTTP anyway)."""

BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", DEFAULT_CSP.encode()),
)


class SecurityHeadersMiddleware:
    """Adds `BASE_HEADERS` (each unless present) and, when the request came over HTTPS or the
    public address is HTTPS (TLS ended at a proxy), `Strict-Transport-Security`."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # lifespan scopes pass too
            await self.app(scope, receive, send)
            return
        extra = list(BASE_HEADERS)
        if self.https or scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
