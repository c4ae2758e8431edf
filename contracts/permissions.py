"""Permission predicates: pure functions of who acts and what is acted on.

The service's guards and the web's templates call the same functions, so a button is shown exactly
when the API would accept the request. Object-level checks take the attributes of the actual row
(e.g. the organisation a proposal belongs to), which the service loads before asking.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

from contracts.enums import ActionPlanStatus, ApiScope, Role

ActorKind = Literal["anonymous", "user", "api_key", "system"]
"""`system` is the CLI and background jobs: no predicate is asked for it (see the service)."""

STAFF_ROLES: frozenset[Role] = frozenset(
    {Role.ADMIN, Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.AUDITOR}
)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, a partner system's API key, or nobody."""

    kind: ActorKind
    id: uuid.UUID | None = None
    label: str = "anonymous"
    roles: frozenset[Role] = field(default_factory=frozenset)
    organisation_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    scopes: frozenset[ApiScope] = field(default_factory=frozenset)

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    def has_role(self, *roles: Role) -> bool:
        return self.kind == "user" and any(r in self.roles for r in roles)


ANONYMOUS = Actor(kind="anonymous")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        # `deny(...) or allow(...)` once let everyone through: ask `.allowed`, never truthiness.
        raise TypeError("a Decision has no truth value: use `.allowed`")


def allow(reason: str) -> Decision:
    return Decision(True, reason)


def deny(reason: str) -> Decision:
    return Decision(False, reason)


def _signed_in(actor: Actor) -> Decision | None:
    """A denial for anyone but a signed-in user, else None (then the caller decides)."""
    if actor.kind != "user":
        return deny("sign in as a user to do this")
    return None


def _signed_in_then(actor: Actor, reason: str) -> Decision:
    d = _signed_in(actor)
    return d if d is not None else allow(reason)


def _staff(actor: Actor, roles: frozenset[Role] | set[Role], what: str) -> Decision:
    if (d := _signed_in(actor)) is not None:
        return d
    if actor.roles & roles:
        return allow(
            f"{what}: allowed to {', '.join(sorted(r.value for r in actor.roles & roles))}"
        )
    names = ", ".join(sorted(r.value for r in roles))
    return deny(f"{what} needs one of the roles: {names}")


# --- identity ---------------------------------------------------------------------------------


def can_read_me(actor: Actor) -> Decision:
    return _signed_in_then(actor, "every signed-in user reads their own account")


def can_update_me(actor: Actor) -> Decision:
    return _signed_in_then(actor, "every signed-in user updates their own account")


def can_register(actor: Actor) -> Decision:
    if actor.kind == "api_key":
        return deny("partner systems cannot register people")
    return allow("anyone may register an organisation and become its first member")


def can_create_user(actor: Actor) -> Decision:
    return _staff(actor, {Role.ADMIN}, "creating users")


def can_reset_password(actor: Actor) -> Decision:
    return _staff(actor, {Role.ADMIN}, "resetting someone's password")


def can_update_user(actor: Actor) -> Decision:
    return _staff(actor, {Role.ADMIN}, "changing someone's roles or deactivating them")


def can_list_users(actor: Actor) -> Decision:
    return _staff(actor, {Role.ADMIN, Role.AUDITOR}, "listing users")


def can_manage_api_keys(actor: Actor) -> Decision:
    return _staff(actor, {Role.ADMIN}, "managing API keys")


def can_list_api_keys(actor: Actor) -> Decision:
    return _staff(actor, {Role.ADMIN, Role.AUDITOR}, "listing API keys")


# --- organisations ----------------------------------------------------------------------------

ORGANISATION_READERS = frozenset(
    {Role.ADMIN, Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.AUDITOR}
)


def can_create_organisation(actor: Actor) -> Decision:
    return _staff(actor, {Role.ADMIN}, "creating organisations directly (others self-register)")


def can_list_organisations(actor: Actor) -> Decision:
    """Signed-in users may list; staff see all, members only their own (the service filters)."""
    return _signed_in_then(actor, "signed-in users list the organisations they may read")


def can_read_organisation_directory(actor: Actor) -> Decision:
    """Names, kinds and territories of organisations (to choose partners): signed-in people."""
    return _signed_in_then(actor, "signed-in users read the directory of organisations' names")


def sees_all_organisations(actor: Actor) -> bool:
    return actor.has_role(*ORGANISATION_READERS)


