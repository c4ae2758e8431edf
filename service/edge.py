"""The HTTP edge's shared parameters: upload limits, the ``Idempotency-Key`` header, a currency.

The list parameters (``CursorQ``, ``LimitQ``) live beside the cursor scheme in
``service.pagination``.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import HeaderParameter, QueryParameter

from contracts.currencies import Iso4217Code
from service.idempotency import HEADER, KEY_PATTERN
from service.storage import MAX_FILE_BYTES

UPLOAD_BODY_LIMIT = MAX_FILE_BYTES + 1024 * 1024  # the file plus the multipart envelope

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        min_length=1,
        max_length=255,
        pattern=KEY_PATTERN,
        description="Optional: a retry with the same key replays the first answer (kept 24 h)",
    ),
]
"""An optional ``Idempotency-Key``: a retry with the same key replays the first answer."""

RequiredIdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name=HEADER,
        min_length=1,
        max_length=255,
        pattern=KEY_PATTERN,
        description="Required: a retry with the same key replays the first answer (kept 24 h);"
        " the same key with another payload is 422, while the first is in flight 409",
    ),
]
"""A required ``Idempotency-Key`` (paying a tranche)."""

CurrencyQ = Annotated[
    Iso4217Code,
    QueryParameter(
        description="ISO 4217 code of the grants to sum (the calls' currency), upper case, one"
        " CLDR knows (another is a 422)",
        default="KGS",
    ),
]
"""The ``currency`` query parameter of the money summaries (finance, transparency)."""
