"""Demo data: the programme's seven territories and their PCCs, action plans, funding sources,
organisations and one account per role.

Loading is idempotent: every row is looked up by its natural key first and created only when
missing, with one audit event per row created. Nothing is ever updated, so a second run creates
nothing, changes nothing and records no audit event. The caller commits.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from contracts.enums import (
    ActionPlanStatus,
    FundingSourceKind,
    Language,
    MembershipRole,
    OrganisationKind,
    Pillar,
    Role,
)
from service.audit.service import record, snapshot
from service.context import RequestContext
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


# --- data -----------------------------------------------------------------------------------

I18n = tuple[str, str, str]  # (en, ru, ky)


def _i18n(text: I18n) -> dict[str, str]:
    en, ru, ky = text
    return {"en": en, "ru": ru, "ky": ky}


def _kgs(som: int) -> int:
    """Whole som to tiyin (KGS minor units)."""
    return som * 100


CHUI: I18n = ("Chui region", "Чуйская область", "Чүй облусу")
REPUBLICAN_CITY: I18n = (
    "City of republican significance",
    "город республиканского значения",
    "республикалык маанидеги шаар",
)
OSH_REGION: I18n = ("Osh region", "Ошская область", "Ош облусу")
JALAL_ABAD_REGION: I18n = ("Jalal-Abad region", "Джалал-Абадская область", "Жалал-Абад облусу")
BATKEN_REGION: I18n = ("Batken region", "Баткенская область", "Баткен облусу")


@dataclass(frozen=True)
class _TerritorySpec:
    code: str
    kind: str  # "district" | "city"
    name: I18n
    region: I18n
    # The place as it reads inside the PCC's name: English, Russian genitive, Kyrgyz genitive.
    of_place: I18n


TERRITORIES: tuple[_TerritorySpec, ...] = (
    _TerritorySpec(
        "alamedin",
        "district",
        ("Alamedin district", "Аламудунский район", "Аламүдүн району"),
        CHUI,
        ("Alamedin District", "Аламудунского района", "Аламүдүн районунун"),
    ),
    _TerritorySpec(
        "sokuluk",
        "district",
        ("Sokuluk district", "Сокулукский район", "Сокулук району"),
        CHUI,
        ("Sokuluk District", "Сокулукского района", "Сокулук районунун"),
    ),
    _TerritorySpec(
        "osh",
        "city",
        ("Osh", "город Ош", "Ош шаары"),
        REPUBLICAN_CITY,
        ("Osh", "г. Ош", "Ош шаарынын"),
    ),
    _TerritorySpec(
        "uzgen",
        "city",
        ("Uzgen", "город Узген", "Өзгөн шаары"),
        OSH_REGION,
        ("Uzgen", "г. Узген", "Өзгөн шаарынын"),
    ),
    _TerritorySpec(
        "jalal-abad",
        "city",
        ("Jalal-Abad", "город Джалал-Абад", "Жалал-Абад шаары"),
        JALAL_ABAD_REGION,
        ("Jalal-Abad", "г. Джалал-Абад", "Жалал-Абад шаарынын"),
    ),
    _TerritorySpec(
        "batken",
        "city",
        ("Batken", "город Баткен", "Баткен шаары"),
        BATKEN_REGION,
        ("Batken", "г. Баткен", "Баткен шаарынын"),
    ),
    _TerritorySpec(
        "razzakov",
        "city",
        ("Razzakov", "город Раззаков", "Раззаков шаары"),
        BATKEN_REGION,
        ("Razzakov", "г. Раззаков", "Раззаков шаарынын"),
    ),
)


def _pcc_name(of_place: I18n) -> I18n:
    en, ru, ky = of_place
    return (
        f"Peacebuilding Coordination Council of {en}",
        f"Координационный совет по миростроительству {ru}",
        f"{ky} тынчтыкты бекемдөө боюнча координациялык кеңеши",
    )


def _plan_title(of_place: I18n) -> I18n:
    en, ru, ky = of_place
    return (
        f"Action plan of the Peacebuilding Coordination Council of {en}, 2026–2027",
        f"План действий Координационного совета по миростроительству {ru} на 2026–2027 годы",
        f"{ky} тынчтыкты бекемдөө боюнча координациялык кеңешинин 2026–2027-жылдарга "
        "иш-аракеттер планы",
    )


@dataclass(frozen=True)
class _IndicatorSpec:
    name: I18n
    unit: str
    target: Decimal
    baseline: Decimal | None


@dataclass(frozen=True)
class _ThemeSpec:
    objective: I18n
    target_groups: tuple[str, ...]
    gender_responsive: bool
    conflict_sensitive: bool
    indicators: tuple[_IndicatorSpec, ...]


THEMES: dict[str, _ThemeSpec] = {
    "dialogue": _ThemeSpec(
        (
            "Strengthen inter-ethnic dialogue and trust between communities",
            "Укрепление межэтнического диалога и доверия между сообществами",
            "Жамааттар ортосундагы этностор аралык диалогду жана ишенимди бекемдөө",
        ),
        ("ethnic minorities", "youth", "local self-government"),
        gender_responsive=False,
        conflict_sensitive=True,
        indicators=(
            _IndicatorSpec(
                (
                    "Joint inter-community events held",
                    "Количество совместных мероприятий сообществ",
                    "Жамааттардын биргелешкен иш-чараларынын саны",
                ),
                "events",
                Decimal(12),
                Decimal(3),
            ),
            _IndicatorSpec(
                (
                    "Share of residents who trust neighbours of another ethnicity",
                    "Доля жителей, доверяющих соседям другой национальности",
                    "Башка улуттагы кошуналарына ишенген тургундардын үлүшү",
                ),
                "%",
                Decimal(70),
                Decimal("54.5"),
            ),
            _IndicatorSpec(
                (
                    "Local mediators trained",
                    "Количество обученных местных медиаторов",
                    "Окутулган жергиликтүү медиаторлордун саны",
                ),
                "persons",
                Decimal(20),
                Decimal(0),
            ),
        ),
    ),
    "pve": _ThemeSpec(
        (
            "Prevent violent extremism through community resilience and dialogue with "
            "religious leaders",
            "Профилактика насильственного экстремизма через устойчивость сообществ и диалог "
            "с религиозными лидерами",
            "Жамааттардын туруктуулугу жана диний лидерлер менен диалог аркылуу "
            "зордук-зомбулуктуу экстремизмдин алдын алуу",
        ),
        ("youth", "religious leaders", "returning migrants"),
        gender_responsive=False,
        conflict_sensitive=True,
        indicators=(
            _IndicatorSpec(
                (
                    "Religious leaders trained in prevention approaches",
                    "Количество религиозных лидеров, обученных подходам к профилактике экстремизма",
                    "Экстремизмдин алдын алуу боюнча окуудан өткөн диний лидерлердин саны",
                ),
                "persons",
                Decimal(40),
                Decimal(0),
            ),
            _IndicatorSpec(
                (
                    "Young people reached by prevention activities",
                    "Количество молодых людей, охваченных профилактическими мероприятиями",
                    "Алдын алуу иш-чараларына камтылган жаштардын саны",
                ),
                "persons",
                Decimal(600),
                None,
            ),
        ),
    ),
    "women": _ThemeSpec(
        (
            "Increase women's participation in local decision making",
            "Расширение участия женщин в принятии решений на местном уровне",
            "Жергиликтүү деңгээлде чечим кабыл алууга аялдардын катышуусун кеңейтүү",
        ),
        ("women", "local self-government"),
        gender_responsive=True,
        conflict_sensitive=True,
        indicators=(
            _IndicatorSpec(
                (
                    "Share of women among participants in public hearings",
                    "Доля женщин среди участников публичных слушаний",
                    "Коомдук угууларга катышкандардын арасында аялдардын үлүшү",
                ),
                "%",
                Decimal(45),
                Decimal(22),
            ),
            _IndicatorSpec(
                (
                    "Women's initiatives included in the local budget",
                    "Количество инициатив женщин, включённых в местный бюджет",
                    "Жергиликтүү бюджетке киргизилген аялдардын демилгелеринин саны",
                ),
                "initiatives",
                Decimal(6),
                Decimal(1),
            ),
        ),
    ),
    "media_literacy": _ThemeSpec(
        (
            "Build youth media literacy and resilience to disinformation",
            "Повышение медиаграмотности молодёжи и устойчивости к дезинформации",
            "Жаштардын медиасабаттуулугун жана жалган маалыматка туруктуулугун жогорулатуу",
        ),
        ("youth", "women"),
        gender_responsive=True,
        conflict_sensitive=False,
        indicators=(
            _IndicatorSpec(
                (
                    "Young people completing the media literacy course",
                    "Количество молодых людей, завершивших курс медиаграмотности",
                    "Медиасабаттуулук курсун аяктаган жаштардын саны",
                ),
                "persons",
                Decimal(300),
                Decimal(0),
            ),
            _IndicatorSpec(
                (
                    "Share of girls among course graduates",
                    "Доля девушек среди выпускников курса",
                    "Курсту аяктагандардын арасында кыздардын үлүшү",
                ),
                "%",
                Decimal(50),
                None,
            ),
        ),
    ),
    "water": _ThemeSpec(
        (
            "Resolve water and pasture disputes through joint community mechanisms",
            "Урегулирование споров за водные и пастбищные ресурсы через совместные "
            "механизмы сообществ",
            "Суу жана жайыт ресурстары боюнча талаш-тартыштарды жамааттардын биргелешкен "
            "механизмдери аркылуу жөнгө салуу",
        ),
        ("farmers", "local self-government", "women"),
        gender_responsive=False,
        conflict_sensitive=True,
        indicators=(
            _IndicatorSpec(
                (
                    "Water and pasture disputes resolved by mediation",
                    "Количество споров по воде и пастбищам, урегулированных путём медиации",
                    "Медиация аркылуу чечилген суу жана жайыт талаштарынын саны",
                ),
                "disputes",
                Decimal(20),
                Decimal(4),
            ),
            _IndicatorSpec(
                (
                    "Joint irrigation schedules agreed",
                    "Количество согласованных совместных графиков полива",
                    "Макулдашылган биргелешкен сугат графиктеринин саны",
                ),
                "schedules",
                Decimal(5),
                Decimal(0),
            ),
        ),
    ),
    "border": _ThemeSpec(
        (
            "Strengthen cooperation and trust between border communities",
            "Укрепление сотрудничества и доверия между приграничными сообществами",
            "Чек арага жакын жайгашкан жамааттардын кызматташтыгын жана ишенимин бекемдөө",
        ),
        ("youth", "women", "local self-government", "ethnic minorities"),
        gender_responsive=True,
        conflict_sensitive=True,
        indicators=(
            _IndicatorSpec(
                (
                    "Joint initiatives of border communities implemented",
                    "Количество реализованных совместных инициатив приграничных сообществ",
                    "Чек ара жамааттарынын ишке ашырылган биргелешкен демилгелеринин саны",
                ),
                "initiatives",
                Decimal(8),
                Decimal(1),
            ),
            _IndicatorSpec(
                (
                    "Border incidents settled through dialogue platforms",
                    "Количество инцидентов на границе, урегулированных через диалоговые площадки",
                    "Диалог аянтчалары аркылуу жөнгө салынган чек ара окуяларынын саны",
                ),
                "incidents",
                Decimal(10),
                None,
            ),
        ),
    ),
    "hate_speech": _ThemeSpec(
        (
            "Monitor and counter hate speech through community media",
            "Мониторинг языка вражды и противодействие ему силами местных общественных СМИ",
            "Жергиликтүү коомдук ЖМК аркылуу жек көрүү тилине мониторинг жүргүзүү жана ага "
            "каршы туруу",
        ),
        ("journalists", "youth", "ethnic minorities"),
        gender_responsive=False,
        conflict_sensitive=True,
        indicators=(
            _IndicatorSpec(
                (
                    "Monthly hate-speech monitoring reports published",
                    "Количество опубликованных ежемесячных отчётов мониторинга языка вражды",
                    "Жек көрүү тилине мониторинг боюнча жарыяланган айлык отчеттордун саны",
                ),
                "reports",
                Decimal(24),
                Decimal(0),
            ),
            _IndicatorSpec(
                (
                    "Community journalists trained in conflict-sensitive reporting",
                    "Количество местных журналистов, обученных конфликтно-чувствительной "
                    "журналистике",
                    "Чыр-чатакка сезимтал журналистика боюнча окутулган жергиликтүү "
                    "журналисттердин саны",
                ),
                "persons",
                Decimal(35),
                Decimal(5),
            ),
        ),
    ),
    "migrants": _ThemeSpec(
        (
            "Reintegrate returning migrants and their families into community life",
            "Реинтеграция вернувшихся трудовых мигрантов и их семей в жизнь местного сообщества",
            "Кайтып келген эмгек мигранттарын жана алардын үй-бүлөлөрүн жергиликтүү "
            "жамааттын жашоосуна кайра интеграциялоо",
        ),
        ("returning migrants", "women", "youth"),
        gender_responsive=True,
        conflict_sensitive=True,
        indicators=(
            _IndicatorSpec(
                (
                    "Returning migrants receiving counselling",
                    "Количество вернувшихся мигрантов, получивших консультации",
                    "Консультация алган кайтып келген мигранттардын саны",
                ),
                "persons",
                Decimal(250),
                Decimal(0),
            ),
        ),
    ),
}


@dataclass(frozen=True)
class _ItemSpec:
    code: str  # without the territory prefix, e.g. "1.1"
    theme: str  # a key of THEMES
    budget_som: int
    activities: str


@dataclass(frozen=True)
class _MemberSpec:
    full_name: str
    pillar: Pillar
    position: str


_PI = Pillar.PUBLIC_INSTITUTION
_CS = Pillar.CIVIL_SOCIETY
_MEDIA = Pillar.MEDIA


@dataclass(frozen=True)
class _PccSpec:
    territory: str  # territory code
    prefix: str  # of the item codes, e.g. "OSH"
    established_year: int
    members: tuple[_MemberSpec, ...]
    items: tuple[_ItemSpec, ...]


PCCS: tuple[_PccSpec, ...] = (
    _PccSpec(
        "alamedin",
        "ALM",
        2017,
        (
            _MemberSpec(
                "Nurlan Asanbekov", _PI, "Deputy head of the Alamedin district state administration"
            ),
            _MemberSpec(
                "Svetlana Kim",
                _PI,
                "Head of the social affairs department, Lebedinovka ayil okmotu",
            ),
            _MemberSpec("Ermek Toktosunov", _CS, "Director, Koy-Tash youth centre"),
            _MemberSpec("Aigerim Sydykova", _MEDIA, "Correspondent, Chui regional television"),
        ),
        (
            _ItemSpec(
                "1.1",
                "dialogue",
                950_000,
                "Quarterly inter-community dialogue forums in Lebedinovka, Koy-Tash and "
                "Tash-Dobo ayil aimaks; joint Nooruz and harvest festivals; training of "
                "20 local mediators.",
            ),
            _ItemSpec(
                "1.2",
                "women",
                780_000,
                "Leadership school for 40 women activists; support to women's councils "
                "in preparing proposals for ayil kenesh budget hearings.",
            ),
            _ItemSpec(
                "2.1",
                "water",
                1_400_000,
                "Mapping of irrigation disputes along the Alamedin river; joint meetings "
                "of water users' associations; irrigation schedules agreed between "
                "upstream and downstream villages.",
            ),
            _ItemSpec(
                "2.2",
                "media_literacy",
                620_000,
                "Media literacy clubs in 8 schools; a student fact-checking contest; "
                "training of school teachers as facilitators.",
            ),
        ),
    ),
    _PccSpec(
        "sokuluk",
        "SOK",
        2017,
        (
            _MemberSpec(
                "Kubanychbek Dzhumabaev",
                _PI,
                "Deputy head of the Sokuluk district state administration",
            ),
            _MemberSpec("Elena Petrova", _PI, "Head of the district education department"),
            _MemberSpec("Asel Mamytova", _CS, "Chair, women's council of Sokuluk ayil aimak"),
            _MemberSpec("Dmitry Li", _CS, "Coordinator, district association of water users"),
            _MemberSpec("Talant Osmonov", _MEDIA, "Editor, Sokuluk district newspaper"),
        ),
        (
            _ItemSpec(
                "1.1",
                "water",
                1_100_000,
                "Mediation of water and pasture disputes between villages of the "
                "district; a rehabilitation plan for shared irrigation canals agreed by "
                "the ayil okmotus; trainings for pasture committees.",
            ),
            _ItemSpec(
                "1.2",
                "migrants",
                850_000,
                "Counselling desk for returning labour migrants at the district "
                "administration; short vocational courses; community reintegration "
                "events with their families.",
            ),
            _ItemSpec(
                "2.1",
                "dialogue",
                700_000,
                "Inter-ethnic youth summer camps and joint cultural days of the "
                "district's multi-ethnic villages.",
            ),
            _ItemSpec(
                "2.2",
                "women",
                650_000,
                "Women's participation in local budget hearings; mentoring of women "
                "candidates for the ayil kenesh elections.",
            ),
        ),
    ),
    _PccSpec(
        "osh",
        "OSH",
        2016,
        (
            _MemberSpec("Zhyldyz Abdykadyrova", _PI, "Deputy Mayor of Osh for social affairs"),
            _MemberSpec(
                "Nodira Ismailova",
                _PI,
                "Chief specialist, mayor's office department for work with communities",
            ),
            _MemberSpec(
                "Davron Yusupov", _CS, "Chair, neighbourhood (mahalla) committee of Amir-Timur"
            ),
            _MemberSpec("Mirlan Zhoroev", _CS, "Director, Osh youth resource centre"),
            _MemberSpec(
                "Ulugbek Kadyrov", _MEDIA, "Editor-in-chief, Uzbek-language community newspaper"
            ),
            _MemberSpec("Gulnara Tashieva", _MEDIA, "Journalist, Osh city radio"),
        ),
        (
            _ItemSpec(
                "1.1",
                "dialogue",
                1_250_000,
                "Mahalla-level dialogue platforms in mixed neighbourhoods; joint "
                "commemoration and reconciliation events; mediation training for "
                "neighbourhood committee leaders.",
            ),
            _ItemSpec(
                "1.2",
                "hate_speech",
                900_000,
                "Monthly monitoring of hate speech in Kyrgyz-, Uzbek- and "
                "Russian-language local media and social networks; public reports; "
                "trainings for editors.",
            ),
            _ItemSpec(
                "2.1",
                "women",
                800_000,
                "Women's public hearings in every city district; advocacy for women's "
                "priorities in the city budget.",
            ),
            _ItemSpec(
                "2.2",
                "pve",
                1_050_000,
                "Dialogue meetings of religious leaders, young people and local police; "
                "resilience trainings for young people at risk of recruitment.",
            ),
            _ItemSpec(
                "3.1",
                "media_literacy",
                600_000,
                "Youth media literacy lab with a local university; school fact-checking "
                "clubs; a short-video contest on diversity.",
            ),
        ),
    ),
    _PccSpec(
        "uzgen",
        "UZG",
        2018,
        (
            _MemberSpec("Abdumalik Mamatov", _PI, "Deputy Mayor of Uzgen"),
            _MemberSpec("Kanybek Sultanov", _PI, "Chair, aksakals' court of Uzgen"),
            _MemberSpec("Makhliyo Rakhimova", _CS, "Chair, Uzgen city women's council"),
            _MemberSpec("Rustam Ergashev", _MEDIA, "Presenter, Uzgen local television"),
        ),
        (
            _ItemSpec(
                "1.1",
                "dialogue",
                700_000,
                "Joint Kyrgyz-Uzbek community initiatives in the city's mahallas; "
                "intergenerational dialogue with aksakals.",
            ),
            _ItemSpec(
                "1.2",
                "pve",
                820_000,
                "Trainings for imams and school teachers on prevention of violent "
                "extremism; youth sports and debate leagues.",
            ),
            _ItemSpec(
                "2.1",
                "women",
                540_000,
                "Support to the city women's council; women-led micro-initiatives on "
                "neighbourhood safety.",
            ),
            _ItemSpec(
                "2.2",
                "water",
                960_000,
                "A joint water management committee for the irrigation canals fed by "
                "the Kara-Darya; mediation of seasonal disputes.",
            ),
        ),
    ),
    _PccSpec(
        "jalal-abad",
        "JAL",
        2016,
        (
            _MemberSpec(
                "Aziza Karimova",
                _PI,
                "Head of the youth affairs department, Jalal-Abad mayor's office",
            ),
            _MemberSpec("Bektur Asanaliev", _CS, "Lawyer, human rights public association"),
            _MemberSpec("Cholpon Baieva", _CS, "Chair, Jalal-Abad city women's council"),
            _MemberSpec("Farkhod Nazarov", _MEDIA, "Journalist, regional news portal"),
        ),
        (
            _ItemSpec(
                "1.1",
                "pve",
                1_150_000,
                "Community resilience programme in the new settlements around the city; "
                "dialogue between religious leaders and local self-government; a "
                "referral mechanism for families of returnees.",
            ),
            _ItemSpec(
                "1.2",
                "migrants",
                880_000,
                "Reintegration services for returning migrants and their families; "
                "psychosocial support; a job fair with local businesses.",
            ),
            _ItemSpec(
                "2.1",
                "hate_speech",
                640_000,
                "Hate-speech monitoring by community journalists; a school of "
                "conflict-sensitive reporting; public debates on responsible media.",
            ),
            _ItemSpec(
                "2.2",
                "women",
                720_000,
                "Women's initiative groups in neighbourhood committees; training in "
                "participatory budgeting.",
            ),
        ),
    ),
    _PccSpec(
        "batken",
        "BAT",
        2017,
        (
            _MemberSpec("Sanzhar Muratov", _PI, "Deputy Mayor of Batken"),
            _MemberSpec("Ainura Mamasalieva", _CS, "Coordinator, women's peace network of Batken"),
            _MemberSpec("Erkinbek Tashtanov", _CS, "Director, Batken youth centre"),
            _MemberSpec("Zarina Khodzhaeva", _MEDIA, "Correspondent, Batken regional radio"),
        ),
        (
            _ItemSpec(
                "1.1",
                "border",
                1_500_000,
                "Exchanges of young people and women with neighbouring communities "
                "across the border; joint infrastructure micro-projects; an "
                "early-warning network of community monitors.",
            ),
            _ItemSpec(
                "1.2",
                "water",
                1_200_000,
                "Mediation of disputes over shared irrigation water and pastures in "
                "border villages such as Ak-Sai; agreed use schedules; joint canal "
                "maintenance.",
            ),
            _ItemSpec(
                "2.1",
                "women",
                600_000,
                "Training of women mediators; women's participation in community "
                "meetings of the border commission.",
            ),
            _ItemSpec(
                "2.2",
                "migrants",
                500_000,
                "Support to families of labour migrants; reintegration of returnees "
                "through community service projects.",
            ),
        ),
    ),
    _PccSpec(
        "razzakov",
        "RAZ",
        2019,
        (
            _MemberSpec("Abdylla Toktomatov", _PI, "Deputy Mayor of Razzakov"),
            _MemberSpec("Mukhabbat Nurmatova", _CS, "Chair, Razzakov city women's council"),
            _MemberSpec("Shakhnoza Zhuraeva", _CS, "Coordinator, cross-border youth initiative"),
            _MemberSpec("Bakai Abdykerimov", _MEDIA, "Editor, Leilek district newspaper"),
        ),
        (
            _ItemSpec(
                "1.1",
                "border",
                1_300_000,
                "A cross-border community dialogue platform for the Leilek district; "
                "joint cultural and sports events; support to local mediators at "
                "border markets.",
            ),
            _ItemSpec(
                "1.2",
                "media_literacy",
                450_000,
                "Media literacy and counter-rumour trainings for young people; a youth "
                "radio programme on cross-border cooperation.",
            ),
            _ItemSpec(
                "2.1",
                "pve",
                700_000,
                "Mentoring, vocational clubs and dialogue with religious leaders for "
                "young people at risk of recruitment.",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class _SourceSpec:
    code: str
    name: str
    kind: FundingSourceKind
    currency: str
    description: str


FUNDING_SOURCES: tuple[_SourceSpec, ...] = (
    _SourceSpec(
        "pbf-undp",
        "UN Peacebuilding Fund (PBF) via UNDP",
        FundingSourceKind.UN_AGENCY,
        "USD",
        "Peacebuilding Fund contribution administered by UNDP Kyrgyzstan.",
    ),
    _SourceSpec(
        "unesco",
        "UNESCO",
        FundingSourceKind.UN_AGENCY,
        "USD",
        "UNESCO contribution for media, youth and intercultural dialogue activities.",
    ),
    _SourceSpec(
        "osh-mayor",
        "Osh City Mayor's Office (co-funding)",
        FundingSourceKind.LOCAL_GOVERNMENT,
        "KGS",
        "Co-funding from the city budget of Osh.",
    ),
    _SourceSpec(
        "batken-mayor",
        "Batken City Mayor's Office (co-funding)",
        FundingSourceKind.LOCAL_GOVERNMENT,
        "KGS",
        "Co-funding from the city budget of Batken.",
    ),
    _SourceSpec(
        "eu",
        "European Union",
        FundingSourceKind.DONOR,
        "EUR",
        "European Union contribution to cross-border cooperation in the Batken region.",
    ),
)


@dataclass(frozen=True)
class _OrgSpec:
    short: str  # for the applicant's e-mail
    name: str
    kind: OrganisationKind
    territory: str
    founded_year: int
    registration_number: str
    email: str
    phone: str
    address: str
    description: str
    women_led: bool = False
    youth_led: bool = False


ORGANISATIONS: tuple[_OrgSpec, ...] = (
    _OrgSpec(
        "yntymak",
        'Public Association "Yntymak-Alamedin"',
        OrganisationKind.CSO,
        "alamedin",
        2009,
        "41872-3301-ОО",
        "info@yntymak-alamedin.kg",
        "+996 555 214 387",
        "14 Sovetskaya St., Lebedinovka village, Alamedin district, Chui region",
        "Community development and mediation in the villages of Alamedin district.",
    ),
    _OrgSpec(
        "koytash",
        'Initiative group "Koy-Tash Neighbours"',
        OrganisationKind.INITIATIVE_GROUP,
        "alamedin",
        2023,
        "ИГ-2023-0147",
        "koytash.neighbours@gmail.com",
        "+996 700 483 120",
        "Koy-Tash village, Alamedin district, Chui region",
        "Residents' group organising joint clean-ups and festivals in a mixed village.",
    ),
    _OrgSpec(
        "ayalzat",
        'Women\'s Council "Ayalzat" of Sokuluk',
        OrganisationKind.WOMEN_LED,
        "sokuluk",
        2014,
        "33105-3301-ОО",
        "ayalzat.sokuluk@mail.kg",
        "+996 772 905 116",
        "31 Frunze St., Sokuluk village, Sokuluk district, Chui region",
        "Network of village women's councils working on women's leadership.",
        women_led=True,
    ),
    _OrgSpec(
        "mediakopuro",
        'Public Foundation "Media Kopuro"',
        OrganisationKind.COMMUNITY_MEDIA,
        "osh",
        2016,
        "52210-3306-ОФ",
        "editor@mediakopuro.kg",
        "+996 3222 5 47 81",
        "77 Kurmanjan Datka St., Osh",
        "Trilingual community news site and radio programmes (Kyrgyz, Uzbek, Russian).",
    ),
    _OrgSpec(
        "nurosh",
        'Public Foundation "Nur-Osh Community Development"',
        OrganisationKind.CSO,
        "osh",
        2011,
        "28764-3306-ОФ",
        "office@nur-osh.kg",
        "+996 555 730 642",
        "19 Masaliev Ave., Osh",
        "Neighbourhood development and dialogue projects in mixed mahallas of Osh.",
        women_led=True,
    ),
    _OrgSpec(
        "kelechek",
        'Youth group "Kelechek Uzgen"',
        OrganisationKind.YOUTH_GROUP,
        "uzgen",
        2019,
        "61093-3315-ОО",
        "kelechek.uzgen@gmail.com",
        "+996 770 118 954",
        "5 Manas St., Uzgen, Osh region",
        "Volunteers aged 16–28 running debate clubs and sports for peace.",
        youth_led=True,
    ),
    _OrgSpec(
        "ukuk",
        'Public Association "Ukuk Jalal-Abad Human Rights Centre"',
        OrganisationKind.HUMAN_RIGHTS,
        "jalal-abad",
        2005,
        "17420-3303-ОО",
        "ukuk.ja@mail.kg",
        "+996 3722 5 20 33",
        "42 Lenin St., Jalal-Abad",
        "Legal aid, monitoring of rights of minorities and returning migrants.",
    ),
    _OrgSpec(
        "jashtar",
        'Youth association "Jashtar Demilgesi"',
        OrganisationKind.YOUTH_GROUP,
        "jalal-abad",
        2021,
        "70318-3303-ОО",
        "jashtar.demilgesi@gmail.com",
        "+996 507 662 481",
        "8 Toktogul St., Jalal-Abad",
        "Youth initiatives on civic education and media literacy.",
        women_led=True,
        youth_led=True,
    ),
    _OrgSpec(
        "aksai",
        'Initiative group "Ak-Sai Youth for Peace"',
        OrganisationKind.INITIATIVE_GROUP,
        "batken",
        2025,
        "ИГ-2025-0032",
        "aksai.youth@gmail.com",
        "+996 709 341 775",
        "Ak-Sai village, Batken district, Batken region",
        "Young people of a border village organising joint events with neighbours.",
        youth_led=True,
    ),
    _OrgSpec(
        "ayilunu",
        'Community radio "Ayil Unu"',
        OrganisationKind.COMMUNITY_MEDIA,
        "batken",
        2012,
        "39951-3307-ОФ",
        "radio@ayilunu.kg",
        "+996 3622 5 11 09",
        "3 Joldosh Uulu St., Batken",
        "Community radio in Kyrgyz and Tajik for the villages along the border.",
    ),
    _OrgSpec(
        "leilek",
        'Public Association "Women of Leilek for Peace"',
        OrganisationKind.WOMEN_LED,
        "razzakov",
        2018,
        "58207-3307-ОО",
        "leilek.women@mail.kg",
        "+996 777 402 913",
        "11 Razzakov St., Razzakov, Leilek district, Batken region",
        "Women mediators and cross-border women's dialogue groups.",
        women_led=True,
    ),
)


@dataclass(frozen=True)
class _StaffSpec:
    local: str  # the part of the e-mail before @
    full_name: str
    role: Role
    language: Language


STAFF: tuple[_StaffSpec, ...] = (
    _StaffSpec("admin", "Aida Kasymova", Role.ADMIN, Language.EN),
    _StaffSpec("officer", "Nazgul Turdubaeva", Role.PROGRAMME_OFFICER, Language.RU),
    # a second programme officer: the selection's four eyes (approves what the first computed)
    _StaffSpec("officer2", "Bakyt Osmonov", Role.PROGRAMME_OFFICER, Language.KY),
    _StaffSpec("finance", "Marat Isakov", Role.FINANCE_OFFICER, Language.RU),
    _StaffSpec("finance2", "Olga Sokolova", Role.FINANCE_OFFICER, Language.EN),
    _StaffSpec("auditor", "Daniyar Bekov", Role.AUDITOR, Language.EN),
    _StaffSpec("reviewer1", "Gulmira Abdullaeva", Role.REVIEWER, Language.KY),
    _StaffSpec("reviewer2", "Azamat Dzhaparov", Role.REVIEWER, Language.RU),
    _StaffSpec("reviewer3", "Cholpon Baieva", Role.REVIEWER, Language.KY),
    _StaffSpec("reviewer4", "Sherzod Mirzaev", Role.REVIEWER, Language.EN),
)


@dataclass(frozen=True)
class _ApplicantSpec:
    organisation: str  # OrgSpec.short; the user owns it
    full_name: str
    language: Language


APPLICANTS: tuple[_ApplicantSpec, ...] = (
    _ApplicantSpec("yntymak", "Bakyt Sadykov", Language.KY),
    _ApplicantSpec("koytash", "Tatyana Ivanova", Language.RU),
    _ApplicantSpec("ayalzat", "Gulnara Omurbekova", Language.KY),
    _ApplicantSpec("mediakopuro", "Bobur Alimov", Language.RU),
    _ApplicantSpec("nurosh", "Dilnoza Khamidova", Language.RU),
    _ApplicantSpec("kelechek", "Nurbek Tolonov", Language.KY),
    _ApplicantSpec("ukuk", "Aibek Zhumaliev", Language.RU),
    _ApplicantSpec("jashtar", "Aizada Ermekova", Language.KY),
    _ApplicantSpec("aksai", "Almaz Toktorov", Language.KY),
    _ApplicantSpec("ayilunu", "Meerim Satybaldieva", Language.KY),
    _ApplicantSpec("leilek", "Saltanat Kurbanova", Language.EN),
)

#: (applicant's organisation, second organisation): the applicant is also a plain member there.
SECOND_MEMBERSHIPS: tuple[tuple[str, str], ...] = (("nurosh", "mediakopuro"),)

#: (reviewer e-mail local part, organisation short name, description): declared affiliations.
AFFILIATIONS: tuple[tuple[str, str, str], ...] = (
    ("reviewer2", "ukuk", "Member of the supervisory board, 2019–2023"),
)

#: (territory code, member full name, staff e-mail local part): PCC members with an account.
PCC_MEMBER_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("jalal-abad", "Cholpon Baieva", "reviewer3"),
)


def _email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


def _applicant_email(org_short: str) -> str:
    return _email(f"applicant.{org_short}")


# --- loading --------------------------------------------------------------------------------

T = TypeVar("T", bound=SQLModel)


class _Loader:
    """Looks rows up by natural key and creates the missing ones, counting and auditing each."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
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

    async def territory(self, spec: _TerritorySpec) -> Territory:
        row = await self.first(select(Territory).where(Territory.code == spec.code))
        if row is None:
            row = await self.create(
                "territory",
                Territory(
                    code=spec.code,
                    kind=spec.kind,
                    name=_i18n(spec.name),
                    region=_i18n(spec.region),
                ),
            )
        self.territories[spec.code] = row
        return row

    async def pcc(self, spec: _TerritorySpec, established_year: int) -> Pcc:
        territory = self.territories[spec.code]
        row = await self.first(select(Pcc).where(Pcc.territory_id == territory.id))
        if row is None:
            row = await self.create(
                "pcc",
                Pcc(
                    territory_id=territory.id,
                    name=_i18n(_pcc_name(spec.of_place)),
                    established_year=established_year,
                ),
            )
        self.pccs[spec.code] = row
        return row

    async def pcc_member(self, pcc: Pcc, spec: _MemberSpec, user_id: uuid.UUID | None) -> PccMember:
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

    async def action_plan(self, pcc: Pcc, title: I18n) -> ActionPlan:
        plans = (
            await self.session.scalars(select(ActionPlan).where(ActionPlan.pcc_id == pcc.id))
        ).all()
        for plan in plans:
            if plan.title.get("en") == title[0]:
                return plan
        return await self.create(
            "action_plan",
            ActionPlan(
                pcc_id=pcc.id,
                title=_i18n(title),
                period_start=PLAN_START,
                period_end=PLAN_END,
                status=ActionPlanStatus.ACTIVE,
            ),
        )

    async def action_plan_item(
        self, plan: ActionPlan, code: str, spec: _ItemSpec
    ) -> ActionPlanItem:
        row = await self.first(
            select(ActionPlanItem).where(
                ActionPlanItem.action_plan_id == plan.id, ActionPlanItem.code == code
            )
        )
        if row is None:
            theme = THEMES[spec.theme]
            row = await self.create(
                "action_plan_item",
                ActionPlanItem(
                    action_plan_id=plan.id,
                    code=code,
                    objective=_i18n(theme.objective),
                    activities=spec.activities,
                    budget_estimate=_kgs(spec.budget_som),
                    currency="KGS",
                    target_groups=list(theme.target_groups),
                    gender_responsive=theme.gender_responsive,
                    conflict_sensitive=theme.conflict_sensitive,
                ),
            )
        return row

    async def indicators(self, item: ActionPlanItem, specs: tuple[_IndicatorSpec, ...]) -> None:
        existing = (
            await self.session.scalars(
                select(Indicator).where(Indicator.action_plan_item_id == item.id)
            )
        ).all()
        names = {ind.name.get("en") for ind in existing}
        for spec in specs:
            if spec.name[0] in names:
                continue
            await self.create(
                "indicator",
                Indicator(
                    action_plan_item_id=item.id,
                    name=_i18n(spec.name),
                    unit=spec.unit,
                    target=spec.target,
                    baseline=spec.baseline,
                ),
            )

    # -- finance -----------------------------------------------------------------------------

    async def funding_source(self, spec: _SourceSpec) -> FundingSource:
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

    async def organisation(self, spec: _OrgSpec) -> Organisation:
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
    specs = {t.code: t for t in TERRITORIES}
    for territory in TERRITORIES:
        await loader.territory(territory)
    for pcc in PCCS:
        await loader.pcc(specs[pcc.territory], pcc.established_year)