def can_read_organisation(actor: Actor, organisation_id: uuid.UUID) -> Decision:
    if (d := _signed_in(actor)) is not None:
        return d
    if organisation_id in actor.organisation_ids:
        return allow("members read their organisation")
    if sees_all_organisations(actor):
        return allow("programme staff read every organisation")
    return deny("only the organisation's members and programme staff read it")


def can_update_organisation(actor: Actor, organisation_id: uuid.UUID) -> Decision:
    if (d := _signed_in(actor)) is not None:
        return d
    if organisation_id in actor.organisation_ids:
        return allow("members update their organisation")
    if actor.has_role(Role.ADMIN):
        return allow("administrators update every organisation")
    return deny("only the organisation's members update it")


# --- territories, PCCs, action plans ----------------------------------------------------------


def can_read_territories(actor: Actor) -> Decision:
    return allow("territories and PCCs are public")


def can_read_action_plans(actor: Actor) -> Decision:
    if actor.kind == "api_key":
        if ApiScope.READ_PCC in actor.scopes:
            return allow("the API key has the pcc:read scope")
        return deny("the API key lacks the pcc:read scope")
    return _signed_in_then(actor, "every signed-in user reads PCC action plans")


ACTION_PLAN_STAFF = frozenset(
    {Role.PROGRAMME_OFFICER, Role.ADMIN, Role.AUDITOR, Role.FINANCE_OFFICER}
)


def sees_draft_action_plans(actor: Actor) -> bool:
    return actor.has_role(*ACTION_PLAN_STAFF)


def can_read_action_plan(actor: Actor, status: ActionPlanStatus) -> Decision:
    """Drafts are the programme staff's working copies; published plans are for all readers."""
    base = can_read_action_plans(actor)
    if not base.allowed or status != ActionPlanStatus.DRAFT:
        return base
    if sees_draft_action_plans(actor):
        return allow("programme staff read draft action plans")
    return deny("draft action plans are visible to programme staff only")


def can_manage_action_plans(actor: Actor) -> Decision:
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "managing PCC action plans")


PCC_PROGRESS_STAFF = frozenset({Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.AUDITOR})


def can_read_pcc_progress(actor: Actor, member_user_ids: Collection[uuid.UUID]) -> Decision:
    """A PCC's action-plan progress (grants, tranches, money, indicators): programme officers,
    finance officers, auditors, and the PCC's own members (`member_user_ids`: the user accounts
    linked to its members)."""
    if (d := _signed_in(actor)) is not None:
        return d
    if actor.roles & PCC_PROGRESS_STAFF:
        return allow("programme and finance staff and auditors read every PCC's progress")
    if actor.id is not None and actor.id in member_user_ids:
        return allow("the PCC's members read its progress")
    return deny("only the PCC's members, programme and finance staff and auditors read it")


def can_list_my_pccs(actor: Actor) -> Decision:
    return _signed_in_then(actor, "every signed-in user lists the PCCs they are a member of")


# --- imports (spreadsheets) -------------------------------------------------------------------


def can_import_action_plans(actor: Actor) -> Decision:
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "importing PCC action plans")


def can_import_organisations(actor: Actor) -> Decision:
    return _staff(actor, {Role.PROGRAMME_OFFICER, Role.ADMIN}, "importing organisations")


# --- finance ----------------------------------------------------------------------------------


def can_read_funding_sources(actor: Actor) -> Decision:
    return _staff(
        actor,
        {Role.FINANCE_OFFICER, Role.PROGRAMME_OFFICER, Role.AUDITOR, Role.ADMIN},
        "reading funding sources",
    )


def can_manage_funding_sources(actor: Actor) -> Decision:
    return _staff(actor, {Role.FINANCE_OFFICER}, "managing funding sources")


# --- audit ------------------------------------------------------------------------------------


def can_read_audit_log(actor: Actor) -> Decision:
    return _staff(actor, {Role.AUDITOR, Role.ADMIN}, "reading the audit log")


# --- calls and windows ------------------------------------------------------------------------

CALL_STAFF = frozenset({Role.PROGRAMME_OFFICER, Role.ADMIN, Role.AUDITOR, Role.FINANCE_OFFICER})


def can_read_published_calls(actor: Actor) -> Decision:
    return allow("published calls are public")


def can_read_transparency(actor: Actor) -> Decision:
    return allow("the awards of decided windows are published")


def sees_draft_calls(actor: Actor) -> bool:
    return actor.has_role(*CALL_STAFF)


