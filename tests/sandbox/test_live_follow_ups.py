"""A chain of follow-ups over real HTTP, as a third-party PiAPI client would make it:
imagine → upscale → zoom out → upscale → vary region, with webhooks, and describe and
blend fetching the sandbox's own images from the running server."""

import base64
import io
import time

import pytest
import requests
from PIL import Image, ImageChops, ImageDraw

pytestmark = pytest.mark.django_db(transaction=True)


class Client:
    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers["x-api-key"] = "sk-live-chain"

    def post(self, task_type: str, config: dict | None = None, **task_input) -> requests.Response:
        body = {
            "model": "midjourney",
            "task_type": task_type,
            "input": task_input,
            "config": config or {"service_mode": "public"},
        }
        return self.session.post(f"{self.base}/api/v1/task", json=body, timeout=10)

    def create(self, task_type: str, config: dict | None = None, **task_input) -> dict:
        response = self.post(task_type, config, **task_input)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def finished(self, task: dict, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            response = self.session.get(f"{self.base}/api/v1/task/{task['task_id']}", timeout=10)
            data = response.json()["data"]
            if data["status"] in ("completed", "failed") or time.monotonic() > deadline:
                assert data["status"] == "completed", data["error"]
                return data
            time.sleep(0.05)

    def image(self, url: str) -> Image.Image:
        # Image URLs are public: no x-api-key.
        response = requests.get(url, timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/png"
        return Image.open(io.BytesIO(response.content)).convert("RGB")


def test_a_chain_of_follow_ups_over_real_http(live_server, webhook_receiver):
    client = Client(f"{live_server.url}/sandbox")

    imagine = client.finished(client.create("imagine", prompt="a lighthouse at dusk --seed 5"))
    upscaled = client.finished(
        client.create("upscale", origin_task_id=imagine["task_id"], index="2")
    )
    zoomed = client.finished(
        client.create("outpaint", origin_task_id=upscaled["task_id"], zoom_ratio="2")
    )
    assert client.image(zoomed["output"]["image_url"]).size == (1024, 1024)

    # Vary Region works on an upscaled image, not on the zoomed-out grid…
    mask = Image.new("L", (1024, 1024), 0)
    ImageDraw.Draw(mask).rectangle((256, 384, 767, 895), fill=255)
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    refused = client.post("inpaint", origin_task_id=zoomed["task_id"], mask=encoded)
    assert refused.status_code == 400
    assert "is a grid" in refused.json()["data"]["error"]["message"]

    # …so one of its images is upscaled first.
    chosen = client.finished(client.create("upscale", origin_task_id=zoomed["task_id"], index="1"))
    assert chosen["output"]["actions"][:2] == ["upscale_subtle", "upscale_creative"]
    before = client.image(chosen["output"]["image_url"])
    hook = {"endpoint": webhook_receiver.url, "secret": "chain-secret"}
    inpainted = client.finished(
        client.create(
            "inpaint",
            config={"service_mode": "public", "webhook_config": hook},
            origin_task_id=chosen["task_id"],
            mask=f"data:image/png;base64,{encoded}",
            prompt="a small red boat",
        )
    )

    outside = ImageChops.invert(mask)
    black = Image.new("RGB", before.size)
    for url in inpainted["output"]["temporary_image_urls"]:
        after = client.image(url)
        assert (
            Image.composite(ImageChops.difference(after, before), black, outside).getbbox() is None
        )
        assert ImageChops.difference(after, before).getbbox() is not None
    deliveries = webhook_receiver.wait_for(7, timeout=10)
    assert [delivery.status for delivery in deliveries][-1] == "completed"
    assert deliveries[-1].headers["x-webhook-secret"] == "chain-secret"
    assert deliveries[-1].body["data"]["output"] == inpainted["output"]

    # Describe and blend fetch their images from this very server.
    described = client.finished(
        client.create("describe", image_url=upscaled["output"]["image_url"])
    )
    assert described["output"]["description"].count("--ar 1:1") == 4
    blended = client.finished(
        client.create(
            "blend",
            image_urls=[
                imagine["output"]["temporary_image_urls"][0],
                chosen["output"]["image_url"],
            ],
            dimension="landscape",
        )
    )
    assert client.image(blended["output"]["image_url"]).size == (1024, 682)
    seed = client.finished(client.create("seed", origin_task_id=imagine["task_id"]))
    assert seed["output"]["seed"] == "5"
