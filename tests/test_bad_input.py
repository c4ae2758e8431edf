import json
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import Role
from service.persistence.models import Pcc, Territory
from tests.conftest import MakeOrganisation, MakeUser


async def test_probe(http, make_user: MakeUser, make_organisation: MakeOrganisation, territory: Territory, session: AsyncSession, app) -> None:
    admin = await make_user(Role.ADMIN)
    po = await make_user(Role.PROGRAMME_OFFICER)
    pcc = Pcc(territory_id=territory.id, name={"en": "PCC Osh"})
    session.add(pcc)
    await session.flush()
    h = {"authorization": f"Bearer {admin.token}"}
    hp = {"authorization": f"Bearer {po.token}"}
    org = {"name": "x", "kind": "cso", "territory_id": str(territory.id), "founded_year": 2000}
    cases = [
        ("POST", "organisations", h, json.dumps({**org, "founded_year": "old"})),
        ("POST", "organisations", h, json.dumps({**org, "hacker": 1})),
        ("POST", "organisations", h, "not json"),
        ("POST", "organisations", h, "[1,2]"),
        ("POST", "organisations", h, ""),
        ("POST", "organisations", h, "null"),
        ("POST", "organisations", h, json.dumps({**org, "name": "a\u0000b"})),
        ("POST", "organisations", h, json.dumps({**org, "name": "   "})),
        ("POST", "auth/registrations", {}, json.dumps({"email": "a@b.cd", "password": "x"*12, "full_name": "A", "organisation": {**org, "founded_year": "old"}})),
        ("GET", "organisations/not-a-uuid", h, None),
        ("PATCH", "organisations/not-a-uuid", h, "{}"),
        ("PUT", "territories", h, None),
        ("GET", "nowhere", h, None),
        ("POST", "action-plans", hp, json.dumps({"pcc_id": str(pcc.id), "title": {"en": ""}, "period_start": "2025-01-01", "period_end": "2025-12-31"})),
        ("POST", "action-plans", hp, json.dumps({"pcc_id": str(pcc.id), "title": {"en": "T\u0000"}, "period_start": "2025-01-01", "period_end": "2025-12-31"})),
    ]
    for m, p, hh, body in cases:
        r = await http.request(m, p, headers={**hh, "content-type": "application/json"}, content=body)
        print(m, p, repr(body)[:60], r.status_code, r.headers.get("content-type"), r.headers.get("allow"), r.text[:400])
    r = await http.request("POST", "action-plans", headers=hp, json={"pcc_id": str(pcc.id), "title": {"en": "T"}, "period_start": "2025-01-01", "period_end": "2025-12-31"})
    plan = r.json()
    print(r.status_code, plan)
    item = {"code": "A1", "objective": {"en": "o"}, "activities": "a", "budget_estimate": 5}
    for body in [{**item, "indicators": [{"name": {"en": "n"}, "unit": "u", "target": "1e30"}]},
                 {**item, "code": "A2", "indicators": [{"name": {"en": "n"}, "unit": "u", "target": "NaN"}]},
                 {**item, "code": "A3", "indicators": [{"name": {"en": "n"}, "unit": "u", "target": "Infinity"}]},
                 {**item, "code": "A4", "budget_estimate": 1.5},
                 {**item, "code": "A5", "target_groups": ["x\u0000"]},
                 ]:
        r = await http.post(f"action-plans/{plan['id']}/items", headers=hp, json=body)
        print(r.status_code, r.text[:300])
