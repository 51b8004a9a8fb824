"""End to end over real HTTP, as any third-party PiAPI client would use the sandbox."""

import io

import pytest
import requests
from PIL import Image

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_plain_http_client_creates_polls_gets_webhooks_and_downloads_images(
    live_server, webhook_receiver
):
    base = f"{live_server.url}/sandbox"
    headers = {"x-api-key": "sk-live-client"}
    body = {
        "model": "midjourney",
        "task_type": "imagine",
        "input": {"prompt": "a cabin under northern lights --ar 3:2 --seed 9"},
        "config": {
            "service_mode": "public",
            "webhook_config": {"endpoint": webhook_receiver.url, "secret": "live-secret"},
        },
    }

    created = requests.post(f"{base}/api/v1/task", json=body, headers=headers, timeout=10)
    assert created.status_code == 200
    task_id = created.json()["data"]["task_id"]

    deliveries = webhook_receiver.wait_for(7, timeout=10)
    assert deliveries[-1].status == "completed"
    assert {delivery.headers["x-webhook-secret"] for delivery in deliveries} == {"live-secret"}

    polled = requests.get(f"{base}/api/v1/task/{task_id}", headers=headers, timeout=10).json()
    assert polled["data"] == deliveries[-1].body["data"]
    output = polled["data"]["output"]
    # URLs are absolute on the host the client called, so they work from anywhere.
    assert output["image_url"].startswith(f"{live_server.url}/sandbox/images/{task_id}/")

    grid = requests.get(output["image_url"], timeout=10)  # public: no x-api-key
    assert grid.status_code == 200
    assert grid.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(grid.content)).size == (1024, 682)
    quadrant = requests.get(output["temporary_image_urls"][3], timeout=10)
    assert Image.open(io.BytesIO(quadrant.content)).size == (512, 341)

    unauthorized = requests.get(f"{base}/api/v1/task/{task_id}", timeout=10)
    assert unauthorized.status_code == 401
    assert unauthorized.json()["code"] == 401
    account = requests.get(f"{base}/account/info", headers=headers, timeout=10).json()
    assert account["data"]["credit_pack_info"]["used_credits"] == 450_000
