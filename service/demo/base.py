"""The demo's base world: the programme's territories and their PCCs, action plans, funding
sources, organisations and one account per role, as the data files (`data/places.yaml`,
`themes.yaml`, `people.yaml`) describe them.

Loading is idempotent: every row is looked up by its natural key first and created only when
missing, with one audit event per row created. Nothing is ever updated, so a second run creates
nothing, changes nothing and records no audit event. The caller commits.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from contracts.enums import ActionPlanStatus, Language, MembershipRole, Role
from service.audit.service import record, snapshot
from service.context import RequestContext
from service.demo.spec import (
    I18n,
    IndicatorSpec,
    ItemSpec,
    MemberSpec,
    OrgSpec,
    SourceSpec,
    TerritorySpec,
    World,
    world,
)
from service.identity.secrets import hash_password
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    Affiliation,
    AppUser,
    FundingSource,
    Indicator,
    Membership,
    Organisation,
    Pcc,
    PccMember,
    Territory,
    UserRole,
)

DEMO_PASSWORD = "demo-grants-2026"  # noqa: S105  (the published password of the demo accounts)


@functools.cache
def _demo_password_hash() -> str:
    """One argon2id hash for every demo account (they share the printed password anyway)."""
    return hash_password(DEMO_PASSWORD)


DEMO_DOMAIN = "demo.pcc-grants.kg"

PLAN_START = date(2026, 1, 1)
PLAN_END = date(2027, 12, 31)

#: Tables filled here, in the order they are filled; `DemoSummary.created` has every one of them.
TABLES: tuple[str, ...] = (
    "territory",
    "pcc",
    "funding_source",
    "organisation",
    "app_user",
    "user_role",
    "membership",
    "affiliation",
    "pcc_member",
    "action_plan",
    "action_plan_item",
    "indicator",
)

#: Audit entity names where they differ from the table name (`app_user` is a "user" elsewhere).
_ENTITY: dict[str, str] = {"app_user": "user"}


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


@dataclass(frozen=True)
class DemoSummary:
    logins: list[DemoLogin]
    created: dict[str, int]


def _kgs(som: int) -> int:
    """Whole som to tiyin (KGS minor units)."""
    return som * 100


def _pcc_name(of_place: I18n) -> dict[str, str]:
    return {
        "en": f"Peacebuilding Coordination Council of {of_place.en}",
        "ru": f"Координационный совет по миростроительству {of_place.ru}",
        "ky": f"{of_place.ky} тынчтыкты бекемдөө боюнча координациялык кеңеши",
    }


def _plan_title(of_place: I18n) -> dict[str, str]:
    return {
        "en": f"Action plan of the Peacebuilding Coordination Council of {of_place.en}, 2026–2027",
        "ru": f"План действий Координационного совета по миростроительству {of_place.ru} "
        "на 2026–2027 годы",
        "ky": f"{of_place.ky} тынчтыкты бекемдөө боюнча координациялык кеңешинин "
        "2026–2027-жылдарга иш-аракеттер планы",
    }


def demo_email(local: str) -> str:
    """A demo account's e-mail from the part before @ (`officer`, `applicant.yntymak`…)."""
    return f"{local}@{DEMO_DOMAIN}"


def applicant_email(org_short: str) -> str:
    """The e-mail of the owner of the organisation `org_short` (its short name in the data)."""
    return demo_email(f"applicant.{org_short}")


# --- loading --------------------------------------------------------------------------------

T = TypeVar("T", bound=SQLModel)


