"""The public transparency page: the awards of decided windows, per territory and PCC, with
charts of money by territory and by funding source (GetTransparency; anyone may read it).

Only organisations are named; the API gives no person's data. The PCCs' plan-progress pages
(/pccs/{id}/progress) are for staff and the PCC's members (with the grants, tranches and
reports); the public page shows, for every PCC with a published (non-draft) plan, whether or
not a window of its territory is decided, the plan's public progress: a chart of money committed
and disbursed per item, the items funded or gaps (said in words) and the indicators baseline →
latest accepted value → target; staff get a link to the full progress page."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from litestar import Request, get

from contracts.transparency import PublicGrantRead, PublicPlanProgress, TransparencyRead
from web import i18n
from web.charts import Chart, bar_chart
from web.i18n import _
from web.labels import organisation_kinds
from web.render import page
from web.routes.pcc_progress import plan_statuses
from web.session import client_for, current_user


def money_charts(view: TransparencyRead, lang: str) -> tuple[Chart, Chart]:
    committed, disbursed = _("Committed"), _("Disbursed")
    by_territory = bar_chart(
        _("Money by territory"),
        _(
            "Money committed to and disbursed by the awarded grants in each territory, "
            "in %(currency)s."
        )
        % {"currency": view.currency},
        [i18n.localised(t.name) for t in view.by_territory],
        [
            (committed, [t.committed for t in view.by_territory]),
            (disbursed, [t.disbursed for t in view.by_territory]),
        ],
        view.currency,
        lang,
        chart_id="chart-territory",
        total_label=_("Total"),
    )
    by_source = bar_chart(
        _("Money by funding source"),
        _(
            "Money of the awarded grants charged to each funding source and disbursed from it, "
            "in %(currency)s."
        )
        % {"currency": view.currency},
        [i18n.localised(s.name) for s in view.by_funding_source],
        [
            (committed, [s.committed for s in view.by_funding_source]),
            (disbursed, [s.disbursed for s in view.by_funding_source]),
        ],
        view.currency,
        lang,
        chart_id="chart-source",
        total_label=_("Total"),
    )
    return by_territory, by_source


def _places(view: TransparencyRead) -> list[dict[str, Any]]:
    """Territories with grants, in the API's order: their grants and the plan items funded."""
    grants: dict[str, list[PublicGrantRead]] = defaultdict(list)
    for g in view.grants:
        grants[g.territory_code].append(g)
    places = []
    for t in view.by_territory:
        mine = grants.get(t.code, [])
        if not mine:
            continue
        items: dict[uuid.UUID, dict[str, Any]] = {}
        for g in mine:
            for item in g.items:
                entry = items.setdefault(item.id, {"item": item, "grants": 0})
                entry["grants"] += 1
        places.append(
            {
                "territory": t,
                "pcc_id": mine[0].pcc_id,
                "pcc_name": mine[0].pcc_name,
                "grants": mine,
                "plan_items": sorted(items.values(), key=lambda e: e["item"].code),
            }
        )
    return places


def plan_chart(plan: PublicPlanProgress, currency: str, lang: str) -> Chart:
    """Committed and disbursed per item of the plan, in one currency (items without money in
    it, the gaps among them, at zero)."""
    committed: list[int | None] = []
    disbursed: list[int | None] = []
    for item in plan.items:
        money = next((t for t in item.totals if t.currency == currency), None)
        committed.append(money.committed if money else 0)
        disbursed.append(money.disbursed if money else 0)
    return bar_chart(
        _("%(plan)s: committed and disbursed per item (%(currency)s)")
        % {"plan": i18n.localised(plan.title), "currency": currency},
        _(
            "For each of the plan's %(count)s items, the money committed by grants and the"
            " money disbursed so far, in %(currency)s."
        )
        % {"count": len(plan.items), "currency": currency},
        [f"{item.code} {i18n.localised(item.objective)}" for item in plan.items],
        [(_("Committed"), committed), (_("Disbursed"), disbursed)],
        currency,
        lang,
        chart_id=f"chart-plan-{plan.id.hex[:12]}-{currency.lower()}",
        total_label=_("Total"),
        short_labels=[item.code for item in plan.items],
    )


def _progress(view: TransparencyRead, lang: str) -> list[dict[str, Any]]:
    """The PCCs with published plans, in the API's order (by territory), each with its plans
    and one chart per plan and currency (the view's currency when nothing is financed yet)."""
    pccs: dict[uuid.UUID, dict[str, Any]] = {}
    for plan in view.plans:
        entry = pccs.setdefault(
            plan.pcc_id,
            {
                "pcc_id": plan.pcc_id,
                "pcc_name": plan.pcc_name,
                "territory_name": plan.territory_name,
                "plans": [],
            },
        )
        currencies = [t.currency for t in plan.totals] or [view.currency]
        entry["plans"].append(
            {
                "plan": plan,
                "charts": [plan_chart(plan, cur, lang) for cur in currencies] if plan.items else [],
                "indicators": [(item, ind) for item in plan.items for ind in item.indicators],
            }
        )
    return list(pccs.values())


@get("/transparency", name="transparency", include_in_schema=False)
async def transparency(request: Request[Any, Any, Any]) -> Any:
    user = current_user(request)
    view = await client_for(request).get_transparency()
    lang = i18n.current_language()
    by_territory, by_source = money_charts(view, lang)
    return page(
        request,
        "public/transparency.html",
        {
            "view": view,
            "places": _places(view),
            "progress": _progress(view, lang),
            "plan_statuses": plan_statuses(),
            "chart_territory": by_territory,
            "chart_source": by_source,
            "kinds": organisation_kinds(),
            "staff": bool(user and user.reads_every_pcc_progress),
        },
    )


ROUTES: list[Any] = [transparency]
