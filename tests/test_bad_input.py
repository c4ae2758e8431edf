import base64
import json

from contracts.enums import Role
from tests.conftest import MakeUser


def cur(x):
    return base64.urlsafe_b64encode(json.dumps(x).encode()).decode().rstrip("=")


async def test_probe(http, make_user: MakeUser) -> None:
    admin = await make_user(Role.ADMIN)
    h = {"authorization": f"Bearer {admin.token}"}
    u = "0d265b83-6563-4b6e-9a3a-111111111111"
    for q in ["limit=0", "limit=abc", "pcc_id=xx", "cursor=zz", "cursor=" + cur(["2025-01-01T00:00:00", u]),
              "cursor=" + cur(["0001-01-01T00:00:00-05:00", u]), "cursor=" + cur(["2025-01-01T00:00:00+00:00", u, 3]),
              "cursor=" + cur([["x"], u]), "cursor=" + "a" * 201]:
        r = await http.get("action-plans?" + q, headers=h)
        print(q[:50], r.status_code, r.headers.get("x-request-id"), r.text[:300])
    r = await http.get("nowhere", headers={**h, "x-request-id": "abc-123"})
    print(r.status_code, dict(r.headers))
    r = await http.get("users/me", headers={"x-request-id": "abc-123"})
    print(r.status_code, dict(r.headers), r.text)
    r = await http.get("users/me", headers={"authorization": "Bearer   "})
    print(r.status_code, dict(r.headers), r.text)