class _Loader:
    """Looks rows up by natural key and creates the missing ones, counting and auditing each."""

    def __init__(self, session: AsyncSession, data: World) -> None:
        self.session = session
        self.data = data
        self.ctx = RequestContext.system("demo-data")
        self.created: dict[str, int] = dict.fromkeys(TABLES, 0)
        self.territories: dict[str, Territory] = {}
        self.pccs: dict[str, Pcc] = {}
        self.organisations: dict[str, Organisation] = {}
        self.users: dict[str, AppUser] = {}  # by e-mail
        self.logins: list[DemoLogin] = []

    async def first(self, stmt: SelectOfScalar[T]) -> T | None:
        return (await self.session.execute(stmt)).scalars().first()

    async def create(self, table: str, row: T, entity_id: uuid.UUID | str | None = None) -> T:
        self.session.add(row)
        await self.session.flush()
        await self.session.refresh(row)  # server defaults (created_at) into the snapshot
        entity = _ENTITY.get(table, table)
        if entity_id is None:
            entity_id = getattr(row, "id")  # noqa: B009  (every table without an id passes one)
        await record(
            self.session,
            self.ctx,
            action=f"{entity}.created",
            entity=entity,
            entity_id=entity_id,
            after=snapshot(row),
        )
        self.created[table] += 1
        return row

    # -- territories and PCCs ----------------------------------------------------------------

    async def territory(self, spec: TerritorySpec) -> Territory:
        row = await self.first(select(Territory).where(Territory.code == spec.code))
        if row is None:
            row = await self.create(
                "territory",
                Territory(
                    code=spec.code,
                    kind=spec.kind,
                    name=spec.name.as_dict(),
                    region=spec.region.as_dict(),
                ),
            )
        self.territories[spec.code] = row
        return row

    async def pcc(self, spec: TerritorySpec, established_year: int) -> Pcc:
        territory = self.territories[spec.code]
        row = await self.first(select(Pcc).where(Pcc.territory_id == territory.id))
        if row is None:
            row = await self.create(
                "pcc",
                Pcc(
                    territory_id=territory.id,
                    name=_pcc_name(spec.of_place),
                    established_year=established_year,
                ),
            )
        self.pccs[spec.code] = row
        return row

    async def pcc_member(self, pcc: Pcc, spec: MemberSpec, user_id: uuid.UUID | None) -> PccMember:
        row = await self.first(
            select(PccMember).where(
                PccMember.pcc_id == pcc.id, PccMember.full_name == spec.full_name
            )
        )
        if row is None:
            row = await self.create(
                "pcc_member",
                PccMember(
                    pcc_id=pcc.id,
                    full_name=spec.full_name,
                    pillar=spec.pillar,
                    position=spec.position,
                    user_id=user_id,
                ),
            )
        return row

    # -- action plans ------------------------------------------------------------------------

    async def action_plan(self, pcc: Pcc, title: dict[str, str]) -> ActionPlan:
        plans = (
            await self.session.scalars(select(ActionPlan).where(ActionPlan.pcc_id == pcc.id))
        ).all()
        for plan in plans:
            if plan.title.get("en") == title["en"]:
                return plan
        return await self.create(
            "action_plan",
            ActionPlan(
                pcc_id=pcc.id,
                title=title,
                period_start=PLAN_START,
                period_end=PLAN_END,
                status=ActionPlanStatus.ACTIVE,
            ),
        )

    async def action_plan_item(self, plan: ActionPlan, code: str, spec: ItemSpec) -> ActionPlanItem:
        row = await self.first(
            select(ActionPlanItem).where(
                ActionPlanItem.action_plan_id == plan.id, ActionPlanItem.code == code
            )
        )
        if row is None:
            theme = self.data.themes.themes[spec.theme]
            row = await self.create(
                "action_plan_item",
                ActionPlanItem(
                    action_plan_id=plan.id,
                    code=code,
                    objective=theme.objective.as_dict(),
                    activities=spec.activities,
                    budget_estimate=_kgs(spec.budget_som),
                    currency="KGS",
                    target_groups=list(theme.target_groups),
                    gender_responsive=theme.gender_responsive,
                    conflict_sensitive=theme.conflict_sensitive,
                ),
            )
        return row

    async def indicators(self, item: ActionPlanItem, specs: tuple[IndicatorSpec, ...]) -> None:
        existing = (
            await self.session.scalars(
                select(Indicator).where(Indicator.action_plan_item_id == item.id)
            )
        ).all()
        names = {ind.name.get("en") for ind in existing}
        for spec in specs:
            if spec.name.en in names:
                continue
            await self.create(
                "indicator",
                Indicator(
                    action_plan_item_id=item.id,
                    name=spec.name.as_dict(),
                    unit=spec.unit,
                    target=spec.target,
                    baseline=spec.baseline,
                ),
            )

    # -- finance -----------------------------------------------------------------------------

    async def funding_source(self, spec: SourceSpec) -> FundingSource:
        row = await self.first(select(FundingSource).where(FundingSource.code == spec.code))
        if row is None:
            row = await self.create(
                "funding_source",
                FundingSource(
                    code=spec.code,
                    name=spec.name,
                    kind=spec.kind,
                    currency=spec.currency,
                    description=spec.description,
                ),
            )
        return row

    # -- organisations and people ------------------------------------------------------------

    async def organisation(self, spec: OrgSpec) -> Organisation:
        row = await self.first(
            select(Organisation).where(Organisation.registration_number == spec.registration_number)
        )
        if row is None:
            row = await self.create(
                "organisation",
                Organisation(
                    name=spec.name,
                    kind=spec.kind,
                    registration_number=spec.registration_number,
                    territory_id=self.territories[spec.territory].id,
                    founded_year=spec.founded_year,
                    women_led=spec.women_led,
                    youth_led=spec.youth_led,
                    email=spec.email,
                    phone=spec.phone,
                    address=spec.address,
                    description=spec.description,
                ),
            )
        self.organisations[spec.short] = row
        return row

    async def user(
        self, email: str, full_name: str, language: Language, login_role: str
    ) -> AppUser:
        row = await self.first(select(AppUser).where(AppUser.email == email))
        if row is None:
            row = await self.create(
                "app_user",
                AppUser(
                    email=email,
                    full_name=full_name,
                    password_hash=_demo_password_hash(),
                    preferred_language=language,
                ),
            )
        self.users[email] = row
        self.logins.append(DemoLogin(role=login_role, email=email, password=DEMO_PASSWORD))
        return row

    async def user_role(self, user: AppUser, role: Role) -> None:
        row = await self.first(
            select(UserRole).where(UserRole.user_id == user.id, UserRole.role == role)
        )
        if row is None:
            await self.create(
                "user_role", UserRole(user_id=user.id, role=role), f"{user.id}:{role.value}"
            )

    async def membership(
        self, user: AppUser, organisation: Organisation, role: MembershipRole
    ) -> None:
        row = await self.first(
            select(Membership).where(
                Membership.user_id == user.id, Membership.organisation_id == organisation.id
            )
        )
        if row is None:
            await self.create(
                "membership",
                Membership(user_id=user.id, organisation_id=organisation.id, role=role),
                f"{user.id}:{organisation.id}",
            )

    async def affiliation(
        self, user: AppUser, organisation: Organisation, description: str
    ) -> None:
        row = await self.first(
            select(Affiliation).where(
                Affiliation.user_id == user.id, Affiliation.organisation_id == organisation.id
            )
        )
        if row is None:
            await self.create(
                "affiliation",
                Affiliation(
                    user_id=user.id,
                    organisation_id=organisation.id,
                    description=description,
                ),
            )


