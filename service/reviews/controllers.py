"""HTTP routes of review panels: rubrics, panels, assignments, conflicts, reviews."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, JSONBody

from contracts import reviews as c
from service import reviews
from service.attachments import download
from service.dependencies import AppSettings, Ctx, Session
from service.edge import IdempotencyKeyHeader
from service.idempotency import idempotent
from service.openapi import USER, problems


class WindowReviewController(Controller):
    path = "/windows"
    tags = ["reviews"]
    security = USER

    @put(
        "/{window_id:uuid}/rubric",
        operation_id="UpdateWindowRubric",
        responses=problems(401, 403, 404, 409),
    )
    async def update_window_rubric(
        self,
        window_id: FromPath[uuid.UUID],
        data: JSONBody[c.RubricCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.RubricRead:
        """A new rubric version for the window (refused once proposals were submitted)."""
        return await reviews.set_window_rubric(session, ctx, window_id, data)

    @put(
        "/{window_id:uuid}/panel",
        operation_id="UpdatePanel",
        responses=problems(401, 403, 404),
    )
    async def update_panel(
        self,
        window_id: FromPath[uuid.UUID],
        data: JSONBody[c.PanelReplace],
        session: Session,
        ctx: Ctx,
    ) -> c.PanelRead:
        return await reviews.replace_panel(session, ctx, window_id, data)

    @post(
        "/{window_id:uuid}/assignments",
        operation_id="CreateAssignments",
        responses=problems(401, 403, 404, 409),
    )
    async def create_assignments(
        self,
        window_id: FromPath[uuid.UUID],
        data: JSONBody[c.AutoAssign],
        session: Session,
        ctx: Ctx,
    ) -> c.AssignmentList:
        """Assign the panel to every eligible proposal: balanced, conflict-free, seeded."""
        return await reviews.auto_assign(session, ctx, window_id, data)

    @post(
        "/{window_id:uuid}/assignment-batch",
        operation_id="CreateAssignmentBatch",
        responses=problems(401, 403, 404, 409),
    )
    async def create_assignment_batch(
        self,
        request: Request[Any, Any, Any],
        window_id: FromPath[uuid.UUID],
        data: JSONBody[c.AssignmentBatchCreate],
        session: Session,
        ctx: Ctx,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[c.AssignmentList]:
        """Explicit assignments, many in one call (1 to 500 reviewer–proposal pairs), all or
        nothing: each pair is checked as `CreateAssignment` checks it, and every refused pair is
        named by index (`body.items[n]`) in one problem (422 for a pair that names no proposal of
        the window, no reviewer, or repeats another; else 409), with nothing assigned. With an
        `Idempotency-Key` a retry replays the first answer (`Idempotent-Replayed: true`)."""

        async def assign() -> c.AssignmentList:
            return await reviews.assign_batch(session, ctx, window_id, data)

        return await idempotent(request, session, ctx, assign, key=idempotency_key)

    @get(
        "/{window_id:uuid}/conflicts",
        operation_id="ListConflicts",
        responses=problems(401, 403, 404),
    )
    async def list_conflicts(
        self, window_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.ConflictList:
        return await reviews.list_conflicts(session, ctx, window_id)


class WindowAssignmentController(Controller):
    path = "/windows"
    tags = ["reviews"]
    security = USER

    @get(
        "/{window_id:uuid}/assignments",
        operation_id="ListWindowAssignments",
        responses=problems(401, 403, 404),
    )
    async def list_window_assignments(
        self, window_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.AssignmentList:
        """Every review assignment of the window (programme staff and auditors)."""
        return await reviews.list_window_assignments(session, ctx, window_id)


class RubricController(Controller):
    path = "/rubrics"
    tags = ["reviews"]

    @get("/{rubric_id:uuid}", operation_id="GetRubric", responses=problems(404))
    async def get_rubric(
        self, rubric_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.RubricRead:
        return await reviews.get_rubric(session, ctx, rubric_id)


class ProposalReviewController(Controller):
    path = "/proposals"
    tags = ["reviews"]
    security = USER

    @post(
        "/{proposal_id:uuid}/assignments",
        operation_id="CreateAssignment",
        responses=problems(401, 403, 404, 409),
    )
    async def create_assignment(
        self,
        proposal_id: FromPath[uuid.UUID],
        data: JSONBody[c.AssignmentCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.AssignmentRead:
        return await reviews.assign_manually(session, ctx, proposal_id, data)

    @post(
        "/{proposal_id:uuid}/consensus-scores",
        operation_id="CreateConsensusScore",
        responses=problems(401, 403, 404, 409),
    )
    async def create_consensus_score(
        self,
        proposal_id: FromPath[uuid.UUID],
        data: JSONBody[c.ConsensusCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.ConsensusRead:
        """Record the panel's consensus on a criterion; it replaces the reviews' aggregate."""
        return await reviews.record_consensus(session, ctx, proposal_id, data)

    @get(
        "/{proposal_id:uuid}/reviews",
        operation_id="ListProposalReviews",
        responses=problems(401, 403, 404, 409),
    )
    async def list_proposal_reviews(
        self, proposal_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.ReviewList:
        """The panel's submitted reviews (a reviewer sees them after submitting its own)."""
        return await reviews.proposal_reviews(session, ctx, proposal_id)


