from contracts.enums import Role
from tests.conftest import MakeUser, MakeOrganisation


async def test_probe(http, make_user: MakeUser, make_organisation: MakeOrganisation) -> None:
    admin = await make_user(Role.ADMIN)
    await make_organisation()
    h = {"authorization": f"Bearer {admin.token}"}
    for q in ["organisations?limit=0", "organisations?limit=100000", "organisations?limit=-5", "users?limit=0", "api-keys?limit=0"]:
        r = await http.get(q, headers=h)
        print(q[:50], r.status_code, r.text[:200])
    r = await http.get("action-plans")
    print("anon plans", r.status_code, r.text[:200])
    r = await http.get("organisations")
    print("anon orgs", r.status_code, r.text[:200])
    r = await http.patch("users/me", json={"full_name": "x"})
    print("anon patch me", r.status_code, r.text[:200])
