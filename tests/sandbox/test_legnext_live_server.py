"""End to end over real HTTP, as a third-party LegNext client would use the sandbox:
written from legnext-protocol.md alone (base URL …/api, x-api-key, POST /v1/<endpoint>,
GET /v1/job/<job_id>, GET /account/balance, bare job objects, 0-based imageNo)."""

import io
import time

import av
import pytest
import requests
from PIL import Image

pytestmark = pytest.mark.django_db(transaction=True)

ZERO_TIME = "0001-01-01T00:00:00Z"


class PlainLegNextClient:
    def __init__(self, base_url: str, api_key: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update({"x-api-key": api_key, "Content-Type": "application/json"})

    def submit(self, endpoint: str, body: dict) -> dict:
        response = self.session.post(f"{self.base_url}/v1/{endpoint}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def job(self, job_id: str) -> dict:
        response = self.session.get(f"{self.base_url}/v1/job/{job_id}", timeout=10)
        response.raise_for_status()
        return response.json()

    def poll(self, job_id: str, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in ("completed", "failed") or time.monotonic() > deadline:
                return job
            time.sleep(0.1)

    def balance(self) -> dict:
        response = self.session.get(f"{self.base_url}/account/balance", timeout=10)
        response.raise_for_status()
        return response.json()["data"]


def download(url: str) -> Image.Image:
    response = requests.get(url, timeout=10)  # output URLs are public: no key
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content))


def test_a_plain_http_client_runs_diffusion_then_upscale_and_polls_the_jobs(
    live_server, webhook_receiver
):
    base_url = f"{live_server.url}/sandbox/legnext/api"
    client = PlainLegNextClient(base_url, "sk-live-legnext")

    submitted = client.submit("diffusion", {"text": "a cabin under northern lights --ar 3:2"})
    assert submitted["status"] == "pending"
    assert submitted["task_type"] == "diffusion"
    assert submitted["meta"]["ended_at"] == ZERO_TIME
    assert submitted["meta"]["usage"]["frozen"] == 80

    grid = client.poll(submitted["job_id"])
    assert grid["status"] == "completed", grid["error"]
    assert grid["error"]["code"] == 0
    output = grid["output"]
    assert isinstance(output["seed"], str)
    assert output["available_actions"]["upscale"] == [0, 1, 2, 3]
    assert download(output["image_url"]).size == (1024, 682)
    assert [download(url).size for url in output["image_urls"]] == [(512, 341)] * 4

    upscale = client.submit(
        "upscale",
        {"jobId": grid["job_id"], "imageNo": 0, "type": 0, "callback": webhook_receiver.url},
    )
    assert upscale["task_type"] == "upscale"
    assert upscale["config"]["webhook_config"]["endpoint"] == webhook_receiver.url

    upscaled = client.poll(upscale["job_id"])
    assert upscaled["status"] == "completed", upscaled["error"]
    assert upscaled["meta"]["usage"] == {"type": "point", "frozen": 120, "consume": 120}
    width, height = download(upscaled["output"]["image_url"]).size
    assert width > 1024
    assert abs(width / height - 3 / 2) < 0.01
    delivered = webhook_receiver.wait_for(1, timeout=10)
    assert delivered[-1].body["data"]["job_id"] == upscale["job_id"]

    balance = client.balance()
    assert balance["available_credits"] == 100_000 - 80 - 120
    assert balance["balance_usd"] == 99.8

    outsider = requests.get(f"{base_url}/v1/job/{grid['job_id']}", timeout=10)
    assert outsider.status_code == 401
    assert outsider.json()["message"] == "Failed to verify api key"
    refused = client.session.post(
        f"{base_url}/v1/pan",
        json={"jobId": grid["job_id"], "imageNo": 0, "direction": "up", "scale": 1.5},
        timeout=10,
    )
    assert refused.status_code == 400


def test_a_plain_http_client_makes_a_video_of_a_grid_image_and_downloads_its_clips(live_server):
    client = PlainLegNextClient(f"{live_server.url}/sandbox/legnext/api", "sk-live-legnext")
    grid = client.poll(client.submit("diffusion", {"text": "a red kite --ar 16:9"})["job_id"])

    submitted = client.submit("video-diffusion", {"jobId": grid["job_id"], "imageNo": 1})
    assert submitted["task_type"] == "video_diffusion"
    assert submitted["meta"]["usage"]["frozen"] == 480
    video = client.poll(submitted["job_id"])

    assert video["status"] == "completed", video["error"]
    assert video["output"]["seed"] == ""
    urls = video["output"]["video_urls"]
    assert len(urls) == 4
    response = requests.get(urls[3], timeout=60)  # public like the images: no key
    assert response.headers["Content-Type"] == "video/mp4"
    with av.open(io.BytesIO(response.content)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (854, 480)
        assert stream.average_rate == 24
        assert container.duration == pytest.approx(5 * av.time_base, rel=0.01)