async def _load_people(loader: _Loader) -> None:
    for org_spec in ORGANISATIONS:
        await loader.organisation(org_spec)
    for staff in STAFF:
        user = await loader.user(
            _email(staff.local), staff.full_name, staff.language, staff.role.value
        )
        await loader.user_role(user, staff.role)
    for applicant in APPLICANTS:
        org = loader.organisations[applicant.organisation]
        user = await loader.user(
            _applicant_email(applicant.organisation),
            applicant.full_name,
            applicant.language,
            f"applicant ({org.name})",
        )
        await loader.membership(user, org, MembershipRole.OWNER)
    for owner_of, also_in in SECOND_MEMBERSHIPS:
        await loader.membership(
            loader.users[_applicant_email(owner_of)],
            loader.organisations[also_in],
            MembershipRole.MEMBER,
        )
    for local, org_short, description in AFFILIATIONS:
        await loader.affiliation(
            loader.users[_email(local)], loader.organisations[org_short], description
        )


async def _load_plans(loader: _Loader) -> None:
    specs = {t.code: t for t in TERRITORIES}
    accounts = {
        (territory, name): loader.users[_email(local)].id
        for territory, name, local in PCC_MEMBER_ACCOUNTS
    }
    for pcc_spec in PCCS:
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
            await loader.indicators(item, THEMES[item_spec.theme].indicators)


async def load_demo_data(
    session: AsyncSession, storage_dir: Path | None = None, *, with_grants: bool = True
) -> DemoSummary:
    """Create whatever of the demo data is missing (flushes, never commits).

    `storage_dir`: where the demo proposals' attachments go (default: the settings' storage).
    `with_grants`: False stops at the selection (the end-to-end test makes the grants itself)."""
    from service.demo_call import load_demo_call
    from service.demo_grants import load_demo_grants
    from service.settings import Settings
    from service.storage import FileStore

    loader = _Loader(session)
    await _load_places(loader)
    for source in FUNDING_SOURCES:
        await loader.funding_source(source)
    await _load_people(loader)
    await _load_plans(loader)
    store = FileStore(storage_dir or Settings().resolved_storage_dir)
    if await load_demo_call(session, store):
        loader.created["call"] = 1
    if with_grants and (grants := await load_demo_grants(session)):
        loader.created["grant"] = grants
    return DemoSummary(logins=list(loader.logins), created=dict(loader.created))


__all__ = ["DEMO_PASSWORD", "DemoLogin", "DemoSummary", "load_demo_data"]