def can_manage_calls(actor: Actor) -> Decision:
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "managing calls and windows")


def can_check_eligibility(actor: Actor) -> Decision:
    """Anyone may pre-check raw answers against a published window, before registering."""
    return allow("the eligibility pre-check is open to everyone")


# --- proposals --------------------------------------------------------------------------------

# Finance officers read proposals too: they turn selected ones into grants and pay them.
PROPOSAL_READERS = frozenset(
    {Role.PROGRAMME_OFFICER, Role.ADMIN, Role.AUDITOR, Role.FINANCE_OFFICER}
)


def sees_all_proposals(actor: Actor) -> bool:
    return actor.has_role(*PROPOSAL_READERS)


def can_list_proposals(actor: Actor) -> Decision:
    return _signed_in_then(actor, "signed-in users list the proposals they may read")


def can_create_proposal(actor: Actor, organisation_id: uuid.UUID) -> Decision:
    if (d := _signed_in(actor)) is not None:
        return d
    if organisation_id in actor.organisation_ids:
        return allow("members draft proposals for their organisation")
    return deny("only the organisation's members draft proposals for it")


def can_read_proposal(actor: Actor, organisation_id: uuid.UUID) -> Decision:
    """Reviewers read the proposals assigned to them (the review issue adds that path)."""
    if (d := _signed_in(actor)) is not None:
        return d
    if organisation_id in actor.organisation_ids:
        return allow("members read their organisation's proposals")
    if sees_all_proposals(actor):
        return allow("programme staff read every proposal")
    return deny("only the organisation's members and programme staff read its proposals")


def can_edit_proposal(actor: Actor, organisation_id: uuid.UUID) -> Decision:
    """Drafting, uploading, submitting and withdrawing: the applicant organisation's members."""
    if (d := _signed_in(actor)) is not None:
        return d
    if organisation_id in actor.organisation_ids:
        return allow("members act on their organisation's proposals")
    return deny("only the applicant organisation's members act on its proposals")


def can_override_eligibility(actor: Actor) -> Decision:
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "overriding an eligibility verdict")


# --- reviews ----------------------------------------------------------------------------------


def can_manage_reviews(actor: Actor) -> Decision:
    """Rubrics, panels, assignments, reopening reviews."""
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "managing review panels")


def can_review(actor: Actor) -> Decision:
    return _staff(actor, {Role.REVIEWER}, "reviewing proposals")


def can_read_conflicts(actor: Actor) -> Decision:
    return _staff(
        actor, {Role.PROGRAMME_OFFICER, Role.ADMIN, Role.AUDITOR}, "reading conflict declarations"
    )


def can_read_all_reviews(actor: Actor) -> Decision:
    return _staff(actor, {Role.PROGRAMME_OFFICER, Role.ADMIN, Role.AUDITOR}, "reading every review")


def can_read_ranking(actor: Actor) -> Decision:
    """A window's ranking board: every score, calibration and reviewer flag (staff only)."""
    return _staff(
        actor, {Role.PROGRAMME_OFFICER, Role.ADMIN, Role.AUDITOR}, "reading a window's ranking"
    )


# --- selection and decisions ------------------------------------------------------------------


def can_run_selection(actor: Actor) -> Decision:
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "running and approving selections")


def can_read_selection(actor: Actor) -> Decision:
    return _staff(
        actor,
        {Role.PROGRAMME_OFFICER, Role.ADMIN, Role.AUDITOR, Role.FINANCE_OFFICER},
        "reading selection runs",
    )


def can_approve_selection_run(
    actor: Actor, created_by: uuid.UUID, computed_by: uuid.UUID | None
) -> Decision:
    """Four eyes: a programme officer other than the one who created the run and the one who
    computed it approves it."""
    d = _staff(actor, {Role.PROGRAMME_OFFICER}, "approving selection runs")
    if not d.allowed:
        return d
    if actor.id == created_by:
        return deny("four eyes: the officer who created the selection run cannot approve it")
    if actor.id == computed_by:
        return deny("four eyes: the officer who computed the selection run cannot approve it")
    return allow("a second programme officer approves the selection run")


def can_publish_feedback(actor: Actor) -> Decision:
    """Publishing a window's feedback to its applicants, after the selection's approval."""
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "publishing feedback to applicants")


def can_read_unpublished_feedback(actor: Actor) -> Decision:
    """Programme staff read a proposal's feedback before it is published (its applicant
    waits for the publication)."""
    return _staff(actor, PROPOSAL_READERS, "reading feedback before it is published")


