"""The API's operations read from the app itself, so that tests cover every route (a new route is
covered without editing a list)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    """With its path parameters filled in (an unknown id for each `uuid` parameter)."""
    handler: HTTPRouteHandler

    @property
    def secured(self) -> bool:
        return bool(self.handler.resolve_security())

    @property
    def body_type(self) -> Any:
        """The type of the JSON body the operation takes, or None (no body, or a file upload)."""
        data = self.handler.parsed_fn_signature.parameters.get("data")
        if data is None:
            return None
        kwarg = data.kwarg_definition
        if isinstance(kwarg, BodyKwarg) and kwarg.media_type != RequestEncodingType.JSON:
            return None
        return data.annotation


def _fill(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        kind = match.group(2)
        if kind == "uuid":
            return UNKNOWN_ID
        if kind == "int":
            return "1"
        return "x"

    return re.sub(r"\{(\w+):(\w+)\}", value, path)


def api_operations(app: Litestar) -> list[Operation]:
    """Every operation of the contract (under /api/v1), one per (method, route)."""
    found: list[Operation] = []
    for route in app.routes:
        if not route.path.startswith("/api/v1/"):
            continue
        for handler in getattr(route, "route_handlers", ()):
            if handler.include_in_schema is False or not isinstance(handler, HTTPRouteHandler):
                continue
            for method in sorted(handler.http_methods):
                found.append(
                    Operation(str(handler.operation_id), method, _fill(route.path), handler)
                )
    return sorted(found, key=lambda op: (op.path, op.method))


def json_operations(app: Litestar) -> list[Operation]:
    return [op for op in api_operations(app) if op.body_type is not None]


def random_id() -> str:
    return str(uuid.uuid4())
