"""SQL statements per request of the hot paths (issue 16): a figure that does not depend on how
loaded the machine is. The app runs in-process (httpx's ASGI transport) on a fresh database with
the demo data; every statement the engine sends is counted (BEGIN, COMMIT and SAVEPOINTs are sent
by the driver and not counted).

    python bench/statements.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import DB_NAME, RATES, _recreate, sa_url  # noqa: E402  (after the path)


async def main(url: str, rounds: int) -> None:
    from service.app import create_app
    from service.demo import DEMO_PASSWORD, load_demo_data
    from service.persistence import migrate
    from service.persistence.database import Database
    from service.settings import Settings

    base = url.replace("postgresql+asyncpg://", "postgresql://")
    await _recreate(base, DB_NAME)
    db_url = sa_url(base.rsplit("/", 1)[0] + f"/{DB_NAME}")
    migrate.upgrade(db_url)
    database = Database.from_url(db_url)
    async with database.session() as session:
        await load_demo_data(session)
        await session.commit()
    # the rate limits on (too high to refuse) with the default lease: a claim every 10th request
    settings = Settings(
        totp_required_roles=[],
        second_confirmation_above=10**15,
        log_level="WARNING",
        rate_limit_ip=10**9,
        rate_limit_anonymous_ip=10**9,
        rate_limit_api_key=10**9,
        rate_limit_user=10**9,
    )
    app: Any = create_app(settings, database=database)
    assert database.engine is not None
    statements: list[str] = []
    event.listen(
        database.engine.sync_engine,
        "before_cursor_execute",
        lambda c, cur, s, *_: statements.append(s),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t/api/v1/"
    ) as client:

        async def token(local: str) -> dict[str, str]:
            r = await client.post(
                "auth/token",
                json={"email": f"{local}@demo.pcc-grants.kg", "password": DEMO_PASSWORD},
            )
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        officer, finance = await token("officer"), await token("finance")
        pid = (await client.get("proposals?limit=1", headers=officer)).json()["items"][0]["id"]
        tranche = None
        for g in (await client.get("grants?limit=100", headers=officer)).json()["items"]:
            for t in (await client.get(f"grants/{g['id']}", headers=officer)).json()["tranches"]:
                if t["status"] == "approved":
                    tranche = t
        assert tranche is not None

        async def count(label: str, method: str, path: str, **kw: Any) -> None:
            await client.request(method, path, **kw)  # warm
            statements.clear()
            claimed = app.state.rate_limits.limiter.store.claims
            r = await client.request(method, path, **kw)
            claims = app.state.rate_limits.limiter.store.claims - claimed
            print(
                f"  {label:<48} {len(statements) + claims:>3} statements  ({r.status_code})"
                + (f", of which {claims} rate-limit claim(s)" if claims else "")
            )

        print("== SQL statements per request")
        await count("GET /proposals/{id}", "GET", f"proposals/{pid}", headers=officer)
        statements.clear()
        store = app.state.rate_limits.limiter.store
        claimed = store.claims
        for _ in range(100):
            await client.get(f"proposals/{pid}", headers=officer)
        claims = store.claims - claimed  # sent to asyncpg directly: not among `statements`
        statements.extend(["claim"] * claims)
        print(
            f"  {'GET /proposals/{id}, mean of 100':<48} {len(statements) / 100:>5.2f} statements"
            f"  (of which rate-limit claims: {claims / 100:.2f})"
        )
        await count("GET /proposals?limit=50", "GET", "proposals?limit=50", headers=officer)
        body = {
            "amount": tranche["amount"],
            "value_date": datetime.now(UTC).date().isoformat(),
            "reference": f"STMT-{uuid.uuid4().hex[:8]}",
            "rates": RATES,
        }
        statements.clear()
        r = await client.post(
            f"tranches/{tranche['id']}/disbursements",
            json=body,
            headers={**finance, "Idempotency-Key": uuid.uuid4().hex},
        )
        print(
            f"  {'POST /tranches/{id}/disbursements':<48} {len(statements):>3} statements"
            f"  ({r.status_code})"
        )
        for s in statements:
            print("     ", " ".join(s.split())[:110])

        # the limiter's cost in this process's CPU (PostgreSQL's work is another process's):
        # the same GET by id through an app with the limits off and one with them on, in
        # alternating rounds, the best round of each
        off = settings.model_copy(
            update=dict.fromkeys(
                (
                    "rate_limit_ip",
                    "rate_limit_anonymous_ip",
                    "rate_limit_api_key",
                    "rate_limit_user",
                ),
                0,
            )
        )
        apps = {"off": create_app(off, database=database), "on": app}
        best = dict.fromkeys(apps, float("inf"))
        for _ in range(rounds):
            for name, each in apps.items():
                async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=each), base_url="http://t/api/v1/"
                ) as c:
                    started = time.process_time()
                    for _ in range(200):
                        await c.get(f"proposals/{pid}", headers=officer)
                    best[name] = min(best[name], (time.process_time() - started) / 200)
        print(
            f"  {'GET /proposals/{id}: CPU of this process':<48}"
            f" limits off {best['off'] * 1e6:.0f} µs,"
            f" on {best['on'] * 1e6:.0f} µs per request (best of {rounds} rounds of 200)"
        )
    await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=10, help="of the limiter's CPU A/B")
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.rounds))
