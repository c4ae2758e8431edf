"""Grants (awards): making and amending them, the tranche lifecycle, the disbursement ledger.

Money rules (DESIGN.md invariants), with where each is enforced:

- the non-cancelled tranches of a grant sum exactly to its amount (checked in `grants`, in the one
  transaction that writes them; the stateful test checks it after every step);
- the grant's charges sum to its amount, no charge exceeds what its source still has available in
  the window, and a window's grants never exceed its envelope: the window row is locked
  `FOR UPDATE` first, so concurrent grants on one window are serialised and each sees the others'
  commitments;
- a tranche is paid at most once at a time: the grant and the tranche rows are locked (in that
  order), its state must be `approved`, and the partial UNIQUE index on
  `ledger_entry (tranche_id, attempt) WHERE kind = 'disbursement'` refuses a second payment even if
  the locks were bypassed; `grant_award.disbursed_amount <= amount` is a CHECK;
- the ledger is append-only (trigger, and the service's database role lacks UPDATE/DELETE);
- four eyes: the paying finance officer is not the approving officer (a CHECK on the ledger row),
  and above `second_confirmation_above` another finance officer must have confirmed the tranche.

Lock order: window → grant → tranches by position → the audit chain (see `conditions`).

Modules: `reads` (grants, tranches, versions as the API returns them), `window_money` (the
window's funding sources, charging and releasing), `grants` (making, amending, signing),
`tranches` (approval, confirmation, cancellation), `ledger` (payments and reversals),
`conditions` (when a tranche falls due); `_common` holds their small shared helpers. The use
cases are re-exported here: `from service import awards; awards.create_grant(...)`.
"""

from service.awards.grants import amend_grant, create_grant, sign_agreement
from service.awards.ledger import (
    disburse,
    get_ledger_entry,
    ledger_reads,
    list_ledger,
    reverse,
)
from service.awards.reads import get_grant, list_grants, list_versions
from service.awards.tranches import approve_tranche, cancel_tranche, confirm_tranche, get_tranche
from service.awards.window_money import SourceRoom, lock_window, window_rooms

__all__ = [
    "SourceRoom",
    "amend_grant",
    "approve_tranche",
    "cancel_tranche",
    "confirm_tranche",
    "create_grant",
    "disburse",
    "get_grant",
    "get_ledger_entry",
    "get_tranche",
    "ledger_reads",
    "list_grants",
    "list_ledger",
    "list_versions",
    "lock_window",
    "reverse",
    "sign_agreement",
    "window_rooms",
]
