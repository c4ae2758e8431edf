"""Rows to response types: the one way a table row (or any object) becomes a contracts ``…Read``.

Policy:

- ``to_read(XRead, row, **fields)`` converts with msgspec's ``from_attributes``: every field of
  ``XRead`` is read from the attribute of the same name on ``row``, converted and validated as
  msgspec does for a request body (a stored ``str`` becomes the contract's enum, a JSONB list a
  ``list``, a value outside the contract's constraints raises instead of being sent).
- A field that is not an attribute of the row, or whose value is computed (a text in every
  language through ``service.i18n.i18n``, a count, a nested list, a name from a joined row), is
  passed as a keyword: keywords win over the row's attributes.
- No hand-written ``XRead(id=row.id, …)`` that copies attributes one by one; a response type built
  only from computed values (a summary, a total) is still constructed directly.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)


class _Overlay:
    """The row's attributes with the given keywords laid over them."""

    __slots__ = ("_fields", "_obj")

    def __init__(self, obj: object, fields: dict[str, Any]) -> None:
        self._obj = obj
        self._fields = fields

    def __getattr__(self, name: str) -> Any:
        fields = object.__getattribute__(self, "_fields")
        if name in fields:
            return fields[name]
        return getattr(object.__getattribute__(self, "_obj"), name)


def to_read(type_: type[T], obj: object, /, **fields: Any) -> T:
    """``type_`` from ``obj``'s attributes, with ``fields`` given explicitly taking precedence."""
    source: object = _Overlay(obj, fields) if fields else obj
    return msgspec.convert(source, type_, from_attributes=True)