async def _load_places(loader: _Loader) -> None:
    places = loader.data.places
    specs = {t.code: t for t in places.territories}
    for territory in places.territories:
        await loader.territory(territory)
    for pcc in places.pccs:
        await loader.pcc(specs[pcc.territory], pcc.established_year)


async def _load_people(loader: _Loader) -> None:
    people = loader.data.people
    for org_spec in people.organisations:
        await loader.organisation(org_spec)
    for staff in people.staff:
        user = await loader.user(
            demo_email(staff.local), staff.full_name, staff.language, staff.role.value
        )
        await loader.user_role(user, staff.role)
    for applicant in people.applicants:
        org = loader.organisations[applicant.organisation]
        user = await loader.user(
            applicant_email(applicant.organisation),
            applicant.full_name,
            applicant.language,
            f"applicant ({org.name})",
        )
        await loader.membership(user, org, MembershipRole.OWNER)
    for second in people.second_memberships:
        await loader.membership(
            loader.users[applicant_email(second.owner_of)],
            loader.organisations[second.also_in],
            MembershipRole.MEMBER,
        )
    for aff in people.affiliations:
        await loader.affiliation(
            loader.users[demo_email(aff.staff)],
            loader.organisations[aff.organisation],
            aff.description,
        )


async def _load_plans(loader: _Loader) -> None:
    places, themes = loader.data.places, loader.data.themes.themes
    specs = {t.code: t for t in places.territories}
    accounts = {
        (acc.territory, acc.full_name): loader.users[demo_email(acc.staff)].id
        for acc in loader.data.people.pcc_member_accounts
    }
    for pcc_spec in places.pccs:
        pcc = loader.pccs[pcc_spec.territory]
        for member in pcc_spec.members:
            await loader.pcc_member(
                pcc, member, accounts.get((pcc_spec.territory, member.full_name))
            )
        plan = await loader.action_plan(pcc, _plan_title(specs[pcc_spec.territory].of_place))
        for item_spec in pcc_spec.items:
            item = await loader.action_plan_item(
                plan, f"{pcc_spec.prefix}-{item_spec.code}", item_spec
            )
            await loader.indicators(item, themes[item_spec.theme].indicators)


async def load_demo_data(
    session: AsyncSession, storage_dir: Path | None = None, *, with_grants: bool = True
) -> DemoSummary:
    """Create whatever of the demo data is missing (flushes, never commits).

    `storage_dir`: where the demo proposals' attachments go (default: the settings' storage).
    `with_grants`: False stops at the selection (the end-to-end test makes the grants itself).
    A data file that does not hold what the demo needs raises `DemoDataError` before any row."""
    from service.demo.call import load_demo_call
    from service.demo.grants import load_demo_grants
    from service.settings import Settings
    from service.storage import FileStore

    data = world()
    loader = _Loader(session, data)
    await _load_places(loader)
    for source in data.people.funding_sources:
        await loader.funding_source(source)
    await _load_people(loader)
    await _load_plans(loader)
    store = FileStore(storage_dir or Settings().resolved_storage_dir)
    if await load_demo_call(session, store, data):
        loader.created["call"] = 1
    if with_grants and (grants := await load_demo_grants(session, data)):
        loader.created["grant"] = grants
    return DemoSummary(logins=list(loader.logins), created=dict(loader.created))
