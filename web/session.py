"""The signed-in person: what the encrypted session cookie holds, and the API client acting as them.

The session (Litestar's client-side session: AES-GCM encrypted and authenticated cookie) carries
the API bearer token, its expiry, a few facts for the page header and the chosen language. Nothing
lives in process memory, so any worker or host with the same secret serves the next request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request

from contracts.client import GrantsClient
from contracts.identity import MeRead, TokenRead
from contracts.permissions import PCC_PROGRESS_STAFF

SESSION_USER = "user"
SESSION_LANG = "lang"
SESSION_FLASH = "flash"


@dataclass(frozen=True, slots=True)
class SessionUser:
    token: str
    expires_at: datetime
    id: uuid.UUID
    email: str
    name: str
    roles: tuple[str, ...]
    organisations: tuple[tuple[uuid.UUID, str], ...]

    @property
    def is_applicant(self) -> bool:
        return bool(self.organisations)

    @property
    def is_reviewer(self) -> bool:
        return "reviewer" in self.roles

    @property
    def is_officer(self) -> bool:
        return "programme_officer" in self.roles

    @property
    def is_finance(self) -> bool:
        return "finance_officer" in self.roles

    @property
    def is_auditor(self) -> bool:
        return "auditor" in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def reads_every_pcc_progress(self) -> bool:
        """Every PCC's action-plan progress (`can_read_pcc_progress`): programme and finance
        officers and auditors, not administrators (a PCC's members read their own only)."""
        return any(role in PCC_PROGRESS_STAFF for role in self.roles)

    @property
    def expired(self) -> bool:
        return datetime.now(UTC) >= self.expires_at

    def to_session(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "expires_at": self.expires_at.isoformat(),
            "id": str(self.id),
            "email": self.email,
            "name": self.name,
            "roles": list(self.roles),
            "orgs": [[str(oid), name] for oid, name in self.organisations],
        }

    @classmethod
    def from_session(cls, data: Any) -> SessionUser | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                token=str(data["token"]),
                expires_at=datetime.fromisoformat(str(data["expires_at"])),
                id=uuid.UUID(str(data["id"])),
                email=str(data["email"]),
                name=str(data["name"]),
                roles=tuple(str(r) for r in data.get("roles", [])),
                organisations=tuple((uuid.UUID(str(o)), str(n)) for o, n in data.get("orgs", [])),
            )
        except (KeyError, TypeError, ValueError):
            return None

    @classmethod
    def from_me(cls, token: TokenRead, me: MeRead) -> SessionUser:
        return cls(
            token=token.access_token,
            expires_at=token.expires_at,
            id=me.id,
            email=me.email,
            name=me.full_name,
            roles=tuple(str(r) for r in me.roles),
            organisations=tuple((m.organisation_id, m.organisation_name) for m in me.memberships),
        )


def _session(request: Request[Any, Any, Any]) -> dict[str, Any]:
    if "session" not in request.scope:
        return {}
    session = request.session
    return session if isinstance(session, dict) else {}


def current_user(request: Request[Any, Any, Any]) -> SessionUser | None:
    user = SessionUser.from_session(_session(request).get(SESSION_USER))
    if user is None or user.expired:
        return None
    return user


def had_session(request: Request[Any, Any, Any]) -> bool:
    """True when the cookie still names a person whose token has expired."""
    return SessionUser.from_session(_session(request).get(SESSION_USER)) is not None


def sign_in(request: Request[Any, Any, Any], user: SessionUser, lang: str | None) -> None:
    flashes = _session(request).get(SESSION_FLASH, [])
    data: dict[str, Any] = {SESSION_USER: user.to_session(), SESSION_FLASH: flashes}
    if lang:
        data[SESSION_LANG] = lang
    request.set_session(data)


def sign_out(request: Request[Any, Any, Any]) -> None:
    lang = _session(request).get(SESSION_LANG)
    request.set_session({SESSION_LANG: lang} if lang else {})


def keep(request: Request[Any, Any, Any], key: str, value: dict[str, Any] | None) -> None:
    """Hold a step of a form between requests, in the encrypted session (None forgets it).
    Signing in or out forgets everything held."""
    data = dict(_session(request))
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value
    request.set_session(data)


def kept(request: Request[Any, Any, Any], key: str) -> dict[str, Any] | None:
    value = _session(request).get(key)
    return value if isinstance(value, dict) else None


def session_language(request: Request[Any, Any, Any]) -> str | None:
    lang = _session(request).get(SESSION_LANG)
    return lang if isinstance(lang, str) else None


def remember_language(request: Request[Any, Any, Any], lang: str) -> None:
    data = dict(_session(request))
    data[SESSION_LANG] = lang
    request.set_session(data)


def flash(request: Request[Any, Any, Any], message: str, kind: str = "info") -> None:
    """A message shown once, on the next page rendered for this person."""
    data = dict(_session(request))
    data[SESSION_FLASH] = [*data.get(SESSION_FLASH, []), [kind, message]]
    request.set_session(data)


def pop_flashes(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    data = _session(request)
    messages = data.get(SESSION_FLASH) or []
    if not messages:
        return []
    rest = dict(data)
    rest.pop(SESSION_FLASH, None)
    request.set_session(rest)
    return [(str(k), str(m)) for k, m in messages]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site (no scheme, no host, no `//`): never an open redirect."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def sign_in_url(next_path: str) -> str:
    return "/signin?next=" + quote(safe_next(next_path), safe="/")


def client_for(request: Request[Any, Any, Any]) -> GrantsClient:
    """The API client acting as the signed-in person (anonymous when nobody is)."""
    base: GrantsClient = request.app.state.client_factory()
    user = current_user(request)
    client = base.as_user(user.token if user else None)
    rid = request.headers.get("x-request-id")
    if rid:
        client.request_id = rid
    # The API throttles sign-ins per address: pass the visitor's on, as a proxy does (the API
    # believes it only from its trusted proxies, `GRANTS_TRUSTED_PROXIES`).
    hops = [request.headers.get("x-forwarded-for"), request.client.host if request.client else None]
    client.forwarded_for = ", ".join(h for h in hops if h) or None
    return client
