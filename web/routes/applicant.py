"""The applicant: dashboard, proposal editor, submission, receipt, withdrawal."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
