"""Demo data: the programme's seven territories and their PCCs, action plans, funding sources,
organisations, one account per role, a published two-window call with proposals at every stage,
window 1 reviewed and selected, and its grants with tranches in every state.

The data lives in `data/*.yaml` (read and checked by `spec`); it is loaded through the real use
cases by `base` (places, plans, people), `call` (the call, proposals, reviews, selection) and
`grants` (grants, tranches, payments). `load_demo_data` is idempotent; the caller commits.
"""

from __future__ import annotations

from service.demo.base import (
    DEMO_DOMAIN,
    DEMO_PASSWORD,
    DemoLogin,
    DemoSummary,
    applicant_email,
    demo_email,
    load_demo_data,
)
from service.demo.spec import DemoDataError, world

_WORLD = world()
#: The data as loaded (read by tests that look for the demo's names on pages).
TERRITORIES = _WORLD.places.territories
PCCS = _WORLD.places.pccs
FUNDING_SOURCES = _WORLD.people.funding_sources
ORGANISATIONS = _WORLD.people.organisations
STAFF = _WORLD.people.staff
APPLICANTS = _WORLD.people.applicants

__all__ = [
    "APPLICANTS",
    "DEMO_DOMAIN",
    "DEMO_PASSWORD",
    "FUNDING_SOURCES",
    "ORGANISATIONS",
    "PCCS",
    "STAFF",
    "TERRITORIES",
    "DemoDataError",
    "DemoLogin",
    "DemoSummary",
    "applicant_email",
    "demo_email",
    "load_demo_data",
]