def can_propose_decision_change(actor: Actor) -> Decision:
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "proposing a change of decision")


def can_confirm_decision_change(actor: Actor, requested_by: uuid.UUID) -> Decision:
    """Four eyes: the officer who proposed a change of decision cannot confirm it."""
    d = _staff(actor, {Role.PROGRAMME_OFFICER}, "confirming a change of decision")
    if not d.allowed:
        return d
    if actor.id == requested_by:
        return deny("four eyes: the officer who proposed the change of decision cannot confirm it")
    return allow("a second programme officer confirms the change of decision")


def can_reject_decision_change(actor: Actor) -> Decision:
    """Any programme officer rejects a pending change, its proposer too (a withdrawal)."""
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "rejecting a change of decision")


# --- grants, tranches, the ledger, reports ----------------------------------------------------

GRANT_STAFF = frozenset({Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.AUDITOR, Role.ADMIN})


def can_manage_grants(actor: Actor) -> Decision:
    """Making grants, amending them, cancelling tranches, signing agreements."""
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "making and amending grants")


def sees_all_grants(actor: Actor) -> bool:
    return actor.has_role(*GRANT_STAFF) or (
        actor.kind == "api_key" and ApiScope.READ_AWARDS in actor.scopes
    )


def can_list_grants(actor: Actor) -> Decision:
    if actor.kind == "api_key":
        if ApiScope.READ_AWARDS in actor.scopes:
            return allow("partner systems with awards:read list grants")
        return deny("this API key lacks the awards:read scope")
    return _signed_in_then(actor, "signed-in users list the grants they may read")


def can_read_grant(actor: Actor, organisation_id: uuid.UUID) -> Decision:
    if actor.kind == "api_key":
        if ApiScope.READ_AWARDS in actor.scopes:
            return allow("partner systems with awards:read read grants")
        return deny("this API key lacks the awards:read scope")
    if (d := _signed_in(actor)) is not None:
        return d
    if organisation_id in actor.organisation_ids:
        return allow("members read their organisation's grants")
    if actor.roles & GRANT_STAFF:
        return allow("programme and finance staff read every grant")
    return deny("only the grantee's members and programme staff read a grant")


def can_approve_tranche(actor: Actor) -> Decision:
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "approving tranches")


def can_disburse(actor: Actor) -> Decision:
    """Confirming (the second pair of eyes) and paying tranches, reversing payments."""
    return _staff(actor, {Role.FINANCE_OFFICER}, "confirming and disbursing tranches")


def can_read_ledger(actor: Actor) -> Decision:
    return _staff(
        actor,
        {Role.FINANCE_OFFICER, Role.PROGRAMME_OFFICER, Role.AUDITOR, Role.ADMIN},
        "reading the ledger and the finance views",
    )


def can_write_report(actor: Actor, organisation_id: uuid.UUID) -> Decision:
    """Drafting, uploading to and submitting a grantee report: the grantee's members, or a
    partner system with the reports:write scope for that organisation."""
    if actor.kind == "api_key":
        if ApiScope.WRITE_REPORTS not in actor.scopes:
            return deny("this API key lacks the reports:write scope")
        if organisation_id in actor.organisation_ids:
            return allow("the organisation's partner system pushes its reports")
        return deny("this API key belongs to another organisation")
    if (d := _signed_in(actor)) is not None:
        return d
    if organisation_id in actor.organisation_ids:
        return allow("members write their organisation's reports")
    return deny("only the grantee's members write its reports")


def can_read_report(actor: Actor, organisation_id: uuid.UUID) -> Decision:
    if actor.kind == "api_key":
        return can_write_report(actor, organisation_id)
    if (d := _signed_in(actor)) is not None:
        return d
    if organisation_id in actor.organisation_ids:
        return allow("members read their organisation's reports")
    if actor.roles & GRANT_STAFF:
        return allow("programme and finance staff read every report")
    return deny("only the grantee's members and programme staff read its reports")


def can_decide_report(actor: Actor) -> Decision:
    return _staff(actor, {Role.PROGRAMME_OFFICER}, "accepting or returning reports")


def can_list_report_queue(actor: Actor) -> Decision:
    """The queue of every grantee's submitted reports: programme and finance staff."""
    return _staff(actor, GRANT_STAFF, "reading the queue of grantee reports")
