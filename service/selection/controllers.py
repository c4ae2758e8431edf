"""HTTP routes of selection runs, decisions and feedback."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from contracts import selection as c
from contracts.enums import DecisionChangeStatus
from service.dependencies import Ctx, Session
from service.openapi import USER, problems
from service.selection import service


class WindowSelectionController(Controller):
    path = "/windows"
    tags = ["selection"]
    security = USER

    @post(
        "/{window_id:uuid}/selection-runs",
        operation_id="CreateSelectionRun",
        responses=problems(401, 403, 404, 409),
    )
    async def create_selection_run(
        self,
        window_id: FromPath[uuid.UUID],
        data: JSONBody[c.SelectionRunCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.SelectionRunRead:
        """Fix the configuration; the seed's hash is published now, the seed after the draw."""
        return await service.create_run(session, ctx, window_id, data)

    @get(
        "/{window_id:uuid}/selection-runs",
        operation_id="ListSelectionRuns",
        responses=problems(401, 403, 404),
    )
    async def list_selection_runs(
        self, window_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> list[c.SelectionRunSummary]:
        """The window's runs, newest first: status, who created, computed and approved each."""
        return await service.list_runs(session, ctx, window_id)

    @post(
        "/{window_id:uuid}/feedback-publication",
        operation_id="CreateFeedbackPublication",
        responses=problems(401, 403, 404, 409),
    )
    async def create_feedback_publication(
        self, window_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.FeedbackPublicationRead:
        """Publish the decisions and the panel's feedback to the window's applicants (a
        programme officer). 409 without an approved selection run, while a change of decision
        awaits its second officer, or when already published (the first publication stays)."""
        return await service.publish_feedback(session, ctx, window_id)

    @get(
        "/{window_id:uuid}/feedback-publication",
        operation_id="GetFeedbackPublication",
        responses=problems(401, 403, 404),
    )
    async def get_feedback_publication(
        self, window_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.FeedbackPublicationRead:
        """Whether the window's feedback is published (when, by whom) and what publishing
        waits for: the approved run, pending changes of decision."""
        return await service.get_feedback_publication(session, ctx, window_id)

    @get(
        "/{window_id:uuid}/decision-changes",
        operation_id="ListDecisionChanges",
        responses=problems(401, 403, 404),
    )
    async def list_decision_changes(
        self,
        window_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        status: Annotated[DecisionChangeStatus | None, QueryParameter()] = None,
    ) -> list[c.DecisionChangeRead]:
        """The window's proposed changes of decision, newest first; `status` filters."""
        return await service.list_decision_changes(session, ctx, window_id, status)


class SelectionRunController(Controller):
    path = "/selection-runs"
    tags = ["selection"]
    security = USER

    @get("/{run_id:uuid}", operation_id="GetSelectionRun", responses=problems(401, 403, 404))
    async def get_selection_run(
        self, run_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.SelectionRunRead:
        return await service.get_run(session, ctx, run_id)

    @post(
        "/{run_id:uuid}/computation",
        operation_id="CreateSelectionComputation",
        responses=problems(401, 403, 404, 409),
    )
    async def create_selection_computation(
        self, run_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.SelectionRunRead:
        """Aggregate, rank (lottery for exact ties), select; store inputs and outputs."""
        return await service.compute_run(session, ctx, run_id)

    @post(
        "/{run_id:uuid}/replay",
        operation_id="ReplaySelectionRun",
        responses=problems(401, 403, 404, 409),
        status_code=200,
    )
    async def replay_selection_run(
        self, run_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.ReplayRead:
        """Recompute from the stored inputs and seed; `identical` must be true."""
        return await service.replay_run(session, ctx, run_id)

    @post(
        "/{run_id:uuid}/approval",
        operation_id="ApproveSelectionRun",
        responses=problems(401, 403, 404, 409),
    )
    async def approve_selection_run(
        self,
        run_id: FromPath[uuid.UUID],
        data: JSONBody[c.SelectionRunTransition],
        session: Session,
        ctx: Ctx,
    ) -> c.SelectionRunRead:
        """Four eyes: a programme officer other than the run's creator and its computer (403
        otherwise). Proposals become selected / reserve / not selected, each with its reason."""
        return await service.approve_run(session, ctx, run_id, data)


class DecisionController(Controller):
    path = "/proposals"
    tags = ["selection"]
    security = USER

    @post(
        "/{proposal_id:uuid}/decisions",
        operation_id="CreateDecision",
        responses=problems(401, 403, 404, 409),
    )
    async def create_decision(
        self,
        proposal_id: FromPath[uuid.UUID],
        data: JSONBody[c.DecisionCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.DecisionRead:
        """Record a decision directly, before the window's selection is approved; the reason is
        required and audited. After the approval: 409, propose a decision change instead."""
        return await service.override_decision(session, ctx, proposal_id, data)

    @post(
        "/{proposal_id:uuid}/decision-changes",
        operation_id="CreateDecisionChange",
        responses=problems(401, 403, 404, 409),
    )
    async def create_decision_change(
        self,
        proposal_id: FromPath[uuid.UUID],
        data: JSONBody[c.DecisionCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.DecisionChangeRead:
        """Propose a change of decision (with its reason): pending, nothing moves until a second
        programme officer confirms it."""
        return await service.propose_decision_change(session, ctx, proposal_id, data)

    @post(
        "/{proposal_id:uuid}/declination",
        operation_id="CreateDeclination",
        responses=problems(401, 403, 404, 409),
    )
    async def create_declination(
        self,
        proposal_id: FromPath[uuid.UUID],
        data: JSONBody[c.DeclineCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.DecisionRead:
        """The applicant declines its selection; the first reserve proposal moves up."""
        return await service.decline_award(session, ctx, proposal_id, data)

    @get(
        "/{proposal_id:uuid}/feedback",
        operation_id="GetFeedback",
        responses=problems(401, 403, 404, 409),
    )
    async def get_feedback(
        self, proposal_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.FeedbackRead:
        """Scores per criterion, thresholds, rank band and the panel's comments (no names).
        The applicant reads it once the window's feedback is published: before, 409 with the
        problem type `urn:pcc-grants:problem:feedback-not-published`; staff read it any time."""
        return await service.feedback(session, ctx, proposal_id)


class DecisionChangeController(Controller):
    path = "/decision-changes"
    tags = ["selection"]
    security = USER

    @get("/{change_id:uuid}", operation_id="GetDecisionChange", responses=problems(401, 403, 404))
    async def get_decision_change(
        self, change_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.DecisionChangeRead:
        return await service.get_decision_change(session, ctx, change_id)

    @post(
        "/{change_id:uuid}/confirmation",
        operation_id="CreateDecisionChangeConfirmation",
        responses=problems(401, 403, 404, 409),
    )
    async def create_decision_change_confirmation(
        self,
        change_id: FromPath[uuid.UUID],
        data: JSONBody[c.DecisionChangeTransition],
        session: Session,
        ctx: Ctx,
    ) -> c.DecisionChangeRead:
        """Four eyes: a programme officer other than the proposer confirms (403 for the
        proposer); the proposal moves. 409 when the change is no longer pending or the proposal
        moved since it was proposed."""
        return await service.confirm_decision_change(session, ctx, change_id, data)

    @post(
        "/{change_id:uuid}/rejection",
        operation_id="CreateDecisionChangeRejection",
        responses=problems(401, 403, 404, 409),
    )
    async def create_decision_change_rejection(
        self,
        change_id: FromPath[uuid.UUID],
        data: JSONBody[c.DecisionChangeTransition],
        session: Session,
        ctx: Ctx,
    ) -> c.DecisionChangeRead:
        """Any programme officer (the proposer too, withdrawing it) rejects a pending change;
        nothing moves."""
        return await service.reject_decision_change(session, ctx, change_id, data)
