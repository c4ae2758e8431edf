"""The typed async client of the pcc-grants API (httpx + msgspec).

Used by the web frontend, by partner systems and by the tests. One method per operation, named
after its `operation_id` in snake case (`CreateToken` → `create_token`). Errors raise
:class:`ApiError` carrying the RFC 9457 problem.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
import msgspec

from contracts import audit as audit_c
from contracts import awards as awards_c
from contracts import calls as calls_c
from contracts import decisions as decisions_c
from contracts import documents as documents_c
from contracts import finance as finance_c
from contracts import identity as identity_c
from contracts import imports as imports_c
from contracts import notifications as notifications_c
from contracts import opendata as opendata_c
from contracts import pcc as pcc_c
from contracts import progress as progress_c
from contracts import proposals as proposals_c
from contracts import ranking as ranking_c
from contracts import reports as reports_c
from contracts import reviews as reviews_c
from contracts import selection as selection_c
from contracts import transparency as transparency_c
from contracts import webhooks as webhooks_c
from contracts.common import HealthRead, Problem
from contracts.enums import Language

T = TypeVar("T")

_ENCODER = msgspec.json.Encoder()
_SPREADSHEET_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}


class ApiError(Exception):
    """A non-2xx answer. `problem` is the parsed problem document."""

    def __init__(self, status: int, problem: Problem) -> None:
        super().__init__(f"{status} {problem.title}: {problem.detail}")
        self.status = status
        self.problem = problem

    @property
    def type(self) -> str:
        return self.problem.type


class GrantsClient:
    """Bind it to an API's `/api/v1` base URL, or to an ASGI app in-process (`transport`)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str | None = None,
        api_key: str | None = None,
        request_id: str | None = None,
        forwarded_for: str | None = None,
    ) -> None:
        self.http = http
        self.token = token
        self.api_key = api_key
        self.request_id = request_id
        self.forwarded_for = forwarded_for
        """`X-Forwarded-For` to send: a frontend passes on its visitor's address (the API
        believes it only from its trusted proxies; it throttles sign-ins per address)."""

    @classmethod
    def connect(
        cls,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> GrantsClient:
        return cls(httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout))

    def as_user(self, token: str | None) -> GrantsClient:
        """The same connection, acting with another bearer token."""
        return GrantsClient(
            self.http,
            token=token,
            request_id=self.request_id,
            forwarded_for=self.forwarded_for,
        )

    def as_partner(self, api_key: str) -> GrantsClient:
        return GrantsClient(
            self.http,
            api_key=api_key,
            request_id=self.request_id,
            forwarded_for=self.forwarded_for,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- plumbing --------------------------------------------------------------------------

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"accept": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        if self.api_key:
            headers["x-api-key"] = self.api_key
        if self.request_id:
            headers["x-request-id"] = self.request_id
        if self.forwarded_for:
            headers["x-forwarded-for"] = self.forwarded_for
        if extra:
            headers.update(extra)
        return headers

    async def request(
        self,
        method: str,
        path: str,
        response_type: type[T] | None,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> T:
        """One call: JSON `body`, or a multipart upload (`files` and `form` fields)."""
        content = None
        hdrs = self._headers(headers)
        if body is not None:
            content = _ENCODER.encode(body)
            hdrs["content-type"] = "application/json"
        clean: dict[str, str | list[str]] = {
            k: [str(x) for x in v] if isinstance(v, list) else str(v)
            for k, v in (params or {}).items()
            if v is not None
        }
        # Paths are relative to the API base (`…/api/v1/`); a leading slash means the server root.
        url: str | httpx.URL = path
        if path.startswith("/"):
            url = self.http.base_url.copy_with(path=path)
        resp = await self.http.request(
            method,
            url,
            content=content,
            params=clean,
            headers=hdrs,
            files=dict(files) if files else None,
            data=dict(form) if form else None,
        )
        return self._decode(resp, response_type)

    @staticmethod
    def _decode(resp: httpx.Response, response_type: type[T] | None) -> T:
        if resp.status_code >= 400:
            try:
                problem = msgspec.json.decode(resp.content, type=Problem)
            except msgspec.DecodeError:
                problem = Problem(
                    type="about:blank",
                    title=resp.reason_phrase,
                    status=resp.status_code,
                    detail=resp.text[:500],
                )
            raise ApiError(resp.status_code, problem)
        if response_type is None or resp.status_code == 204:
            return None  # type: ignore[return-value]  # callers asking for None get None
        return msgspec.json.decode(resp.content, type=response_type)

    # --- health ----------------------------------------------------------------------------

    async def get_liveness(self) -> HealthRead:
        return await self.request("GET", "/health/live", HealthRead)

    async def get_readiness(self) -> HealthRead:
        return await self.request("GET", "/health/ready", HealthRead)

    # --- identity --------------------------------------------------------------------------

    async def create_token(
        self,
        email: str,
        password: str,
        *,
        otp: str | None = None,
        recovery_code: str | None = None,
    ) -> identity_c.TokenRead:
        """Sign in; `otp` or `recovery_code` when the account has a second factor on (else 401
        `second-factor-required`)."""
        body = identity_c.TokenCreate(
            email=email, password=password, otp=otp, recovery_code=recovery_code
        )
        return await self.request("POST", "auth/token", identity_c.TokenRead, body=body)

    async def delete_token(self) -> None:
        await self.request("DELETE", "auth/token", None)

    async def create_registration(
        self, body: identity_c.RegistrationCreate
    ) -> identity_c.RegistrationRead:
        return await self.request(
            "POST", "auth/registrations", identity_c.RegistrationRead, body=body
        )

    async def get_me(self) -> identity_c.MeRead:
        return await self.request("GET", "users/me", identity_c.MeRead)

    async def update_me(self, body: identity_c.MeUpdate) -> identity_c.MeRead:
        return await self.request("PATCH", "users/me", identity_c.MeRead, body=body)

    async def create_password_change(self, body: identity_c.PasswordChange) -> None:
        await self.request("POST", "users/me/password", None, body=body)

    async def create_totp_enrolment(self) -> identity_c.TotpEnrolment:
        return await self.request("POST", "users/me/totp", identity_c.TotpEnrolment)

    async def create_totp_confirmation(
        self, body: identity_c.TotpConfirmation
    ) -> identity_c.RecoveryCodes:
        return await self.request(
            "POST", "users/me/totp/confirmation", identity_c.RecoveryCodes, body=body
        )

    async def create_totp_removal(self, body: identity_c.TotpRemoval) -> None:
        await self.request("POST", "users/me/totp/removal", None, body=body)

    async def create_recovery_codes(
        self, body: identity_c.RecoveryCodesCreate
    ) -> identity_c.RecoveryCodes:
        return await self.request(
            "POST", "users/me/recovery-codes", identity_c.RecoveryCodes, body=body
        )

    async def create_password_reset(
        self, user_id: uuid.UUID, body: identity_c.PasswordResetCreate
    ) -> identity_c.PasswordResetRead:
        return await self.request(
            "POST", f"users/{user_id}/password-reset", identity_c.PasswordResetRead, body=body
        )

    async def create_user(self, body: identity_c.UserCreate) -> identity_c.UserRead:
        return await self.request("POST", "users", identity_c.UserRead, body=body)

    async def list_users(
        self, *, q: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> identity_c.UserPage:
        return await self.request(
            "GET", "users", identity_c.UserPage, params={"q": q, "cursor": cursor, "limit": limit}
        )

    async def get_user(self, user_id: uuid.UUID) -> identity_c.UserRead:
        return await self.request("GET", f"users/{user_id}", identity_c.UserRead)

    async def update_user(
        self, user_id: uuid.UUID, body: identity_c.UserUpdate
    ) -> identity_c.UserRead:
        return await self.request("PATCH", f"users/{user_id}", identity_c.UserRead, body=body)

    async def create_organisation(
        self, body: identity_c.OrganisationCreate
    ) -> identity_c.OrganisationRead:
        return await self.request("POST", "organisations", identity_c.OrganisationRead, body=body)

    async def list_organisations(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> identity_c.OrganisationPage:
        return await self.request(
            "GET",
            "organisations",
            identity_c.OrganisationPage,
            params={"cursor": cursor, "limit": limit},
        )

    async def list_organisation_directory(
        self,
        *,
        territory_ids: list[uuid.UUID] | None = None,
        q: str | None = None,
        limit: int | None = None,
    ) -> identity_c.OrganisationDirectory:
        return await self.request(
            "GET",
            "organisations/directory",
            identity_c.OrganisationDirectory,
            params={
                "territory_id": list(territory_ids) if territory_ids else None,
                "q": q,
                "limit": limit,
            },
        )

    async def get_organisation(self, organisation_id: uuid.UUID) -> identity_c.OrganisationRead:
        return await self.request(
            "GET", f"organisations/{organisation_id}", identity_c.OrganisationRead
        )

    async def update_organisation(
        self, organisation_id: uuid.UUID, body: identity_c.OrganisationUpdate
    ) -> identity_c.OrganisationRead:
        return await self.request(
            "PATCH", f"organisations/{organisation_id}", identity_c.OrganisationRead, body=body
        )

    async def create_api_key(self, body: identity_c.ApiKeyCreate) -> identity_c.ApiKeyCreated:
        return await self.request("POST", "api-keys", identity_c.ApiKeyCreated, body=body)

    async def list_api_keys(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> identity_c.ApiKeyPage:
        return await self.request(
            "GET", "api-keys", identity_c.ApiKeyPage, params={"cursor": cursor, "limit": limit}
        )

    async def create_api_key_rotation(
        self, key_id: uuid.UUID, body: identity_c.ApiKeyRotationCreate
    ) -> identity_c.ApiKeyRotated:
        return await self.request(
            "POST", f"api-keys/{key_id}/rotations", identity_c.ApiKeyRotated, body=body
        )

    async def delete_api_key(self, key_id: uuid.UUID) -> None:
        await self.request("DELETE", f"api-keys/{key_id}", None)

    # --- territories, PCCs, action plans -----------------------------------------------------

    async def list_territories(self) -> pcc_c.TerritoryList:
        return await self.request("GET", "territories", pcc_c.TerritoryList)

    async def get_territory(self, territory_id: uuid.UUID) -> pcc_c.TerritoryRead:
        return await self.request("GET", f"territories/{territory_id}", pcc_c.TerritoryRead)

    async def list_pccs(self) -> list[pcc_c.PccRead]:
        return await self.request("GET", "pccs", list[pcc_c.PccRead])

    async def get_pcc(self, pcc_id: uuid.UUID) -> pcc_c.PccRead:
        return await self.request("GET", f"pccs/{pcc_id}", pcc_c.PccRead)

    async def list_my_pccs(self) -> list[pcc_c.PccRead]:
        """The PCCs the signed-in person is a member of."""
        return await self.request("GET", "pccs/mine", list[pcc_c.PccRead])

    async def get_pcc_progress(self, pcc_id: uuid.UUID) -> progress_c.PccProgress:
        """A PCC's action-plan progress: funding per item, money, indicators, gaps."""
        return await self.request("GET", f"pccs/{pcc_id}/progress", progress_c.PccProgress)

    async def list_action_plans(
        self,
        *,
        pcc_id: uuid.UUID | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> pcc_c.ActionPlanPage:
        return await self.request(
            "GET",
            "action-plans",
            pcc_c.ActionPlanPage,
            params={"pcc_id": pcc_id, "cursor": cursor, "limit": limit},
        )

    async def create_action_plan(self, body: pcc_c.ActionPlanCreate) -> pcc_c.ActionPlanRead:
        return await self.request("POST", "action-plans", pcc_c.ActionPlanRead, body=body)

    async def get_action_plan(self, plan_id: uuid.UUID) -> pcc_c.ActionPlanRead:
        return await self.request("GET", f"action-plans/{plan_id}", pcc_c.ActionPlanRead)

    async def update_action_plan(
        self, plan_id: uuid.UUID, body: pcc_c.ActionPlanUpdate
    ) -> pcc_c.ActionPlanRead:
        return await self.request(
            "PATCH", f"action-plans/{plan_id}", pcc_c.ActionPlanRead, body=body
        )

    async def delete_action_plan(self, plan_id: uuid.UUID) -> None:
        await self.request("DELETE", f"action-plans/{plan_id}", None)

    async def list_action_plan_items(self, plan_id: uuid.UUID) -> pcc_c.ActionPlanItemList:
        return await self.request("GET", f"action-plans/{plan_id}/items", pcc_c.ActionPlanItemList)

    async def create_action_plan_item(
        self, plan_id: uuid.UUID, body: pcc_c.ActionPlanItemCreate
    ) -> pcc_c.ActionPlanItemRead:
        return await self.request(
            "POST", f"action-plans/{plan_id}/items", pcc_c.ActionPlanItemRead, body=body
        )

    async def get_action_plan_item(self, item_id: uuid.UUID) -> pcc_c.ActionPlanItemRead:
        return await self.request("GET", f"action-plan-items/{item_id}", pcc_c.ActionPlanItemRead)

    async def update_action_plan_item(
        self, item_id: uuid.UUID, body: pcc_c.ActionPlanItemUpdate
    ) -> pcc_c.ActionPlanItemRead:
        return await self.request(
            "PATCH", f"action-plan-items/{item_id}", pcc_c.ActionPlanItemRead, body=body
        )

    async def delete_action_plan_item(self, item_id: uuid.UUID) -> None:
        await self.request("DELETE", f"action-plan-items/{item_id}", None)

    async def create_indicator(
        self, item_id: uuid.UUID, body: pcc_c.IndicatorCreate
    ) -> pcc_c.IndicatorRead:
        return await self.request(
            "POST", f"action-plan-items/{item_id}/indicators", pcc_c.IndicatorRead, body=body
        )

    async def update_indicator(
        self, item_id: uuid.UUID, indicator_id: uuid.UUID, body: pcc_c.IndicatorUpdate
    ) -> pcc_c.IndicatorRead:
        return await self.request(
            "PATCH",
            f"action-plan-items/{item_id}/indicators/{indicator_id}",
            pcc_c.IndicatorRead,
            body=body,
        )

    async def delete_indicator(self, item_id: uuid.UUID, indicator_id: uuid.UUID) -> None:
        await self.request("DELETE", f"action-plan-items/{item_id}/indicators/{indicator_id}", None)

    # --- finance ---------------------------------------------------------------------------

    async def list_funding_sources(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> finance_c.FundingSourcePage:
        return await self.request(
            "GET",
            "funding-sources",
            finance_c.FundingSourcePage,
            params={"cursor": cursor, "limit": limit},
        )

    async def create_funding_source(
        self, body: finance_c.FundingSourceCreate
    ) -> finance_c.FundingSourceRead:
        return await self.request("POST", "funding-sources", finance_c.FundingSourceRead, body=body)

    async def list_exchange_rates(
        self,
        *,
        currency: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> finance_c.ExchangeRatePage:
        return await self.request(
            "GET",
            "exchange-rates",
            finance_c.ExchangeRatePage,
            params={"currency": currency, "cursor": cursor, "limit": limit},
        )

    async def create_exchange_rate(
        self, body: finance_c.ExchangeRateCreate
    ) -> finance_c.ExchangeRateRead:
        return await self.request("POST", "exchange-rates", finance_c.ExchangeRateRead, body=body)

    async def get_funding_source(self, source_id: uuid.UUID) -> finance_c.FundingSourceRead:
        return await self.request(
            "GET", f"funding-sources/{source_id}", finance_c.FundingSourceRead
        )

    async def update_funding_source(
        self, source_id: uuid.UUID, body: finance_c.FundingSourceUpdate
    ) -> finance_c.FundingSourceRead:
        return await self.request(
            "PATCH", f"funding-sources/{source_id}", finance_c.FundingSourceRead, body=body
        )

    async def delete_funding_source(self, source_id: uuid.UUID) -> None:
        await self.request("DELETE", f"funding-sources/{source_id}", None)

    # --- calls, windows, eligibility ----------------------------------------------------------

    async def list_calls(
        self, *, status: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> calls_c.CallPage:
        return await self.request(
            "GET",
            "calls",
            calls_c.CallPage,
            params={"status": status, "cursor": cursor, "limit": limit},
        )

    async def create_call(self, body: calls_c.CallCreate) -> calls_c.CallRead:
        return await self.request("POST", "calls", calls_c.CallRead, body=body)

    async def get_call(self, call_id: uuid.UUID) -> calls_c.CallRead:
        return await self.request("GET", f"calls/{call_id}", calls_c.CallRead)

    async def update_call(self, call_id: uuid.UUID, body: calls_c.CallUpdate) -> calls_c.CallRead:
        return await self.request("PATCH", f"calls/{call_id}", calls_c.CallRead, body=body)

    async def create_call_transition(
        self, call_id: uuid.UUID, body: calls_c.CallTransition
    ) -> calls_c.CallRead:
        return await self.request(
            "POST", f"calls/{call_id}/transitions", calls_c.CallRead, body=body
        )

    async def create_window(
        self, call_id: uuid.UUID, body: calls_c.WindowCreate
    ) -> calls_c.WindowRead:
        return await self.request("POST", f"calls/{call_id}/windows", calls_c.WindowRead, body=body)

    async def get_window(self, window_id: uuid.UUID) -> calls_c.WindowRead:
        return await self.request("GET", f"windows/{window_id}", calls_c.WindowRead)

    async def update_window(
        self, window_id: uuid.UUID, body: calls_c.WindowUpdate
    ) -> calls_c.WindowRead:
        return await self.request("PATCH", f"windows/{window_id}", calls_c.WindowRead, body=body)

    async def update_window_rules(
        self, window_id: uuid.UUID, body: calls_c.RulesReplace
    ) -> calls_c.WindowRead:
        return await self.request(
            "PUT", f"windows/{window_id}/rules", calls_c.WindowRead, body=body
        )

    async def create_eligibility_check(
        self, window_id: uuid.UUID, body: calls_c.EligibilityCheck
    ) -> calls_c.EligibilityRead:
        return await self.request(
            "POST", f"windows/{window_id}/eligibility-check", calls_c.EligibilityRead, body=body
        )

    # --- proposals ---------------------------------------------------------------------------

    async def create_proposal(
        self, window_id: uuid.UUID, body: proposals_c.ProposalCreate
    ) -> proposals_c.ProposalRead:
        return await self.request(
            "POST", f"windows/{window_id}/proposals", proposals_c.ProposalRead, body=body
        )

    async def list_proposals(
        self,
        *,
        window_id: uuid.UUID | None = None,
        status: str | None = None,
        territory_id: uuid.UUID | None = None,
        organisation_kind: str | None = None,
        sort: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> proposals_c.ProposalPage:
        return await self.request(
            "GET",
            "proposals",
            proposals_c.ProposalPage,
            params={
                "window_id": window_id,
                "status": status,
                "territory_id": territory_id,
                "organisation_kind": organisation_kind,
                "sort": sort,
                "cursor": cursor,
                "limit": limit,
            },
        )

    async def get_proposal(self, proposal_id: uuid.UUID) -> proposals_c.ProposalRead:
        return await self.request("GET", f"proposals/{proposal_id}", proposals_c.ProposalRead)

    async def update_proposal(
        self, proposal_id: uuid.UUID, body: proposals_c.ProposalUpdate
    ) -> proposals_c.ProposalRead:
        return await self.request(
            "PATCH", f"proposals/{proposal_id}", proposals_c.ProposalRead, body=body
        )

    async def update_budget_lines(
        self, proposal_id: uuid.UUID, body: proposals_c.BudgetLinesReplace
    ) -> proposals_c.ProposalRead:
        return await self.request(
            "PUT", f"proposals/{proposal_id}/budget-lines", proposals_c.ProposalRead, body=body
        )

    async def create_submission(
        self,
        proposal_id: uuid.UUID,
        body: proposals_c.ProposalSubmit,
        idempotency_key: str | None = None,
    ) -> proposals_c.SubmissionReceipt:
        """With `idempotency_key`, a retry of the same submission replays the first answer."""
        return await self.request(
            "POST",
            f"proposals/{proposal_id}/submission",
            proposals_c.SubmissionReceipt,
            body=body,
            headers={"Idempotency-Key": idempotency_key} if idempotency_key is not None else None,
        )

    async def create_withdrawal(
        self, proposal_id: uuid.UUID, body: proposals_c.ProposalWithdraw
    ) -> proposals_c.ProposalRead:
        return await self.request(
            "POST", f"proposals/{proposal_id}/withdrawal", proposals_c.ProposalRead, body=body
        )

    async def create_eligibility_override(
        self, proposal_id: uuid.UUID, body: proposals_c.EligibilityOverride
    ) -> proposals_c.ProposalRead:
        return await self.request(
            "POST",
            f"proposals/{proposal_id}/eligibility-override",
            proposals_c.ProposalRead,
            body=body,
        )

    async def create_attachment(
        self, proposal_id: uuid.UUID, data: bytes, filename: str, kind: str = "other"
    ) -> proposals_c.AttachmentRead:
        return await self.request(
            "POST",
            f"proposals/{proposal_id}/attachments",
            proposals_c.AttachmentRead,
            files={"file": (filename, data, "application/octet-stream")},
            form={"kind": kind},
        )

    async def get_attachment_content(self, attachment_id: uuid.UUID) -> tuple[bytes, httpx.Headers]:
        """The file's bytes and the response headers (Content-Disposition etc.)."""
        resp = await self.http.get(f"attachments/{attachment_id}/content", headers=self._headers())
        self._decode(resp, None)
        return resp.content, resp.headers

    async def delete_attachment(self, attachment_id: uuid.UUID) -> None:
        await self.request("DELETE", f"attachments/{attachment_id}", None)

    # --- reviews -----------------------------------------------------------------------------

    async def update_window_rubric(
        self, window_id: uuid.UUID, body: reviews_c.RubricCreate
    ) -> reviews_c.RubricRead:
        return await self.request(
            "PUT", f"windows/{window_id}/rubric", reviews_c.RubricRead, body=body
        )

    async def get_rubric(self, rubric_id: uuid.UUID) -> reviews_c.RubricRead:
        return await self.request("GET", f"rubrics/{rubric_id}", reviews_c.RubricRead)

    async def update_panel(
        self, window_id: uuid.UUID, body: reviews_c.PanelReplace
    ) -> reviews_c.PanelRead:
        return await self.request(
            "PUT", f"windows/{window_id}/panel", reviews_c.PanelRead, body=body
        )

    async def create_assignments(
        self, window_id: uuid.UUID, body: reviews_c.AutoAssign
    ) -> reviews_c.AssignmentList:
        return await self.request(
            "POST", f"windows/{window_id}/assignments", reviews_c.AssignmentList, body=body
        )

    async def create_assignment_batch(
        self,
        window_id: uuid.UUID,
        body: reviews_c.AssignmentBatchCreate,
        idempotency_key: str | None = None,
    ) -> reviews_c.AssignmentList:
        """Many explicit assignments in one call, all or nothing. With `idempotency_key`, a
        retry replays the first answer."""
        return await self.request(
            "POST",
            f"windows/{window_id}/assignment-batch",
            reviews_c.AssignmentList,
            body=body,
            headers={"Idempotency-Key": idempotency_key} if idempotency_key is not None else None,
        )

    async def list_window_assignments(self, window_id: uuid.UUID) -> reviews_c.AssignmentList:
        return await self.request(
            "GET", f"windows/{window_id}/assignments", reviews_c.AssignmentList
        )

    async def list_conflicts(self, window_id: uuid.UUID) -> reviews_c.ConflictList:
        return await self.request("GET", f"windows/{window_id}/conflicts", reviews_c.ConflictList)

    async def get_panel(self, window_id: uuid.UUID) -> ranking_c.PanelBoardRead:
        return await self.request("GET", f"windows/{window_id}/panel", ranking_c.PanelBoardRead)

    async def create_reminder(
        self, window_id: uuid.UUID, body: ranking_c.ReminderCreate
    ) -> ranking_c.ReminderRead:
        return await self.request(
            "POST", f"windows/{window_id}/panel/reminders", ranking_c.ReminderRead, body=body
        )

    async def list_reminders(self) -> ranking_c.ReminderList:
        return await self.request("GET", "reminders", ranking_c.ReminderList)

    async def delete_assignment(self, assignment_id: uuid.UUID) -> None:
        await self.request("DELETE", f"assignments/{assignment_id}", None)

    async def get_window_ranking(self, window_id: uuid.UUID) -> ranking_c.WindowRankingRead:
        return await self.request(
            "GET", f"windows/{window_id}/ranking", ranking_c.WindowRankingRead
        )

    async def create_assignment(
        self, proposal_id: uuid.UUID, body: reviews_c.AssignmentCreate
    ) -> reviews_c.AssignmentRead:
        return await self.request(
            "POST", f"proposals/{proposal_id}/assignments", reviews_c.AssignmentRead, body=body
        )

    async def create_consensus_score(
        self, proposal_id: uuid.UUID, body: reviews_c.ConsensusCreate
    ) -> reviews_c.ConsensusRead:
        return await self.request(
            "POST", f"proposals/{proposal_id}/consensus-scores", reviews_c.ConsensusRead, body=body
        )

    async def list_proposal_reviews(self, proposal_id: uuid.UUID) -> reviews_c.ReviewList:
        return await self.request("GET", f"proposals/{proposal_id}/reviews", reviews_c.ReviewList)

    async def list_assignments(self) -> reviews_c.AssignmentList:
        return await self.request("GET", "assignments", reviews_c.AssignmentList)

    async def create_conflict(
        self, assignment_id: uuid.UUID, body: reviews_c.ConflictCreate
    ) -> reviews_c.ConflictRead:
        return await self.request(
            "POST", f"assignments/{assignment_id}/conflict", reviews_c.ConflictRead, body=body
        )

    async def create_no_conflict_declaration(
        self, assignment_id: uuid.UUID
    ) -> reviews_c.AssignmentRead:
        return await self.request(
            "POST", f"assignments/{assignment_id}/no-conflict-declaration", reviews_c.AssignmentRead
        )

    async def get_assigned_proposal(
        self, assignment_id: uuid.UUID
    ) -> reviews_c.ReviewerProposalView:
        return await self.request(
            "GET", f"assignments/{assignment_id}/proposal", reviews_c.ReviewerProposalView
        )

    async def get_assigned_attachment_content(
        self, assignment_id: uuid.UUID, attachment_id: uuid.UUID
    ) -> tuple[bytes, httpx.Headers]:
        resp = await self.http.get(
            f"assignments/{assignment_id}/attachments/{attachment_id}/content",
            headers=self._headers(),
        )
        self._decode(resp, None)
        return resp.content, resp.headers

    async def get_review(self, assignment_id: uuid.UUID) -> reviews_c.ReviewRead:
        return await self.request(
            "GET", f"assignments/{assignment_id}/review", reviews_c.ReviewRead
        )

    async def update_review(
        self, assignment_id: uuid.UUID, body: reviews_c.ReviewSave
    ) -> reviews_c.ReviewRead:
        return await self.request(
            "PUT", f"assignments/{assignment_id}/review", reviews_c.ReviewRead, body=body
        )

    async def create_review_submission(
        self, assignment_id: uuid.UUID, body: reviews_c.ReviewSubmit
    ) -> reviews_c.ReviewRead:
        return await self.request(
            "POST",
            f"assignments/{assignment_id}/review/submission",
            reviews_c.ReviewRead,
            body=body,
        )

    async def create_review_reopening(
        self, review_id: uuid.UUID, body: reviews_c.ReviewReopen
    ) -> reviews_c.ReviewRead:
        return await self.request(
            "POST", f"reviews/{review_id}/reopening", reviews_c.ReviewRead, body=body
        )

    # --- selection -----------------------------------------------------------------------------

    async def create_selection_run(
        self, window_id: uuid.UUID, body: selection_c.SelectionRunCreate
    ) -> selection_c.SelectionRunRead:
        return await self.request(
            "POST", f"windows/{window_id}/selection-runs", selection_c.SelectionRunRead, body=body
        )

    async def get_selection_run(self, run_id: uuid.UUID) -> selection_c.SelectionRunRead:
        return await self.request("GET", f"selection-runs/{run_id}", selection_c.SelectionRunRead)

    async def list_selection_runs(
        self, window_id: uuid.UUID
    ) -> list[selection_c.SelectionRunSummary]:
        """The window's runs, newest first, with who created, computed and approved each."""
        return await self.request(
            "GET", f"windows/{window_id}/selection-runs", list[selection_c.SelectionRunSummary]
        )

    async def create_selection_computation(self, run_id: uuid.UUID) -> selection_c.SelectionRunRead:
        return await self.request(
            "POST", f"selection-runs/{run_id}/computation", selection_c.SelectionRunRead
        )

    async def replay_selection_run(self, run_id: uuid.UUID) -> selection_c.ReplayRead:
        return await self.request("POST", f"selection-runs/{run_id}/replay", selection_c.ReplayRead)

    async def approve_selection_run(
        self, run_id: uuid.UUID, body: selection_c.SelectionRunTransition
    ) -> selection_c.SelectionRunRead:
        return await self.request(
            "POST", f"selection-runs/{run_id}/approval", selection_c.SelectionRunRead, body=body
        )

    async def create_decision(
        self, proposal_id: uuid.UUID, body: selection_c.DecisionCreate
    ) -> selection_c.DecisionRead:
        return await self.request(
            "POST", f"proposals/{proposal_id}/decisions", selection_c.DecisionRead, body=body
        )

    async def create_decision_change(
        self, proposal_id: uuid.UUID, body: selection_c.DecisionCreate
    ) -> selection_c.DecisionChangeRead:
        """Propose a change of decision after the selection's approval: pending until a second
        programme officer confirms it."""
        return await self.request(
            "POST",
            f"proposals/{proposal_id}/decision-changes",
            selection_c.DecisionChangeRead,
            body=body,
        )

    async def get_decision_change(self, change_id: uuid.UUID) -> selection_c.DecisionChangeRead:
        return await self.request(
            "GET", f"decision-changes/{change_id}", selection_c.DecisionChangeRead
        )

    async def create_decision_change_confirmation(
        self, change_id: uuid.UUID, body: selection_c.DecisionChangeTransition
    ) -> selection_c.DecisionChangeRead:
        return await self.request(
            "POST",
            f"decision-changes/{change_id}/confirmation",
            selection_c.DecisionChangeRead,
            body=body,
        )

    async def create_decision_change_rejection(
        self, change_id: uuid.UUID, body: selection_c.DecisionChangeTransition
    ) -> selection_c.DecisionChangeRead:
        return await self.request(
            "POST",
            f"decision-changes/{change_id}/rejection",
            selection_c.DecisionChangeRead,
            body=body,
        )

    async def list_decision_changes(
        self, window_id: uuid.UUID, *, status: str | None = None
    ) -> list[selection_c.DecisionChangeRead]:
        """The window's proposed changes of decision, newest first; `status` filters."""
        return await self.request(
            "GET",
            f"windows/{window_id}/decision-changes",
            list[selection_c.DecisionChangeRead],
            params={"status": status},
        )

    async def create_declination(
        self, proposal_id: uuid.UUID, body: selection_c.DeclineCreate
    ) -> selection_c.DecisionRead:
        return await self.request(
            "POST", f"proposals/{proposal_id}/declination", selection_c.DecisionRead, body=body
        )

    async def list_window_decisions(
        self, window_id: uuid.UUID
    ) -> list[decisions_c.DecisionHistoryEntry]:
        """Every decision on the window's proposals, oldest first (`current`: the one in force)."""
        return await self.request(
            "GET", f"windows/{window_id}/decisions", list[decisions_c.DecisionHistoryEntry]
        )

    async def get_feedback(self, proposal_id: uuid.UUID) -> selection_c.FeedbackRead:
        """The applicant gets 409 (type `selection.FEEDBACK_NOT_PUBLISHED`) until the window's
        feedback is published; staff read it any time."""
        return await self.request(
            "GET", f"proposals/{proposal_id}/feedback", selection_c.FeedbackRead
        )

    async def create_feedback_publication(
        self, window_id: uuid.UUID
    ) -> selection_c.FeedbackPublicationRead:
        """Publish the window's feedback to its applicants (after the approval; once)."""
        return await self.request(
            "POST", f"windows/{window_id}/feedback-publication", selection_c.FeedbackPublicationRead
        )

    async def get_feedback_publication(
        self, window_id: uuid.UUID
    ) -> selection_c.FeedbackPublicationRead:
        return await self.request(
            "GET", f"windows/{window_id}/feedback-publication", selection_c.FeedbackPublicationRead
        )

    # --- grants, tranches, the ledger -------------------------------------------------------

    async def create_grant(self, body: awards_c.GrantCreate) -> awards_c.GrantRead:
        return await self.request("POST", "grants", awards_c.GrantRead, body=body)

    async def list_grants(
        self,
        *,
        window_id: uuid.UUID | None = None,
        organisation_id: uuid.UUID | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> awards_c.GrantPage:
        return await self.request(
            "GET",
            "grants",
            awards_c.GrantPage,
            params={
                "window_id": window_id,
                "organisation_id": organisation_id,
                "status": status,
                "cursor": cursor,
                "limit": limit,
            },
        )

    async def get_grant(self, grant_id: uuid.UUID) -> awards_c.GrantRead:
        return await self.request("GET", f"grants/{grant_id}", awards_c.GrantRead)

    async def create_amendment(
        self, grant_id: uuid.UUID, body: awards_c.AmendmentCreate
    ) -> awards_c.GrantRead:
        return await self.request(
            "POST", f"grants/{grant_id}/amendments", awards_c.GrantRead, body=body
        )

    async def list_grant_versions(self, grant_id: uuid.UUID) -> list[awards_c.GrantVersionRead]:
        return await self.request(
            "GET", f"grants/{grant_id}/versions", list[awards_c.GrantVersionRead]
        )

    async def create_agreement_signature(
        self, grant_id: uuid.UUID, body: awards_c.AgreementSignature
    ) -> awards_c.GrantRead:
        return await self.request(
            "POST", f"grants/{grant_id}/signature", awards_c.GrantRead, body=body
        )

    async def get_tranche(self, tranche_id: uuid.UUID) -> awards_c.TrancheRead:
        return await self.request("GET", f"tranches/{tranche_id}", awards_c.TrancheRead)

    async def approve_tranche(
        self, tranche_id: uuid.UUID, body: awards_c.TrancheTransition
    ) -> awards_c.TrancheRead:
        return await self.request(
            "POST", f"tranches/{tranche_id}/approval", awards_c.TrancheRead, body=body
        )

    async def create_tranche_confirmation(
        self, tranche_id: uuid.UUID, body: awards_c.TrancheTransition
    ) -> awards_c.TrancheRead:
        return await self.request(
            "POST", f"tranches/{tranche_id}/confirmation", awards_c.TrancheRead, body=body
        )

    async def create_tranche_cancellation(
        self, tranche_id: uuid.UUID, body: awards_c.TrancheCancellation
    ) -> awards_c.TrancheRead:
        return await self.request(
            "POST", f"tranches/{tranche_id}/cancellation", awards_c.TrancheRead, body=body
        )

    async def create_disbursement(
        self, tranche_id: uuid.UUID, body: awards_c.DisbursementCreate, idempotency_key: str
    ) -> awards_c.LedgerEntryRead:
        """Pay a tranche; the key is required (a retry with it replays the first answer)."""
        return await self.request(
            "POST",
            f"tranches/{tranche_id}/disbursements",
            awards_c.LedgerEntryRead,
            body=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    async def list_ledger_entries(
        self,
        *,
        grant_id: uuid.UUID | None = None,
        tranche_id: uuid.UUID | None = None,
        window_id: uuid.UUID | None = None,
        pcc_id: uuid.UUID | None = None,
        funding_source_id: uuid.UUID | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> awards_c.LedgerPage:
        return await self.request(
            "GET",
            "ledger-entries",
            awards_c.LedgerPage,
            params={
                "grant_id": grant_id,
                "tranche_id": tranche_id,
                "window_id": window_id,
                "pcc_id": pcc_id,
                "funding_source_id": funding_source_id,
                "from": date_from.isoformat() if date_from else None,
                "to": date_to.isoformat() if date_to else None,
                "cursor": cursor,
                "limit": limit,
            },
        )

    async def get_ledger_entry(self, entry_id: uuid.UUID) -> awards_c.LedgerEntryRead:
        return await self.request("GET", f"ledger-entries/{entry_id}", awards_c.LedgerEntryRead)

    async def create_reversal(
        self,
        entry_id: uuid.UUID,
        body: awards_c.ReversalCreate,
        idempotency_key: str | None = None,
    ) -> awards_c.LedgerEntryRead:
        return await self.request(
            "POST",
            f"ledger-entries/{entry_id}/reversal",
            awards_c.LedgerEntryRead,
            body=body,
            headers={"Idempotency-Key": idempotency_key} if idempotency_key is not None else None,
        )

    # --- audit -----------------------------------------------------------------------------

    async def list_audit_events(
        self,
        *,
        entity: str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        newest_first: bool = False,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> audit_c.AuditEventPage:
        return await self.request(
            "GET",
            "audit/events",
            audit_c.AuditEventPage,
            params={
                "entity": entity,
                "entity_id": entity_id,
                "actor": actor,
                "action": action,
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
                "newest_first": "true" if newest_first else None,
                "cursor": cursor,
                "limit": limit,
            },
        )

    async def get_audit_verification(self) -> audit_c.AuditVerificationRead:
        return await self.request("GET", "audit/verification", audit_c.AuditVerificationRead)

    # --- imports (spreadsheets) --------------------------------------------------------------

    async def create_action_plan_import(
        self, data: bytes, filename: str, *, dry_run: bool = False, skip_invalid: bool = False
    ) -> imports_c.ImportReport:
        """Upload an .xlsx or .csv of action plans; 422 (`ApiError`) lists every bad row."""
        return await self._import("imports/action-plans", data, filename, dry_run, skip_invalid)

    async def create_organisation_import(
        self, data: bytes, filename: str, *, dry_run: bool = False, skip_invalid: bool = False
    ) -> imports_c.ImportReport:
        """Upload an .xlsx or .csv of organisations; 422 (`ApiError`) lists every bad row."""
        return await self._import("imports/organisations", data, filename, dry_run, skip_invalid)

    async def _import(
        self, path: str, data: bytes, filename: str, dry_run: bool, skip_invalid: bool
    ) -> imports_c.ImportReport:
        media_type = _SPREADSHEET_TYPES.get(filename.rsplit(".", 1)[-1].lower(), "")
        return await self.request(
            "POST",
            path,
            imports_c.ImportReport,
            params={"dry_run": str(dry_run).lower(), "skip_invalid": str(skip_invalid).lower()},
            files={"file": (filename, data, media_type or "application/octet-stream")},
        )

    # --- finance views -----------------------------------------------------------------------

    async def get_finance_summary(
        self,
        by: finance_c.FinanceDimension,
        *,
        call_id: uuid.UUID | None = None,
        window_id: uuid.UUID | None = None,
        currency: str | None = None,
    ) -> finance_c.FinanceSummaryRead:
        return await self.request(
            "GET",
            "finance/summary",
            finance_c.FinanceSummaryRead,
            params={"by": by, "call_id": call_id, "window_id": window_id, "currency": currency},
        )

    async def get_transparency(
        self, *, currency: str | None = None
    ) -> transparency_c.TransparencyRead:
        """The public view of the awards (anonymous allowed): decided windows' grants."""
        return await self.request(
            "GET",
            "public/grants",
            transparency_c.TransparencyRead,
            params={"currency": currency},
        )

    async def list_upcoming_tranches(
        self,
        *,
        within_days: int | None = None,
        status: finance_c.UpcomingTrancheStatus | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> finance_c.UpcomingTranchePage:
        return await self.request(
            "GET",
            "finance/upcoming-tranches",
            finance_c.UpcomingTranchePage,
            params={"within_days": within_days, "status": status, "cursor": cursor, "limit": limit},
        )

    async def get_ledger_export(
        self,
        file_format: finance_c.LedgerExportFormat = "csv",
        *,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> tuple[bytes, str]:
        """The ledger as a file: its bytes and its content type (`text/csv; charset=utf-8` or
        the XLSX type). The server names it in `Content-Disposition` (`ledger-YYYY-MM-DD.csv`)."""
        params = {
            "format": file_format,
            "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None,
        }
        resp = await self.http.get(
            "ledger-entries/export",
            params={k: v for k, v in params.items() if v is not None},
            headers=self._headers({"accept": "*/*"}),
        )
        self._decode(resp, None)
        return resp.content, resp.headers.get("content-type", "")

    # --- open data (public), webhooks, e-mail preferences ---------------------------------------

    async def _download(self, path: str) -> tuple[bytes, str]:
        resp = await self.http.get(path, headers=self._headers({"accept": "*/*"}))
        self._decode(resp, None)
        return resp.content, resp.headers.get("content-type", "")

    async def get_iati_activities(self) -> tuple[bytes, str]:
        """The awarded grants as an IATI 2.03 activity file (XML bytes, content type)."""
        return await self._download("open-data/iati.xml")

    async def get_giving_package(self) -> opendata_c.GivingPackage:
        """The awarded grants as a 360Giving package (amounts decoded as exact Decimals)."""
        return await self.request("GET", "open-data/360giving.json", opendata_c.GivingPackage)

    async def get_giving_csv(self) -> tuple[bytes, str]:
        return await self._download("open-data/360giving.csv")

    async def create_webhook_subscription(
        self, body: webhooks_c.WebhookSubscriptionCreate
    ) -> webhooks_c.WebhookSecretRead:
        return await self.request(
            "POST", "webhooks/subscriptions", webhooks_c.WebhookSecretRead, body=body
        )

    async def list_webhook_subscriptions(self) -> list[webhooks_c.WebhookSubscriptionRead]:
        return await self.request(
            "GET", "webhooks/subscriptions", list[webhooks_c.WebhookSubscriptionRead]
        )

    async def get_webhook_subscription(
        self, subscription_id: uuid.UUID
    ) -> webhooks_c.WebhookSubscriptionRead:
        return await self.request(
            "GET",
            f"webhooks/subscriptions/{subscription_id}",
            webhooks_c.WebhookSubscriptionRead,
        )

    async def delete_webhook_subscription(
        self, subscription_id: uuid.UUID
    ) -> webhooks_c.WebhookSubscriptionRead:
        """Deactivates it (it and its delivery log stay readable)."""
        return await self.request(
            "DELETE",
            f"webhooks/subscriptions/{subscription_id}",
            webhooks_c.WebhookSubscriptionRead,
        )

    async def create_webhook_secret(
        self, subscription_id: uuid.UUID, body: webhooks_c.WebhookSecretRotate
    ) -> webhooks_c.WebhookSecretRead:
        return await self.request(
            "POST",
            f"webhooks/subscriptions/{subscription_id}/rotate-secret",
            webhooks_c.WebhookSecretRead,
            body=body,
        )

    async def list_webhook_deliveries(
        self,
        subscription_id: uuid.UUID,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> webhooks_c.WebhookDeliveryPage:
        return await self.request(
            "GET",
            f"webhooks/subscriptions/{subscription_id}/deliveries",
            webhooks_c.WebhookDeliveryPage,
            params={"cursor": cursor, "limit": limit},
        )

    async def create_webhook_redelivery(
        self, delivery_id: uuid.UUID
    ) -> webhooks_c.WebhookDeliveryRead:
        """Send the delivery's event again, same event id (`webhook-id`)."""
        return await self.request(
            "POST", f"webhooks/deliveries/{delivery_id}/redeliver", webhooks_c.WebhookDeliveryRead
        )

    async def get_notification_preferences(
        self,
    ) -> list[notifications_c.NotificationPreferenceRead]:
        return await self.request(
            "GET",
            "me/notification-preferences",
            list[notifications_c.NotificationPreferenceRead],
        )

    async def update_notification_preferences(
        self, body: notifications_c.NotificationPreferencesUpdate
    ) -> list[notifications_c.NotificationPreferenceRead]:
        return await self.request(
            "PUT",
            "me/notification-preferences",
            list[notifications_c.NotificationPreferenceRead],
            body=body,
        )

    # --- reports ---------------------------------------------------------------------------

    async def create_report(
        self,
        grant_id: uuid.UUID,
        body: reports_c.ReportCreate,
        idempotency_key: str | None = None,
    ) -> reports_c.ReportRead:
        """With `idempotency_key`, a retry of the same report replays the first answer."""
        return await self.request(
            "POST",
            f"grants/{grant_id}/reports",
            reports_c.ReportRead,
            body=body,
            headers={"Idempotency-Key": idempotency_key} if idempotency_key is not None else None,
        )

    async def list_reports(
        self,
        grant_id: uuid.UUID,
        *,
        status: str | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> reports_c.ReportPage:
        return await self.request(
            "GET",
            f"grants/{grant_id}/reports",
            reports_c.ReportPage,
            params={"status": status, "kind": kind, "cursor": cursor, "limit": limit},
        )

    async def list_report_queue(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        territory_id: uuid.UUID | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> reports_c.ReportQueuePage:
        """Staff: every grantee's submitted (and decided) reports, oldest submission first."""
        return await self.request(
            "GET",
            "reports",
            reports_c.ReportQueuePage,
            params={
                "status": status,
                "kind": kind,
                "territory_id": territory_id,
                "cursor": cursor,
                "limit": limit,
            },
        )

    async def get_report(self, report_id: uuid.UUID) -> reports_c.ReportRead:
        return await self.request("GET", f"reports/{report_id}", reports_c.ReportRead)

    async def update_report(
        self, report_id: uuid.UUID, body: reports_c.ReportUpdate
    ) -> reports_c.ReportRead:
        return await self.request("PATCH", f"reports/{report_id}", reports_c.ReportRead, body=body)

    async def submit_report(
        self,
        report_id: uuid.UUID,
        body: reports_c.ReportSubmit,
        idempotency_key: str | None = None,
    ) -> reports_c.ReportRead:
        return await self.request(
            "POST",
            f"reports/{report_id}/submission",
            reports_c.ReportRead,
            body=body,
            headers={"Idempotency-Key": idempotency_key} if idempotency_key is not None else None,
        )

    async def create_report_decision(
        self, report_id: uuid.UUID, body: reports_c.ReportDecisionCreate
    ) -> reports_c.ReportRead:
        return await self.request(
            "POST", f"reports/{report_id}/decision", reports_c.ReportRead, body=body
        )

    async def create_report_attachment(
        self, report_id: uuid.UUID, data: bytes, filename: str, kind: str = "report"
    ) -> proposals_c.AttachmentRead:
        return await self.request(
            "POST",
            f"reports/{report_id}/attachments",
            proposals_c.AttachmentRead,
            files={"file": (filename, data, "application/octet-stream")},
            form={"kind": kind},
        )

    async def get_report_attachment(
        self, report_id: uuid.UUID, attachment_id: uuid.UUID
    ) -> tuple[bytes, httpx.Headers]:
        """The file's bytes and the response headers (Content-Disposition etc.)."""
        resp = await self.http.get(
            f"reports/{report_id}/attachments/{attachment_id}", headers=self._headers()
        )
        self._decode(resp, None)
        return resp.content, resp.headers

    async def delete_report_attachment(
        self, report_id: uuid.UUID, attachment_id: uuid.UUID
    ) -> None:
        await self.request("DELETE", f"reports/{report_id}/attachments/{attachment_id}", None)

    # --- documents (PDF) ---------------------------------------------------------------------

    async def get_pdf(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> tuple[bytes, httpx.Headers]:
        """A document's PDF bytes and the response headers (Content-Disposition with its file
        name). `path` is one of the document paths below, relative to the API root."""
        resp = await self.http.get(
            path,
            params={k: str(v) for k, v in (params or {}).items() if v is not None},
            headers=self._headers(),
        )
        self._decode(resp, None)
        return resp.content, resp.headers

    async def get_award_letter(
        self, grant_id: uuid.UUID, lang: str = "en"
    ) -> tuple[bytes, httpx.Headers]:
        return await self.get_pdf(f"grants/{grant_id}/award-letter", {"lang": lang})

    async def get_grant_agreement(
        self, grant_id: uuid.UUID, lang: str = "en"
    ) -> tuple[bytes, httpx.Headers]:
        return await self.get_pdf(f"grants/{grant_id}/agreement", {"lang": lang})

    async def get_grant_statement(
        self, grant_id: uuid.UUID, start: date, end: date, lang: str = "en"
    ) -> tuple[bytes, httpx.Headers]:
        return await self.get_pdf(
            f"grants/{grant_id}/statement", {"lang": lang, "start": start, "end": end}
        )

    async def get_funding_source_statement(
        self, source_id: uuid.UUID, start: date, end: date, lang: str = "en"
    ) -> tuple[bytes, httpx.Headers]:
        return await self.get_pdf(
            f"funding-sources/{source_id}/statement", {"lang": lang, "start": start, "end": end}
        )

    async def get_feedback_summary(
        self, proposal_id: uuid.UUID, lang: str = "en"
    ) -> tuple[bytes, httpx.Headers]:
        return await self.get_pdf(f"proposals/{proposal_id}/feedback-summary", {"lang": lang})

    async def create_ranking_report(
        self, window_id: uuid.UUID, lang: str = "en"
    ) -> documents_c.DocumentRead:
        return await self.request(
            "POST",
            f"windows/{window_id}/ranking-report",
            documents_c.DocumentRead,
            body=documents_c.DocumentRequest(lang=Language(lang)),
        )

    async def get_document(self, document_id: uuid.UUID) -> documents_c.DocumentRead:
        return await self.request("GET", f"documents/{document_id}", documents_c.DocumentRead)

    async def get_document_content(self, document_id: uuid.UUID) -> tuple[bytes, httpx.Headers]:
        return await self.get_pdf(f"documents/{document_id}/content")


__all__ = ["ApiError", "GrantsClient"]
