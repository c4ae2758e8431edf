"""A PCC's action-plan progress, for programme and finance officers, auditors and the PCC's own
members (GetPccProgress decides who: others get its 403 as the error page).

- `/pccs`: the PCCs by territory, each linking to its progress: every PCC for staff, the PCCs
  one sits on for everybody else (ListMyPccs; none: said so).
- `/pccs/{id}/progress`: per plan a chart of money committed and disbursed per item (one per
  currency: amounts are never converted) with its data table, then per item the grants and
  tranches that finance it, committed against disbursed, the indicators (baseline → latest from
  an accepted report → target, with the report), and the items no grant finances yet, said in
  words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.params import FromPath

from contracts.progress import PlanProgress
from web import i18n
from web.charts import Chart, bar_chart
from web.i18n import _
from web.labels import tranche_statuses
from web.render import page
from web.routes.account import require_user
from web.session import client_for


def plan_statuses() -> dict[str, str]:
    return {"draft": _("Draft"), "active": _("Active"), "closed": _("Closed")}


def report_kinds() -> dict[str, str]:
    return {"progress": _("Progress report"), "financial": _("Financial report")}


@dataclass
class PlanView:
    plan: PlanProgress
    charts: list[Chart]


def _charts(plan: PlanProgress) -> list[Chart]:
    """One chart per currency the plan's items are financed in: committed and disbursed per
    item (items without money in it, the gaps among them, at zero)."""
    charts = []
    labels = [item.code for item in plan.items]  # the objectives are in the items below
    for total in plan.totals:
        committed: list[int | None] = []
        disbursed: list[int | None] = []
        for item in plan.items:
            money = next((t for t in item.totals if t.currency == total.currency), None)
            committed.append(money.committed if money else 0)
            disbursed.append(money.disbursed if money else 0)
        title = _("%(plan)s: committed and disbursed per item (%(currency)s)") % {
            "plan": i18n.localised(plan.title),
            "currency": total.currency,
        }
        description = _(
            "For each of the plan's %(count)s items, the money committed by grants and the"
            " money disbursed so far, in %(currency)s."
        ) % {"count": len(plan.items), "currency": total.currency}
        charts.append(
            bar_chart(
                title=title,
                description=description,
                labels=labels,
                series=[(_("Committed"), committed), (_("Disbursed"), disbursed)],
                currency=total.currency,
                lang=i18n.current_language(),
                chart_id=f"chart-{plan.id.hex[:12]}-{total.currency.lower()}",
                total_label=_("Total"),
            )
        )
    return charts


@get("/pccs", name="pccs", include_in_schema=False)
async def pccs_list(request: Request[Any, Any, Any]) -> Any:
    user = require_user(request)
    client = client_for(request)
    staff = user.reads_every_pcc_progress
    pccs = await client.list_pccs() if staff else await client.list_my_pccs()
    territories = {t.id: t for t in (await client.list_territories()).items}
    rows = []
    for pcc in pccs:
        territory = territories.get(pcc.territory_id)
        rows.append(
            {
                "id": pcc.id,
                "name": i18n.localised(pcc.name),
                "territory": i18n.localised(territory.name) if territory else "",
                "region": i18n.localised(territory.region) if territory else "",
            }
        )
    rows.sort(key=lambda r: (r["region"], r["territory"]))
    return page(request, "pcc/list.html", {"pccs": rows, "is_staff": staff})


@get("/pccs/{pcc_id:uuid}/progress", name="pcc_progress", include_in_schema=False)
async def pcc_progress(request: Request[Any, Any, Any], pcc_id: FromPath[uuid.UUID]) -> Any:
    user = require_user(request)
    progress = await client_for(request).get_pcc_progress(pcc_id)
    plans = [PlanView(plan=plan, charts=_charts(plan)) for plan in progress.plans]
    return page(
        request,
        "pcc/progress.html",
        {
            "progress": progress,
            "plans": plans,
            "statuses": plan_statuses(),
            "tranche_statuses": tranche_statuses(),
            "report_kinds": report_kinds(),
            "is_staff": user.reads_every_pcc_progress,
        },
    )


ROUTES: list[Any] = [pccs_list, pcc_progress]
