"""The OpenAPI description at /api/openapi.json tells the truth: it is an OpenAPI 3.1
document, and the answers of a real Studio (its server process, its provider sandbox,
a token, plain `requests`) validate against it, status code by status code. An
undocumented field fails validation, so a drift between the code and the document is
caught here."""

import copy
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import Client
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from studio.accounts.models import Team
from studio.api import protocol
from studio.api.models import ApiToken
from studio.api.services import NewToken, token_create
from studio.billing.models import Budget
from tests.conftest import StudioServer, wait_for
from tests.factories import make_project

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "studio" / "api" / "openapi.json"
DOCUMENT: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
# The document is a resource of its own, so "#/components/..." refs resolve in it.
DOCUMENT_URI = "urn:studio:openapi"
REGISTRY: Registry[Any] = Registry().with_resource(
    DOCUMENT_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
UNKNOWN_TASK = "0f1c9a7e-3b2d-4c55-9a11-7d2f8e6b4c01"


def pointer(*parts: str) -> str:
    """A JSON pointer into the document (RFC 6901 escapes)."""
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in ("#", *parts))


def validator(location: str) -> Draft202012Validator:
    """A validator for the schema at `location` (a pointer) of the document."""
    return Draft202012Validator({"$ref": DOCUMENT_URI + location}, registry=REGISTRY)


def component(name: str) -> Draft202012Validator:
    return validator(pointer("components", "schemas", name))


