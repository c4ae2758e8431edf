"""The demo's data files (`data/*.yaml`) read into typed structures.

Every file is decoded by msgspec into frozen Structs that refuse unknown keys, so a misspelt key,
a wrong type or an unknown enum value fails at once as `DemoDataError("people.yaml: Expected
`int`, got `str` - at `$.organisations[3].founded_year`")`. References between the files (a PCC's
territory, an item's theme, an applicant's organisation, a proposal's window…) are checked after
decoding and fail the same way, naming the file and the key.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from decimal import Decimal
from importlib import resources
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta

from contracts.common import I18nText
from contracts.enums import (
    AttachmentKind,
    FundingSourceKind,
    Language,
    OrganisationKind,
    Pillar,
    Role,
    TrancheConditionKind,
)
from contracts.reviews import CriterionCreate
from contracts.selection import QuotaInput

Text = Annotated[str, Meta(min_length=1)]
Key = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Amount = Annotated[int, Meta(ge=0)]


class DemoDataError(ValueError):
    """A demo data file that does not hold what the demo needs: its name and the key say where."""


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class I18n(_Spec, frozen=True, kw_only=True):
    en: Text
    ru: Text
    ky: Text

    def as_dict(self) -> dict[str, str]:
        return {"en": self.en, "ru": self.ru, "ky": self.ky}


# --- places.yaml and themes.yaml ----------------------------------------------------------------


class TerritorySpec(_Spec, frozen=True, kw_only=True):
    code: Key
    kind: Literal["district", "city"]
    name: I18n
    region: I18n
    #: the place as it reads inside the PCC's name: English, Russian genitive, Kyrgyz genitive
    of_place: I18n


class MemberSpec(_Spec, frozen=True, kw_only=True):
    full_name: Text
    pillar: Pillar
    position: Text


class ItemSpec(_Spec, frozen=True, kw_only=True):
    code: Text  # without the PCC's prefix, e.g. "1.1"
    theme: Key  # a key of themes.yaml
    budget_som: Amount
    activities: Text


class PccSpec(_Spec, frozen=True, kw_only=True):
    territory: Key
    prefix: Text  # of the item codes, e.g. "OSH"
    established_year: int
    members: tuple[MemberSpec, ...]
    items: tuple[ItemSpec, ...]


class Places(_Spec, frozen=True, kw_only=True):
    regions: dict[Key, I18n]
    territories: tuple[TerritorySpec, ...]
    pccs: tuple[PccSpec, ...]


class IndicatorSpec(_Spec, frozen=True, kw_only=True):
    name: I18n
    unit: Text
    target: Decimal
    baseline: Decimal | None


class ThemeSpec(_Spec, frozen=True, kw_only=True):
    objective: I18n
    target_groups: tuple[Text, ...]
    gender_responsive: bool
    conflict_sensitive: bool
    indicators: tuple[IndicatorSpec, ...]


class Themes(_Spec, frozen=True, kw_only=True):
    themes: dict[Key, ThemeSpec]


# --- people.yaml --------------------------------------------------------------------------------


class SourceSpec(_Spec, frozen=True, kw_only=True):
    code: Key
    name: Text
    kind: FundingSourceKind
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
    description: Text


class OrgSpec(_Spec, frozen=True, kw_only=True):
    short: Key  # for the owner's e-mail
    name: Text
    kind: OrganisationKind
    territory: Key
    founded_year: int
    registration_number: Text
    email: Text
    phone: Text
    address: Text
    description: Text
    women_led: bool = False
    youth_led: bool = False


class StaffSpec(_Spec, frozen=True, kw_only=True):
    local: Key  # the part of the e-mail before @
    full_name: Text
    role: Role
    language: Language


class ApplicantSpec(_Spec, frozen=True, kw_only=True):
    organisation: Key  # OrgSpec.short; the user owns it
    full_name: Text
    language: Language


class SecondMembership(_Spec, frozen=True, kw_only=True):
    owner_of: Key  # the applicant's own organisation
    also_in: Key  # where the applicant is a plain member too


class AffiliationSpec(_Spec, frozen=True, kw_only=True):
    staff: Key
    organisation: Key
    description: Text


class PccMemberAccount(_Spec, frozen=True, kw_only=True):
    territory: Key
    full_name: Text  # a member of that territory's PCC
    staff: Key


class People(_Spec, frozen=True, kw_only=True):
    funding_sources: tuple[SourceSpec, ...]
    organisations: tuple[OrgSpec, ...]
    staff: tuple[StaffSpec, ...]
    applicants: tuple[ApplicantSpec, ...]
    second_memberships: tuple[SecondMembership, ...]
    affiliations: tuple[AffiliationSpec, ...]
    pcc_member_accounts: tuple[PccMemberAccount, ...]


# --- call.yaml ----------------------------------------------------------------------------------


class ContributionSpec(_Spec, frozen=True, kw_only=True):
    source: Key
    amount: Amount
    rate: Decimal = Decimal(1)  # KGS per unit of the source's currency


class AllocationSpec(_Spec, frozen=True, kw_only=True):
    source: Key
    amount: Amount


class WindowSpec(_Spec, frozen=True, kw_only=True):
    code: Text
    title: I18nText
    min_grant: Amount
    max_grant: Amount
    allocations: tuple[AllocationSpec, ...]
    opens_in_days: int
    closes_in_days: int
    proposals_made_in_days: int
    rules: list[dict[str, Any]]  # parsed and checked by the window's use case


class RubricSpec(_Spec, frozen=True, kw_only=True):
    name: I18nText
    criteria: list[CriterionCreate]
    overall_threshold: int | None = None
    tie_break: list[str] = []


class ProposalSpec(_Spec, frozen=True, kw_only=True):
    org: Key  # the organisation's short name
    window: Text  # a window's code
    title: Text
    requested: Amount
    end: Literal["draft", "submitted", "withdrawn", "overridden"]
    co_funding: Amount = 0
    attachments: tuple[AttachmentKind, ...] = ()


class BudgetLineText(_Spec, frozen=True, kw_only=True):
    category: Text
    description: Text


class ProposalText(_Spec, frozen=True, kw_only=True):
    summary: Text  # "{title}" is the proposal's title
    target_groups: list[Text]
    gender_marker: int
    gender_justification: Text
    conflict_sensitivity: Text
    budget_lines: tuple[BudgetLineText, BudgetLineText]
    withdraw_reason: Text
    override_reason: Text


class SelectionSpec(_Spec, frozen=True, kw_only=True):
    budget: Amount
    reserve_size: int
    quotas: list[QuotaInput]
    approve_reason: Text


Scores = dict[Key, dict[Key, int]]  # organisation → criterion code → score


class CallSpec(_Spec, frozen=True, kw_only=True):
    title: I18nText
    description: I18nText
    contributions: tuple[ContributionSpec, ...]
    windows: tuple[WindowSpec, ...]
    reviewers_per_proposal: int
    review_deadline_after_close_days: int
    rubric: RubricSpec
    proposals: tuple[ProposalSpec, ...]
    proposal_text: ProposalText
    review_comment: Text
    w1_assignment_seed: Text
    w1_scores: Scores
    w1_selection: SelectionSpec
    w2_panel: tuple[Key, ...]
    w2_assigned: tuple[Key, ...]
    w2_scores: Scores


# --- grants.yaml --------------------------------------------------------------------------------


class GrantsSpec(_Spec, frozen=True, kw_only=True):
    rates: dict[
        Annotated[str, Meta(pattern=r"^[A-Z]{3}$")], Annotated[str, Meta(pattern=r"^\d+(\.\d+)?$")]
    ]
    start_in_days: int
    tranche_shares: tuple[int, ...]
    tranche_conditions: tuple[TrancheConditionKind, ...]
    first_after_days: int
    every_days: int
    agreement_reference: Text  # "{n:03d}": the grant's number
    bank: Text
    cancel_reason: Text
    approve_comment: Text
    reversal_reason: Text
    approve_again_comment: Text


# --- reading and checking -----------------------------------------------------------------------

S = TypeVar("S", bound=msgspec.Struct)


def decode(name: str, text: str | bytes, kind: type[S]) -> S:
    """`text` (the file `name`) as a `kind`, or DemoDataError naming the file and the key."""
    try:
        return msgspec.yaml.decode(text, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DemoDataError(f"{name}: {exc}") from exc


def read(name: str, kind: type[S]) -> S:
    """The package's data file `name` as a `kind`."""
    return decode(name, resources.files(__package__).joinpath("data", name).read_bytes(), kind)


