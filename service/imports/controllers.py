"""HTTP routes of spreadsheet imports: a multipart upload in, an import report out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, QueryParameter

from contracts.common import Problem
from contracts.imports import ImportKind, ImportReport
from service import imports as service
from service.dependencies import Ctx, Session
from service.imports.reader import MAX_UPLOAD_BYTES
from service.openapi import USER, problems
from service.problems import PROBLEM_MEDIA_TYPE


@dataclass
class ImportUpload:
    """A spreadsheet: an Excel workbook (.xlsx, first sheet) or UTF-8 CSV, at most 5 MB."""

    file: UploadFile


UploadBody = Annotated[ImportUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
DryRunQ = Annotated[
    bool, QueryParameter(description="Check every row and report what would change; write nothing")
]
SkipInvalidQ = Annotated[
    bool, QueryParameter(description="Import the good rows and report the bad ones")
]

# The multipart envelope around a 5 MB file; the file itself is measured exactly.
BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )


RESPONSES: dict[int, ResponseSpec] = {
    **problems(401, 403),
    413: _problem("The file is larger than 5 MB (or unpacks to more than 100 MB)"),
    415: _problem("The file is neither an Excel workbook (.xlsx) nor UTF-8 CSV"),
    422: _problem(
        "Bad rows kept the file from being imported (nothing was written): each one is listed "
        "in `errors`, its field naming the row and column, e.g. `row 7: budget`"
    ),
}
RESPONSES = dict(sorted(RESPONSES.items()))


async def _content(upload: ImportUpload) -> bytes:
    try:
        return await upload.file.read(MAX_UPLOAD_BYTES + 1)  # one byte more tells "too large"
    finally:
        await upload.file.close()


class ImportController(Controller):
    path = "/imports"
    tags = ["imports"]
    security = USER

    @post(
        "/action-plans",
        operation_id="CreateActionPlanImport",
        status_code=200,
        responses=RESPONSES,
        request_max_body_size=BODY_LIMIT,
    )
    async def create_action_plan_import(
        self,
        data: UploadBody,
        session: Session,
        ctx: Ctx,
        dry_run: DryRunQ = False,
        skip_invalid: SkipInvalidQ = False,
    ) -> ImportReport:
        """Import PCC action plans, items and indicators (one row per item and indicator; see
        docs/imports.md). All or nothing: 200 with the report when the rows were imported (or,
        on a dry run, would be); 422 listing every bad row when they kept the import from
        happening. Re-importing the same file changes nothing."""
        content = await _content(data)
        return await service.upload(
            session,
            ctx,
            ImportKind.ACTION_PLANS,
            content,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
        )

    @post(
        "/organisations",
        operation_id="CreateOrganisationImport",
        status_code=200,
        responses=RESPONSES,
        request_max_body_size=BODY_LIMIT,
    )
    async def create_organisation_import(
        self,
        data: UploadBody,
        session: Session,
        ctx: Ctx,
        dry_run: DryRunQ = False,
        skip_invalid: SkipInvalidQ = False,
    ) -> ImportReport:
        """Import organisations, one per row, found again by registration number (see
        docs/imports.md). Answers as the action-plan import does."""
        content = await _content(data)
        return await service.upload(
            session,
            ctx,
            ImportKind.ORGANISATIONS,
            content,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
        )
