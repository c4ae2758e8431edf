"""What the web app needs to know of its deployment; the launcher fills it (web reads no env)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebConfig:
    session_secret: bytes
    """32 bytes shared by every worker and host serving the web: it encrypts and signs the
    session cookie (AES-GCM) and keys the CSRF tokens."""
    secure_cookies: bool = False
    """Secure cookies (HTTPS). In production the cookies also take the `__Host-` prefix."""
    production: bool = False
    session_max_age: int = 12 * 3600
    """Seconds a session cookie lives; the API token inside it may expire earlier."""

    def __post_init__(self) -> None:
        if len(self.session_secret) != 32:
            raise ValueError("the web session secret must be 32 bytes")

    @property
    def cookie_prefix(self) -> str:
        return "__Host-" if self.production and self.secure_cookies else ""