class World(msgspec.Struct, frozen=True, kw_only=True):
    places: Places
    themes: Themes
    people: People
    call: CallSpec
    grants: GrantsSpec


def _known(name: str, where: str, value: str, known: Iterable[str], what: str) -> None:
    keys = sorted(set(known))
    if value not in keys:
        raise DemoDataError(
            f"{name}: {value!r} at `{where}` is not {what} (known: {', '.join(keys)})"
        )


def _unique(name: str, where: str, values: Iterable[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise DemoDataError(f"{name}: {value!r} appears twice at `{where}`")
        seen.add(value)


def check(world: World) -> World:
    """The references between the files resolve; keys are unique. Returns `world`."""
    places, people, call = world.places, world.people, world.call
    territories = [t.code for t in places.territories]
    _unique("places.yaml", "$.territories[*].code", territories)
    _unique("places.yaml", "$.pccs[*].territory", [p.territory for p in places.pccs])
    for i, pcc in enumerate(places.pccs):
        _known("places.yaml", f"$.pccs[{i}].territory", pcc.territory, territories, "a territory")
        for j, item in enumerate(pcc.items):
            where = f"$.pccs[{i}].items[{j}].theme"
            _known("places.yaml", where, item.theme, world.themes.themes, "a theme of themes.yaml")
    orgs = [o.short for o in people.organisations]
    staff = [s.local for s in people.staff]
    sources = [s.code for s in people.funding_sources]
    _unique("people.yaml", "$.organisations[*].short", orgs)
    _unique("people.yaml", "$.staff[*].local", staff)
    _unique("people.yaml", "$.funding_sources[*].code", sources)
    _unique(
        "people.yaml", "$.applicants[*].organisation", [a.organisation for a in people.applicants]
    )
    for i, org_spec in enumerate(people.organisations):
        where = f"$.organisations[{i}].territory"
        _known("people.yaml", where, org_spec.territory, territories, "a territory of places.yaml")
    for i, applicant in enumerate(people.applicants):
        where = f"$.applicants[{i}].organisation"
        _known("people.yaml", where, applicant.organisation, orgs, "an organisation")
    owners = [a.organisation for a in people.applicants]
    for i, second in enumerate(people.second_memberships):
        where = f"$.second_memberships[{i}]"
        _known(
            "people.yaml",
            f"{where}.owner_of",
            second.owner_of,
            owners,
            "an applicant's organisation",
        )
        _known("people.yaml", f"{where}.also_in", second.also_in, orgs, "an organisation")
    for i, aff in enumerate(people.affiliations):
        where = f"$.affiliations[{i}]"
        _known("people.yaml", f"{where}.staff", aff.staff, staff, "a staff account")
        _known("people.yaml", f"{where}.organisation", aff.organisation, orgs, "an organisation")
    members = {p.territory: [m.full_name for m in p.members] for p in places.pccs}
    for i, acc in enumerate(people.pcc_member_accounts):
        where = f"$.pcc_member_accounts[{i}]"
        _known("people.yaml", f"{where}.territory", acc.territory, members, "a PCC's territory")
        _known(
            "people.yaml", f"{where}.full_name", acc.full_name, members[acc.territory], "its member"
        )
        _known("people.yaml", f"{where}.staff", acc.staff, staff, "a staff account")
    for i, contribution in enumerate(call.contributions):
        where = f"$.contributions[{i}].source"
        _known("call.yaml", where, contribution.source, sources, "a funding source of people.yaml")
    windows = [w.code for w in call.windows]
    _unique("call.yaml", "$.windows[*].code", windows)
    for i, window in enumerate(call.windows):
        for j, allocation in enumerate(window.allocations):
            where = f"$.windows[{i}].allocations[{j}].source"
            _known(
                "call.yaml", where, allocation.source, sources, "a funding source of people.yaml"
            )
    _unique("call.yaml", "$.proposals[*].org", [p.org for p in call.proposals])
    for i, proposal in enumerate(call.proposals):
        _known(
            "call.yaml",
            f"$.proposals[{i}].org",
            proposal.org,
            owners,
            "an applicant's organisation",
        )
        _known("call.yaml", f"$.proposals[{i}].window", proposal.window, windows, "a window")
    proposed = [p.org for p in call.proposals]
    criteria = [c.code for c in call.rubric.criteria]
    for key, scores in (("w1_scores", call.w1_scores), ("w2_scores", call.w2_scores)):
        for org, by_criterion in scores.items():
            _known("call.yaml", f"$.{key}", org, proposed, "a proposal's org")
            if list(by_criterion) != criteria:
                raise DemoDataError(
                    f"call.yaml: `$.{key}.{org}` scores {list(by_criterion)}, "
                    f"the rubric's criteria are {criteria}"
                )
    for i, local in enumerate(call.w2_panel):
        _known("call.yaml", f"$.w2_panel[{i}]", local, staff, "a staff account")
    for i, org in enumerate(call.w2_assigned):
        _known("call.yaml", f"$.w2_assigned[{i}]", org, proposed, "a proposal's org")
    shares, conditions = world.grants.tranche_shares, world.grants.tranche_conditions
    if len(shares) != len(conditions):
        raise DemoDataError(
            "grants.yaml: `$.tranche_shares` and `$.tranche_conditions` differ in length"
        )
    return world


@functools.cache
def world() -> World:
    """Every data file, decoded and checked (once per process)."""
    return check(
        World(
            places=read("places.yaml", Places),
            themes=read("themes.yaml", Themes),
            people=read("people.yaml", People),
            call=read("call.yaml", CallSpec),
            grants=read("grants.yaml", GrantsSpec),
        )
    )
