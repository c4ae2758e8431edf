async def test_probe(http):
    for p in ["/health/live", "health/live", "/health/ready", "/api/v1/nope/x"]:
        r = await http.get(p)
        print(p, r.request.url, r.status_code, r.text[:200])