class AssignmentController(Controller):
    path = "/assignments"
    tags = ["reviews"]
    security = USER

    @get("/", operation_id="ListAssignments", responses=problems(401, 403))
    async def list_assignments(self, session: Session, ctx: Ctx) -> c.AssignmentList:
        """The caller's review assignments."""
        return await reviews.list_my_assignments(session, ctx)

    @post(
        "/{assignment_id:uuid}/conflict",
        operation_id="CreateConflict",
        responses=problems(401, 403, 404),
    )
    async def create_conflict(
        self,
        assignment_id: FromPath[uuid.UUID],
        data: JSONBody[c.ConflictCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.ConflictRead:
        """Declare a conflict of interest (before reading the proposal) and step back."""
        return await reviews.declare_conflict(session, ctx, assignment_id, data)

    @post(
        "/{assignment_id:uuid}/no-conflict-declaration",
        operation_id="CreateNoConflictDeclaration",
        responses=problems(401, 403, 404),
    )
    async def create_no_conflict_declaration(
        self, assignment_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.AssignmentRead:
        """Declare no conflict of interest with the proposal: it opens to the reviewer."""
        return await reviews.declare_no_conflict(session, ctx, assignment_id)

    @get(
        "/{assignment_id:uuid}/proposal",
        operation_id="GetAssignedProposal",
        responses=problems(401, 403, 404, 409),
    )
    async def get_assigned_proposal(
        self, assignment_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.ReviewerProposalView:
        """The proposal as its reviewer sees it (no identities in a blind window)."""
        return await reviews.reviewer_view(session, ctx, assignment_id)

    @get(
        "/{assignment_id:uuid}/attachments/{attachment_id:uuid}/content",
        operation_id="GetAssignedAttachmentContent",
        responses=problems(401, 403, 404, 409),
        media_type="application/octet-stream",
    )
    async def get_assigned_attachment_content(
        self,
        assignment_id: FromPath[uuid.UUID],
        attachment_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> Response[bytes]:
        f, blind = await reviews.reviewer_attachment(session, ctx, assignment_id, attachment_id)
        name = f"attachment-{f.id}" if blind else None
        return await download(settings.resolved_storage_dir, f, name=name)

    @get(
        "/{assignment_id:uuid}/review",
        operation_id="GetReview",
        responses=problems(401, 403, 404),
    )
    async def get_review(
        self, assignment_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.ReviewRead:
        return await reviews.get_my_review(session, ctx, assignment_id)

    @put(
        "/{assignment_id:uuid}/review",
        operation_id="UpdateReview",
        responses=problems(401, 403, 404, 409),
    )
    async def update_review(
        self,
        assignment_id: FromPath[uuid.UUID],
        data: JSONBody[c.ReviewSave],
        session: Session,
        ctx: Ctx,
    ) -> c.ReviewRead:
        """Save the draft review (scores in tenths; null = not applicable). With
        `"submit": true` it is saved and submitted in one call, checked as
        `CreateReviewSubmission` checks it; refused, nothing is saved."""
        return await reviews.save_review(session, ctx, assignment_id, data)

    @post(
        "/{assignment_id:uuid}/review/submission",
        operation_id="CreateReviewSubmission",
        responses=problems(401, 403, 404, 409),
    )
    async def create_review_submission(
        self,
        assignment_id: FromPath[uuid.UUID],
        data: JSONBody[c.ReviewSubmit],
        session: Session,
        ctx: Ctx,
    ) -> c.ReviewRead:
        return await reviews.submit_review(session, ctx, assignment_id, data)


class ReviewController(Controller):
    path = "/reviews"
    tags = ["reviews"]
    security = USER

    @post(
        "/{review_id:uuid}/reopening",
        operation_id="CreateReviewReopening",
        responses=problems(401, 403, 404, 409),
    )
    async def create_review_reopening(
        self,
        review_id: FromPath[uuid.UUID],
        data: JSONBody[c.ReviewReopen],
        session: Session,
        ctx: Ctx,
    ) -> c.ReviewRead:
        """Reopen a submitted review, with a reason (audited)."""
        return await reviews.reopen_review(session, ctx, review_id, data)
