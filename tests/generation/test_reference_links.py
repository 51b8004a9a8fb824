"""Image prompts, --sref and --cref links go to the provider on the team's key, so they
follow the rules of every link Studio is given: public http(s) only. Studio's own public
URL of an input image of the same project is the one exception. A refused link is named
in a clear sentence, and nothing is created, held or sent."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tasks_db.models import DBTaskResult

from studio.billing.models import LedgerEntry
from studio.generation.models import Job, Status
from studio.inputs import fetch
from studio.inputs.models import InputImage
from studio.inputs.services import input_image_upload
from tests.factories import make_job, make_project
from tests.inputs.images import image_bytes

ADVICE = "use a public image link or upload the image."
# What the resolver answers in these tests; other names do not exist.
DNS = {"cdn.example": ["93.184.216.34"], "intranet.example": ["10.0.0.7"]}


@pytest.fixture(autouse=True)
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The host names Studio looked up (there is no DNS in tests)."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        if host not in DNS:
            raise OSError("Name or service not known")
        return DNS[host]

    monkeypatch.setattr(fetch, "resolve", resolve)
    return asked


@pytest.fixture
def member(client: Client, bob: Any, settings: Any) -> Client:
    settings.STUDIO_PUBLIC_URL = "http://127.0.0.1:8000"  # as in development
    client.force_login(bob)
    return client


def upload(project: Any, user: Any, color: str = "#2a9d8f") -> InputImage:
    data = image_bytes("PNG", color=color)
    uploaded = SimpleUploadedFile("ref.png", data, content_type="image/png")
    return input_image_upload(project=project, user=user, uploaded_file=uploaded)


def submit(client: Client, project: Any, prompt: str, **fields: str) -> Any:
    data = {"prompt": prompt, "aspect_ratio": "1:1", "mode": "fast", **fields}
    return client.post(f"/projects/{project.pk}/jobs/", data, headers={"HX-Request": "true"})


def preview(client: Client, project: Any, prompt: str, **fields: str) -> Any:
    data = {"prompt": prompt, "aspect_ratio": "1:1", "mode": "fast", **fields}
    return client.post(f"/projects/{project.pk}/prompt/", data, headers={"HX-Request": "true"})


def nothing_happened() -> bool:
    return not (
        Job.objects.exists() or LedgerEntry.objects.exists() or DBTaskResult.objects.exists()
    )


# --- imagine ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        (
            "a cat --sref http://169.254.169.254/latest/meta-data/",
            "The --sref link http://169.254.169.254/… points to a private address",
        ),
        (
            "a cat --cref http://127.0.0.1:6379/x.png",
            "The --cref link http://127.0.0.1:6379/… points to a private address",
        ),
        (
            "http://10.1.2.3/a.png a cat",
            "The image prompt link http://10.1.2.3/… points to a private address",
        ),
        (
            "a cat --sref http://[::1]/a.png",
            "The --sref link http://[::1]/… points to a private address",
        ),
        (
            "a cat --sref http://2130706433/a.png",  # 127.0.0.1 written as one number
            "The --sref link http://2130706433/… points to a private address",
        ),
        (
            "a cat --sref https://intranet.example/a.png",  # a name for a private address
            "The --sref link https://intranet.example/… points to a private address",
        ),
        (
            "a cat --cref https://nowhere.example/a.png",
            "The --cref link https://nowhere.example/… names a host Studio could not find",
        ),
        (
            "a cat --sref https://user:secret@cdn.example/a.png",
            "The --sref link https://cdn.example/… contains a user name or password",
        ),
    ],
    ids=[
        "metadata",
        "loopback",
        "image-prompt",
        "ipv6-loopback",
        "number",
        "private-name",
        "unknown-name",
        "credentials",
    ],
)
def test_a_link_that_is_not_public_is_refused_and_nothing_is_created(
    member: Client, project: Any, prompt: str, message: str
) -> None:
    response = submit(member, project, prompt)

    assert response.status_code == 422
    assert f"{message}; {ADVICE}" in response.content.decode()
    assert nothing_happened()


def test_a_link_that_is_not_http_is_refused(member: Client, project: Any) -> None:
    response = submit(member, project, "a cat --sref file:///etc/passwd")

    assert response.status_code == 422
    assert "is not a web address starting with http:// or https://" in response.content.decode()
    assert nothing_happened()


def test_a_private_link_in_a_panel_field_is_refused_too(member: Client, project: Any) -> None:
    response = submit(member, project, "a cat", style_refs="http://192.168.1.1/a.png")

    assert response.status_code == 422
    assert "The --sref link http://192.168.1.1/… points to a private address" in (
        response.content.decode()
    )
    assert nothing_happened()


def test_a_public_link_is_accepted_after_its_host_is_looked_up(
    member: Client, project: Any, lookups: list[str]
) -> None:
    response = submit(member, project, "a cat --sref https://cdn.example/style.png")

    assert response.status_code == 201
    assert Job.objects.get().prompt == "a cat --sref https://cdn.example/style.png"
    assert lookups == ["cdn.example"]


def test_the_projects_own_uploaded_image_is_accepted_and_linked_to_the_job(
    member: Client, project: Any, bob: Any, lookups: list[str]
) -> None:
    style, character = upload(project, bob), upload(project, bob, color="#e76f51")
    assert style.public_url().startswith("http://127.0.0.1:8000/inputs/")

    response = submit(
        member, project, f"{style.public_url()} a cat --cref {character.public_url()}"
    )

    assert response.status_code == 201
    job = Job.objects.get()
    assert set(job.inputs.all()) == {style, character}
    assert lookups == []


def test_an_uploaded_image_is_accepted_whatever_its_random_token_holds(
    member: Client, project: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """URL-safe randomness may hold "--", which a prompt reads as a flag: the public URL
    of an upload never does, so its link is always accepted."""
    monkeypatch.setattr("secrets.token_urlsafe", lambda size: "Zq--x-" + "a" * (size - 6))
    image = upload(project, bob)
    assert "--" not in image.public_url()

    response = submit(member, project, f"a cat --sref {image.public_url()}")

    assert response.status_code == 201
    assert set(Job.objects.get().inputs.all()) == {image}


@pytest.mark.parametrize("whose", ["another project of the team", "another team"])
def test_an_uploaded_image_of_another_project_is_refused(
    member: Client, project: Any, acme: Any, globex: Any, alice: Any, charlie: Any, whose: str
) -> None:
    if whose == "another team":
        image = upload(make_project(team=globex), charlie)
    else:
        image = upload(make_project(team=acme, name="Other"), alice)

    response = submit(member, project, f"a cat --sref {image.public_url()}")

    assert response.status_code == 422
    assert (
        "The --sref link http://127.0.0.1:8000/… is not an image uploaded to this project"
        in response.content.decode()
    )
    assert nothing_happened()


def test_a_studio_link_that_is_not_an_uploaded_image_is_refused(
    member: Client, project: Any, bob: Any
) -> None:
    image = upload(project, bob)

    for url in [
        image.public_url().replace("ref.png", "other.png"),
        f"http://127.0.0.1:8000/inputs/{'x' * 32}/ref.png",
        f"http://127.0.0.1:8000/projects/{project.pk}/",
    ]:
        response = submit(member, project, f"a cat --sref {url}")

        assert response.status_code == 422, url
        assert "is not an image uploaded to this project" in response.content.decode()
    assert nothing_happened()


def test_as_the_member_types_a_private_address_is_pointed_out_without_any_lookup(
    member: Client, project: Any, lookups: list[str]
) -> None:
    response = preview(member, project, "a cat --sref http://169.254.169.254/latest/")

    assert response.status_code == 200
    assert (
        f"The --sref link http://169.254.169.254/… points to a private address; {ADVICE}"
        in response.content.decode()
    )
    assert lookups == []


def test_as_the_member_types_host_names_are_not_looked_up(
    member: Client, project: Any, lookups: list[str]
) -> None:
    response = preview(member, project, "a cat --sref https://intranet.example/a.png")

    assert response.status_code == 200
    assert "panel-errors" not in response.content.decode()
    assert lookups == []


# --- follow-ups with a remix prompt ----------------------------------------------------


@pytest.fixture
def grid(project: Any, bob: Any) -> Job:
    return make_job(
        project=project,
        user=bob,
        status=Status.COMPLETED,
        provider_task_id="t-grid",
        output={"actions": ["variation1", "reroll"]},
    )


def follow_up(client: Client, job: Job, **data: str) -> Any:
    return client.post(f"/jobs/{job.pk}/follow-up/", data, headers={"HX-Request": "true"})


def test_a_remix_prompt_with_a_private_link_is_refused_in_the_notice_area(
    member: Client, grid: Job
) -> None:
    response = follow_up(
        member, grid, action="variation1", prompt="a dog --sref http://169.254.169.254/x"
    )

    assert response.status_code == 422
    assert response["HX-Retarget"] == "#notice"
    assert (
        f"The --sref link http://169.254.169.254/… points to a private address; {ADVICE}"
        in response.content.decode()
    )
    assert Job.objects.count() == 1
    assert not LedgerEntry.objects.exists()


def test_a_remix_prompt_that_would_not_parse_still_has_its_links_checked(
    member: Client, grid: Job
) -> None:
    response = follow_up(member, grid, action="reroll", prompt="http://10.0.0.1/a.png a dog --iw 2")

    assert response.status_code == 422
    assert "The image prompt link http://10.0.0.1/… points to a private address" in (
        response.content.decode()
    )
    assert Job.objects.count() == 1


def test_without_a_remix_prompt_the_parents_prompt_is_checked_again(
    member: Client, project: Any, bob: Any
) -> None:
    # A job from before links were checked.
    old = make_job(
        project=project,
        user=bob,
        status=Status.COMPLETED,
        prompt="a cat --sref http://169.254.169.254/x.png",
        output={"actions": ["reroll"]},
    )

    response = follow_up(member, old, action="reroll")

    assert response.status_code == 422
    assert "points to a private address" in response.content.decode()
    assert Job.objects.count() == 1


def test_a_remix_with_the_projects_own_image_links_it_to_the_child_job(
    member: Client, grid: Job, project: Any, bob: Any, lookups: list[str]
) -> None:
    image = upload(project, bob)

    response = follow_up(
        member, grid, action="variation1", prompt=f"a dog --sref {image.public_url()}"
    )

    assert response.status_code == 201
    child = Job.objects.get(parent=grid)
    assert list(child.inputs.all()) == [image]
    assert lookups == []


def test_a_follow_up_keeps_the_images_its_parent_was_made_from(
    member: Client, project: Any, bob: Any
) -> None:
    images = [upload(project, bob), upload(project, bob, color="#264653")]
    blend = make_job(
        project=project,
        user=bob,
        operation="blend",
        prompt="",
        status=Status.COMPLETED,
        output={"actions": ["reroll"]},
    )
    blend.inputs.set(images)

    response = follow_up(member, blend, action="reroll")

    assert response.status_code == 201
    assert set(Job.objects.get(parent=blend).inputs.all()) == set(images)
