"""The public transparency page: the awards of decided windows, per territory and PCC, with
charts of money by territory and by funding source (GetTransparency; anyone may read it).

Only organisations are named; the API gives no person's data. The PCCs' plan-progress pages
(/pccs/{id}/progress) are for staff and the PCC's members, so the public page shows its own
summary of the plan items funded, and links to the progress page for staff."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from litestar import Request, get

from contracts.transparency import PublicGrantRead, TransparencyRead
from web import i18n
from web.charts import Chart, bar_chart
from web.i18n import _
from web.labels import organisation_kinds
from web.render import page
from web.session import client_for, current_user

#: who may open every PCC's progress page (its own members may too, but the page cannot tell)
PROGRESS_READERS = frozenset({"finance_officer", "programme_officer", "auditor", "admin"})


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
            "chart_territory": by_territory,
            "chart_source": by_source,
            "kinds": organisation_kinds(),
            "staff": bool(user and PROGRESS_READERS & set(user.roles)),
        },
    )


ROUTES: list[Any] = [transparency]
