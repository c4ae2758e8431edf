"""The applicant after the decision: feedback, grants, tranches and reports."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
