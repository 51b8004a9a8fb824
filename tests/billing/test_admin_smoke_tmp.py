from typing import Any
def test_smoke(client: Any, alice: Any, acme: Any, project: Any) -> None:
    client.force_login(alice)
    for url in [f"/teams/{acme.pk}/money/", f"/teams/{acme.pk}/spend/", f"/teams/{acme.pk}/ledger/", f"/teams/{acme.pk}/ledger.csv"]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.content[:3000])
    open("/tmp/settings.html","wb").write(client.get(f"/teams/{acme.pk}/money/").content)
