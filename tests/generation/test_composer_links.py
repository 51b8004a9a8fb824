"""Links that open the project's composer ready (from the gallery's lightbox, a job's
page): with a seed, or a result of the project as an image prompt, --sref or --cref."""

import re
from typing import Any

from django.test import Client

from studio.inputs.models import InputImage
from tests.factories import make_project, make_result_image


def test_a_seed_link_fills_the_seed_and_opens_the_drawer(
    client: Client, bob: Any, project: Any
) -> None:
    client.force_login(bob)

    html = client.get(f"/projects/{project.pk}/?seed=4242").content.decode()

    assert re.search(r'<input type="number" name="seed"[^>]*value="4242"', html)
    assert '<details class="param-drawer" id="param-drawer" open>' in html


def test_a_use_as_link_starts_with_the_result_as_a_style_reference(
    client: Client, bob: Any, project: Any
) -> None:
    result = make_result_image(project=project, user=bob)
    client.force_login(bob)
    link = f"/projects/{project.pk}/?use_as=style_refs&image={result.pk}"

    html = client.get(link).content.decode()
    client.get(link)  # opened twice: still one copy

    image = InputImage.objects.get()
    assert '<textarea name="style_refs" rows="2"' in html
    assert f">{image.public_url()}</textarea>" in html
    assert f'src="{image.thumbnail_path()}"' in html
    assert f"--sref {image.public_url()}" not in html  # no prompt yet: nothing is sent
    assert InputImage.objects.count() == 1


def test_a_use_as_link_with_a_prompt_shows_what_is_sent(
    client: Client, bob: Any, project: Any
) -> None:
    result = make_result_image(project=project, user=bob)
    client.force_login(bob)

    html = client.get(
        f"/projects/{project.pk}/?use_as=character_refs&image={result.pk}&prompt=a+knight"
    ).content.decode()

    assert f"a knight --cref {InputImage.objects.get().public_url()}" in html


def test_another_projects_result_is_not_used_and_the_page_says_so(
    client: Client, bob: Any, project: Any, acme: Any
) -> None:
    elsewhere = make_result_image(project=make_project(team=acme, name="Other"), user=bob)
    client.force_login(bob)

    html = client.get(
        f"/projects/{project.pk}/?use_as=image_prompts&image={elsewhere.pk}"
    ).content.decode()

    assert "That image is not a result of this project; only its own can be used." in html
    assert not InputImage.objects.exists()


def test_a_viewer_following_a_use_as_link_gets_the_page_without_a_copy(
    client: Client, vera: Any, bob: Any, project: Any
) -> None:
    result = make_result_image(project=project, user=bob)
    client.force_login(vera)

    response = client.get(f"/projects/{project.pk}/?use_as=style_refs&image={result.pk}")

    assert response.status_code == 200
    assert not InputImage.objects.exists()


def test_a_prompt_link_past_the_limit_is_kept_whole_and_said(
    client: Client, bob: Any, project: Any
) -> None:
    client.force_login(bob)
    prompt = "b" * 2501

    html = client.get(f"/projects/{project.pk}/?prompt={prompt}").content.decode()

    assert f">{prompt}</textarea>" in html
    assert html.count("The prompt is 2501 characters long; the limit is 2500.") == 1