def documented_response(path: str, method: str, status: int) -> tuple[str, dict[str, Any]]:
    """Where the document describes this answer, and the response object itself."""
    responses = DOCUMENT["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    where = ("paths", path, method, "responses", str(status))
    response = responses[str(status)]
    if "$ref" in response:
        name = response["$ref"].removeprefix("#/components/responses/")
        where = ("components", "responses", name)
        response = DOCUMENT["components"]["responses"][name]
    return pointer(*where), response


def assert_documented(answer: Any, path: str, method: str) -> dict[str, Any]:
    """The answer's body validates against the schema documented for its status code,
    and it carries the headers documented as required."""
    location, response = documented_response(path, method, answer.status_code)
    assert answer.headers["Content-Type"] == "application/json", answer.text
    body: dict[str, Any] = answer.json()
    validator(location + "/content/application~1json/schema").validate(body)
    for header, spec in response.get("headers", {}).items():
        if spec.get("required"):
            assert header in answer.headers, f"{header} is documented as always sent"
            Draft202012Validator(spec["schema"]).validate(int(answer.headers[header]))
    return body


def assert_request_documented(body: dict[str, Any]) -> None:
    """What a client sends here is a request the document describes."""
    component("TaskRequest").validate(body)


# --- the document itself ------------------------------------------------------------


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_the_document_is_shaped_like_openapi_3_1() -> None:
    assert DOCUMENT["openapi"] == "3.1.0"
    assert DOCUMENT["info"]["title"] and DOCUMENT["info"]["version"]
    assert DOCUMENT["servers"][0]["url"]
    assert DOCUMENT["components"]["securitySchemes"]["apiKey"] == {
        **DOCUMENT["components"]["securitySchemes"]["apiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    assert DOCUMENT["security"] == [{"apiKey": []}]
    for path, item in DOCUMENT["paths"].items():
        assert path.startswith("/")
        for method in set(item) & set(METHODS):
            operation = item[method]
            assert operation["responses"], f"{method} {path} has no responses"
            for status in operation["responses"]:
                assert status.isdigit() and 100 <= int(status) < 600
    for schema in DOCUMENT["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    # Every reference points somewhere.
    for ref in set(refs(DOCUMENT)):
        assert ref.startswith("#/"), ref
        REGISTRY.resolver(DOCUMENT_URI).lookup(DOCUMENT_URI + ref)


def test_it_documents_the_four_operations_and_the_webhook() -> None:
    operations = {
        (method, path)
        for path, item in DOCUMENT["paths"].items()
        for method in set(item) & set(METHODS)
    }

    assert {
        ("post", "/api/v1/task"),
        ("get", "/api/v1/task/{task_id}"),
        ("delete", "/api/v1/task/{task_id}"),
        ("get", "/account/info"),
    } <= operations
    webhook = DOCUMENT["webhooks"]["task"]["post"]
    assert webhook["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WebhookBody"
    }


def test_task_types_and_statuses_are_the_ones_studio_speaks() -> None:
    schemas = DOCUMENT["components"]["schemas"]

    assert schemas["TaskType"]["enum"] == list(protocol.TASK_TYPES)
    assert set(schemas["TaskStatus"]["enum"]) == set(protocol.STATUSES.values())
    mapping = schemas["TaskRequest"]["discriminator"]["mapping"]
    assert sorted(mapping) == sorted(protocol.TASK_TYPES)
    for task_type in protocol.TASK_TYPES:
        variant = schemas[mapping[task_type].rsplit("/", 1)[1]]
        assert variant["properties"]["task_type"] == {"const": task_type}


def test_a_request_for_an_unknown_task_type_is_not_documented() -> None:
    with pytest.raises(ValidationError):
        assert_request_documented({"task_type": "animate", "input": {"prompt": "a cat"}})
    with pytest.raises(ValidationError):
        assert_request_documented({"task_type": "imagine", "input": {}})


# --- served ----------------------------------------------------------------------------


def test_it_is_served_to_anyone_with_this_studios_address(client: Client, settings: Any) -> None:
    settings.STUDIO_PUBLIC_URL = "https://studio.acme.test/"

    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    served = response.json()
    assert served["servers"] == [{"url": "https://studio.acme.test", "description": "This Studio"}]
    assert {**served, "servers": DOCUMENT["servers"]} == DOCUMENT


def test_without_a_public_url_it_names_the_address_it_was_asked_at(
    client: Client, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = ""
    settings.ALLOWED_HOSTS = ["studio.internal"]

    served = client.get("/api/openapi.json", HTTP_HOST="studio.internal").json()

    assert served["servers"][0]["url"] == "http://studio.internal"


def test_it_is_read_only(client: Client) -> None:
    assert client.post("/api/openapi.json").status_code == 405


# --- real answers ------------------------------------------------------------------------


class Api:
    """A third-party client: plain `requests`, the token in x-api-key."""

    def __init__(self, server: StudioServer, secret: str) -> None:
        self.url = server.url
        self.session = requests.Session()
        if secret:
            self.session.headers["x-api-key"] = secret

    def create(self, body: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.url}/api/v1/task", json=body, timeout=10)

    def get(self, task_id: str) -> requests.Response:
        return self.session.get(f"{self.url}/api/v1/task/{task_id}", timeout=10)

    def delete(self, task_id: str) -> requests.Response:
        return self.session.delete(f"{self.url}/api/v1/task/{task_id}", timeout=10)

    def account(self) -> requests.Response:
        return self.session.get(f"{self.url}/account/info", timeout=10)

    def created(self, body: dict[str, Any]) -> dict[str, Any]:
        """A task made, its request and its answer checked against the document."""
        assert_request_documented(body)
        answer = self.create(body)
        assert answer.status_code == 200, answer.text
        task: dict[str, Any] = assert_documented(answer, "/api/v1/task", "post")["data"]
        return task

    def read(self, task_id: str) -> dict[str, Any]:
        answer = self.get(task_id)
        assert answer.status_code == 200, answer.text
        task: dict[str, Any] = assert_documented(answer, "/api/v1/task/{task_id}", "get")["data"]
        return task

    def finished(self, task_id: str) -> dict[str, Any]:
        """Polled until it ends; every answer on the way is checked too."""

        def ended() -> dict[str, Any] | None:
            task = self.read(task_id)
            return task if task["status"] in ("completed", "failed") else None

        task: dict[str, Any] = wait_for(ended, timeout=30, what=f"task {task_id} to end")
        return task


def api_token(*, user: Any, project: Any, name: str = "openapi check") -> NewToken:
    """A token for a script that polls: more requests a minute than the default."""
    made = token_create(user=user, project=project, name=name)
    ApiToken.objects.filter(pk=made.token.pk).update(requests_per_minute=10_000)
    return made


@pytest.fixture
def api(server: StudioServer, project: Any, bob: Any) -> Api:
    return Api(server, api_token(user=bob, project=project).secret)


def imagine(prompt: str, **config: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "midjourney",
        "task_type": "imagine",
        "input": {"prompt": prompt, "aspect_ratio": "16:9", "process_mode": "fast"},
    }
    if config:
        body["config"] = config
    return body


def test_an_imagine_its_upscale_and_a_reroll_answer_as_documented(
    api: Api, server: StudioServer
) -> None:
    config = {"service_mode": "public", "webhook_config": {"endpoint": "", "secret": ""}}
    staged = api.created(imagine("a lighthouse on a cliff at dusk", **config))
    assert staged["status"] == "staged"

    grid = api.finished(staged["task_id"])

    assert grid["status"] == "completed", grid["error"]
    assert len(grid["output"]["temporary_image_urls"]) == 4
    image = requests.get(grid["output"]["image_url"], timeout=10)  # no key needed
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/")

    upscale = api.created(
        {"task_type": "upscale", "input": {"origin_task_id": grid["task_id"], "index": "2"}}
    )
    reroll = api.created({"task_type": "reroll", "input": {"origin_task_id": grid["task_id"]}})
    upscaled = api.finished(upscale["task_id"])
    rerolled = api.finished(reroll["task_id"])

    assert upscaled["status"] == rerolled["status"] == "completed"
    assert upscaled["output"]["actions"]  # what an upscale offers next


def test_a_failed_task_answers_as_documented(api: Api) -> None:
    task = api.finished(api.created(imagine("doomed [sandbox:fail]"))["task_id"])

    assert task["status"] == "failed"
    assert task["error"]["code"] == 10000 and task["error"]["message"]


def test_account_info_answers_as_documented(api: Api) -> None:
    answer = api.account()

    assert answer.status_code == 200
    account = assert_documented(answer, "/account/info", "get")["data"]
    assert account["credit_pack_info"]["total_credits"] == 100 * protocol.POINTS_PER_USD


def test_a_staged_task_canceled_answers_as_documented(api: Api, acme: Team) -> None:
    # One job at the provider at a time, held there: the next one waits in Studio's queue.
    Team.objects.filter(pk=acme.pk).update(concurrency_limit=1)
    holder = api.created(imagine("held at the provider [sandbox:stay-pending]"))
    wait_for(lambda: api.read(holder["task_id"])["status"] == "pending", what="the holder sent")
    waiting = api.created(imagine("waiting its turn"))
    assert api.read(waiting["task_id"])["status"] == "staged"

    answer = api.delete(waiting["task_id"])

    assert answer.status_code == 200
    assert assert_documented(answer, "/api/v1/task/{task_id}", "delete") == {
        "code": 200,
        "message": f"task {waiting['task_id']} canceled",
    }
    canceled = api.read(waiting["task_id"])
    assert canceled["status"] == "failed" and canceled["error"]["code"] == 10001
    refused = api.delete(waiting["task_id"])  # nothing left to cancel
    assert refused.status_code == 400
    assert_documented(refused, "/api/v1/task/{task_id}", "delete")


def test_a_webhook_body_of_a_real_task_is_documented(api: Api) -> None:
    task = api.created(imagine("a harbour at noon"))

    component("WebhookBody").validate({"timestamp": int(time.time()), "data": task})


# --- refusals ------------------------------------------------------------------------------


def test_an_unknown_task_type_is_a_documented_400(api: Api) -> None:
    answer = api.create({"task_type": "animate", "input": {"prompt": "a cat"}})

    assert answer.status_code == 400
    body = assert_documented(answer, "/api/v1/task", "post")
    assert "animate" in body["message"]


def test_a_missing_or_unknown_token_is_a_documented_401(server: StudioServer, db: None) -> None:
    for secret in ("", "studio_not-a-token"):
        client = Api(server, secret)
        for answer, path, method in (
            (client.create(imagine("a cat")), "/api/v1/task", "post"),
            (client.get(UNKNOWN_TASK), "/api/v1/task/{task_id}", "get"),
            (client.delete(UNKNOWN_TASK), "/api/v1/task/{task_id}", "delete"),
            (client.account(), "/account/info", "get"),
        ):
            assert answer.status_code == 401, (secret, path, method)
            assert_documented(answer, path, method)


def test_an_unknown_task_is_a_documented_404(api: Api) -> None:
    for answer, method in ((api.get(UNKNOWN_TASK), "get"), (api.delete("nope"), "delete")):
        assert answer.status_code == 404
        assert_documented(answer, "/api/v1/task/{task_id}", method)


def test_another_projects_task_is_a_documented_403(
    api: Api, server: StudioServer, acme: Team, bob: Any
) -> None:
    task = api.created(imagine("a lighthouse"))
    elsewhere = Api(server, api_token(user=bob, project=make_project(team=acme)).secret)

    answer = elsewhere.get(task["task_id"])

    assert answer.status_code == 403
    assert_documented(answer, "/api/v1/task/{task_id}", "get")


def test_over_budget_is_a_documented_402(api: Api, acme: Team) -> None:
    Budget.objects.filter(team=acme).update(amount=Decimal("0.01"))

    answer = api.create(imagine("an expensive sunset"))

    assert answer.status_code == 402
    assert_documented(answer, "/api/v1/task", "post")


def test_a_body_over_the_limit_is_a_documented_413(api: Api, settings: Any) -> None:
    huge = b"x" * (settings.API_REQUEST_MAX_BYTES + 1)

    answer = api.session.post(
        f"{api.url}/api/v1/task",
        data=huge,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )

    assert answer.status_code == 413
    assert_documented(answer, "/api/v1/task", "post")


def test_a_token_over_its_rate_is_a_documented_429_with_retry_after(
    server: StudioServer, project: Any, bob: Any
) -> None:
    made = token_create(user=bob, project=project, name="one a minute")
    ApiToken.objects.filter(pk=made.token.pk).update(requests_per_minute=1)
    client = Api(server, made.secret)

    assert client.account().status_code == 200
    answer = client.account()

    assert answer.status_code == 429
    assert_documented(answer, "/account/info", "get")
    assert 1 <= int(answer.headers["Retry-After"]) <= 60


def test_a_forged_file_link_is_a_documented_404(client: Client) -> None:
    answer = client.get("/api/files/forged/")

    assert answer.status_code == 404
    assert_documented(answer, "/api/files/{signed}/", "get")


# --- the document is strict ---------------------------------------------------------------


def test_an_undocumented_or_missing_field_fails_validation(api: Api) -> None:
    answer = api.create(imagine("a lighthouse"))
    body = assert_documented(answer, "/api/v1/task", "post")
    envelope = component("TaskEnvelope")
    task_places = ([], ["output"], ["meta"], ["meta", "usage"], ["error"], ["config"])

    for place in task_places:
        drifted = copy.deepcopy(body)
        target = drifted["data"]
        for key in place:
            target = target[key]
        target["surprise"] = 1
        with pytest.raises(ValidationError, match="surprise"):
            envelope.validate(drifted)
    for field in ("detail", "logs", "meta", "error"):
        missing = copy.deepcopy(body)
        del missing["data"][field]
        with pytest.raises(ValidationError, match=field):
            envelope.validate(missing)
    leaked = copy.deepcopy(body)
    leaked["data"]["output"]["temporary_image_urls"] = ["https://cdn.provider.test/a.png"]
    with pytest.raises(ValidationError):  # only Studio's own signed links
        envelope.validate(leaked)

    refused = api.get(UNKNOWN_TASK).json()
    refused["data"]["task_id"] = UNKNOWN_TASK
    with pytest.raises(ValidationError, match="task_id"):
        component("ErrorEnvelope").validate(refused)
