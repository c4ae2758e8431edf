"""Forms: reading posted fields, and turning the API's problem details into messages per field.

The API says what is wrong (`errors: [{field: "body.organisation.name", message: …}]`); the form
shows each message next to its field and in a summary at the top, in the person's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.client import ApiError
from web.i18n import _

# msgspec's and the service's messages → words for people, in their language.
_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"^This password is too easy to guess"),
        lambda m: _(
            "This password is too easy to guess. Use a few uncommon words, "
            "not your name or e-mail address."
        ),
    ),
    (re.compile(r"^The password is wrong$"), lambda m: _("The password is wrong.")),
    (
        re.compile(r"Expected `str` of length >= (\d+)"),
        lambda m: _("Enter at least %(n)s characters.") % {"n": m.group(1)},
    ),
    (
        re.compile(r"Expected `str` of length <= (\d+)"),
        lambda m: _("Enter at most %(n)s characters.") % {"n": m.group(1)},
    ),
    (
        re.compile(r"Expected `str` matching regex"),
        lambda m: _("This value is not in the expected format."),
    ),
    (re.compile(r"Expected `int` >= 1"), lambda m: _("Enter an amount greater than zero.")),
    (re.compile(r"Expected `int` >= 0"), lambda m: _("Enter zero or a positive number.")),
    (
        re.compile(r"Expected `int` <= (\d+)"),
        lambda m: _("Enter a number no greater than %(n)s.") % {"n": m.group(1)},
    ),
    (re.compile(r"Expected `int`"), lambda m: _("Enter a whole number.")),
    (re.compile(r"Object missing required field"), lambda m: _("This field is required.")),
    (re.compile(r"Invalid enum value"), lambda m: _("Choose one of the options.")),
    (re.compile(r"Invalid UUID"), lambda m: _("Choose one of the options.")),
    (re.compile(r"Expected `array` of length <= (\d+)"), lambda m: _("Too many entries.")),
]


def humane(message: str) -> str:
    for pattern, words in _PATTERNS:
        match = pattern.search(message)
        if match:
            return words(match)
    return message


@dataclass
class FormErrors:
    """Messages by form field name, and those that belong to no field."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str | None, message: str) -> None:
        if name:
            self.fields.setdefault(name, []).append(message)
        else:
            self.general.append(message)

    def get(self, name: str) -> list[str]:
        return self.fields.get(name, [])


def _field_path(api_field: str) -> str:
    """`body.organisation.name` / `$.organisation.name` / `organisation.name` → that path."""
    path = api_field
    for prefix in ("body.", "$."):
        if path.startswith(prefix):
            path = path[len(prefix) :]
    path = re.sub(r"^body$", "", path)
    return path


_AT = re.compile(r" - at `\$\.?([^`]*)`")


def from_problem(exc: ApiError, field_names: Mapping[str, str] | None = None) -> FormErrors:
    """The API's problem as form errors. `field_names` maps an API field path (e.g.
    `organisation.name`) to the form field's name when they differ; unknown paths go to the
    summary with the message."""
    names = dict(field_names or {})
    errors = FormErrors()
    issues = exc.problem.errors or []
    for issue in issues:
        raw = issue.message
        path = _field_path(issue.field)
        at = _AT.search(raw)
        if at:
            path = at.group(1) or path
            raw = _AT.sub("", raw)
        path = re.sub(r"\[(\d+)\]", r".\1", path)
        errors.add(names.get(path, path) or None, humane(raw))
    if not issues:
        errors.add(None, humane(exc.problem.detail or exc.problem.title))
    return errors


def text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def optional(form: Mapping[str, Any], name: str) -> str | None:
    value = text(form, name)
    return value or None


def checked(form: Mapping[str, Any], name: str) -> bool:
    return text(form, name) in {"on", "true", "1", "yes"}


def many(form: Any, name: str) -> list[str]:
    getall = getattr(form, "getall", None)
    if getall is not None:
        return [str(v) for v in getall(name, []) if str(v).strip()]
    value = form.get(name)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if str(v).strip()]
    return [str(value)] if str(value).strip() else []
