"""Review panels: rubrics, assignments, conflicts of interest, reviews.

Modules: `rubrics` (a window's versioned rubric), `panels` (the panel, its load caps, the conflicts
the system detects), `assignments` (automatic and manual assignment, a reviewer's declaration of
no conflict or of a conflict), `reviewing` (what a reviewer reads, saving, submitting and
reopening reviews, the panel's reviews, consensus scores), `ranking` (a window's ranking);
`_common` holds their small shared helpers. The use cases are re-exported here:
`from service import reviews; reviews.save_review(...)`.
"""

from service.reviews.assignments import (
    assign_batch,
    assign_manually,
    auto_assign,
    declare_conflict,
    declare_no_conflict,
    list_my_assignments,
    list_window_assignments,
)
from service.reviews.panels import list_conflicts, replace_panel
from service.reviews.reviewing import (
    get_my_review,
    proposal_reviews,
    record_consensus,
    reopen_review,
    reviewer_attachment,
    reviewer_view,
    save_review,
    submit_review,
)
from service.reviews.rubrics import get_rubric, rubric_read, set_window_rubric

__all__ = [
    "assign_batch",
    "assign_manually",
    "auto_assign",
    "declare_conflict",
    "declare_no_conflict",
    "get_my_review",
    "get_rubric",
    "list_conflicts",
    "list_my_assignments",
    "list_window_assignments",
    "proposal_reviews",
    "record_consensus",
    "reopen_review",
    "replace_panel",
    "reviewer_attachment",
    "reviewer_view",
    "rubric_read",
    "save_review",
    "set_window_rubric",
    "submit_review",
]
