"""The composer as a member uses it (issue 11): images dropped or pasted on it become
references shown as thumbnails, the counter stays, a prompt past the limit is said once,
Turbo is offered only to those who may use it, ↑ recalls earlier prompts, and Generate
says when the budgets do not allow the job."""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.billing.helpers import set_budget
from tests.browser.conftest import screenshot
from tests.browser.test_generate import log_in
from tests.conftest import StudioServer
from tests.factories import make_job, make_png, make_result_image

# A 300×300 PNG made in the page (the input images' minimum side is 256 px), dropped or
# pasted the way a browser hands files to a page: in a DataTransfer.
PNG_IN_PAGE = """async ([kind, color]) => {
  const canvas = document.createElement('canvas');
  canvas.width = 300; canvas.height = 300;
  const context = canvas.getContext('2d');
  context.fillStyle = color; context.fillRect(0, 0, 300, 300);
  context.fillStyle = '#fff'; context.fillRect(60, 60, 120, 80);
  const blob = await new Promise(done => canvas.toBlob(done, 'image/png'));
  const transfer = new DataTransfer();
  transfer.items.add(new File([blob], 'moodboard.png', { type: 'image/png' }));
  const target = document.getElementById('id_prompt');
  if (kind === 'paste') {
    const init = { clipboardData: transfer, bubbles: true, cancelable: true };
    target.dispatchEvent(new ClipboardEvent('paste', init));
  } else {
    for (const type of ['dragenter', 'dragover', 'drop']) {
      const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
      target.dispatchEvent(new DragEvent(type, init));
    }
  }
}"""


def open_project(page: Page, server: StudioServer, project: Any, username: str = "bob") -> None:
    log_in(page, server, username)
    page.wait_for_url(f"**/projects/{project.pk}/")


def test_a_dropped_image_becomes_a_style_reference_thumbnail_and_is_sent(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    open_project(page, server, project)
    page.fill("#id_prompt", "a lighthouse on a cliff at dusk")
    expect(page.locator("#final-prompt")).to_contain_text("a lighthouse on a cliff")  # read

    page.evaluate(PNG_IN_PAGE, ["drop", "#5b5bd6"])
    chooser = page.get_by_role("dialog", name="Use the image as")
    expect(chooser).to_be_visible()
    expect(chooser.get_by_role("button", name="Image prompt")).to_be_focused()  # keyboard first
    screenshot(page, "composer-drop-chooser")
    page.emulate_media(color_scheme="dark")
    page.wait_for_timeout(300)  # buttons ease into the dark colours
    screenshot(page, "composer-drop-chooser-dark")
    page.emulate_media(color_scheme="light")
    chooser.get_by_role("button", name="Style reference").click()

    thumbnails = page.locator("[data-ref-field=style_refs] .ref-thumb img")
    expect(thumbnails).to_have_count(1)
    expect(chooser).to_be_hidden()
    sends = page.locator("#final-prompt")
    expect(sends).to_contain_text(f"--sref {server.url}/inputs/")
    page.locator("[data-ref-field=style_refs] input[name=style_weight]").fill("400")
    page.locator("[data-ref-field=style_refs] input[name=style_weight]").dispatch_event("change")
    expect(sends).to_contain_text("--sw 400")
    screenshot(page, "composer-references")
    page.emulate_media(color_scheme="dark")
    page.wait_for_timeout(300)  # buttons ease into the dark colours
    screenshot(page, "composer-references-dark")
    page.emulate_media(color_scheme="light")

    page.click("#prompt-form button[type=submit]")

    card = page.locator(".job-card").first
    expect(card).to_contain_text("--sref")
    expect(card.locator("img.job-image")).to_be_visible()
    expect(card.locator(".job-error")).to_have_count(0)


def test_a_pasted_image_becomes_an_image_prompt_and_its_thumbnail_can_be_removed(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    open_project(page, server, project)
    page.fill("#id_prompt", "in watercolour")
    expect(page.locator("#final-prompt")).to_contain_text("in watercolour")

    page.evaluate(PNG_IN_PAGE, ["paste", "#1f8a5b"])
    page.get_by_role("button", name="Image prompt").click()

    thumbnail = page.locator("[data-ref-field=image_prompts] .ref-thumb")
    expect(thumbnail).to_have_count(1)
    expect(page.locator("#final-prompt")).to_contain_text(f"{server.url}/inputs/")
    thumbnail.get_by_role("button", name="Remove image prompts 1").click()
    expect(thumbnail).to_have_count(0)
    expect(page.locator("#final-prompt")).not_to_contain_text("/inputs/")


def test_a_dropped_image_can_be_described_instead(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    open_project(page, server, project)

    page.evaluate(PNG_IN_PAGE, ["drop", "#c62f2f"])
    page.get_by_role("button", name="Describe it").click()

    expect(page.locator("#describe-form")).to_be_visible()
    expect(page.locator("#describe-form .file-name")).to_have_text("moodboard.png")
    screenshot(page, "composer-describe")
    page.click("#describe-form button[type=submit]")
    expect(page.locator(".job-card .described li").first).to_be_visible()


def test_the_counter_stays_after_the_panel_is_read_and_a_long_prompt_is_said_once(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    open_project(page, server, project)
    counter = page.locator("#prompt-count")

    page.fill("#id_prompt", "a fox")
    expect(page.locator("#final-prompt")).to_contain_text("a fox")  # the panel was swapped
    expect(counter).to_have_text("2,495 characters left")

    page.fill("#id_prompt", "a" * 2600)

    expect(page.locator("#id_prompt")).to_have_value("a" * 2600)  # not cut
    expect(counter).to_have_text("100 characters over the limit")
    said = "The prompt is 2600 characters long; the limit is 2500."
    expect(page.get_by_text(said)).to_have_count(1)
    page.click("#prompt-form button[type=submit]")
    expect(page.get_by_text(said)).to_have_count(1)
    expect(counter).to_have_text("100 characters over the limit")
    expect(page.locator(".job-card")).to_have_count(0)


def test_a_member_without_turbo_rights_is_not_offered_turbo(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    open_project(page, server, project)

    for form in ("prompt-form", "describe-form", "blend-form"):
        options = page.locator(f"#{form} select[name=mode] option:not([disabled])")
        expect(options).to_have_text(["Relax", "Fast"])


def test_an_admin_with_turbo_rights_is_offered_turbo(
    server: StudioServer, page: Page, project: Any, alice: Any
) -> None:
    open_project(page, server, project, "alice")

    options = page.locator("#prompt-form select[name=mode] option:not([disabled])")
    expect(options).to_have_text(["Relax", "Fast", "Turbo"])


def test_up_in_an_empty_prompt_recalls_earlier_prompts_and_recent_lists_them(
    server: StudioServer, page: Page, project: Any, bob: Any, alice: Any
) -> None:
    make_job(project=project, user=bob, prompt="an old harbour at dawn --ar 16:9")
    make_job(project=project, user=alice, prompt="alice's own prompt")
    make_job(project=project, user=bob, prompt="a lighthouse at dusk")
    open_project(page, server, project)
    prompt = page.locator("#id_prompt")

    prompt.focus()
    page.keyboard.press("ArrowUp")
    expect(prompt).to_have_value("a lighthouse at dusk")
    page.keyboard.press("ArrowUp")
    expect(prompt).to_have_value("an old harbour at dawn --ar 16:9")
    expect(page.locator("#final-prompt")).to_contain_text("16:9")  # read like typing
    page.keyboard.press("ArrowDown")
    expect(prompt).to_have_value("a lighthouse at dusk")

    page.click("#recent-menu summary")
    items = page.locator("#recent-menu [data-recall]")
    expect(items).to_have_text(["a lighthouse at dusk", "an old harbour at dawn --ar 16:9"])
    screenshot(page, "composer-recent")
    items.nth(1).click()
    expect(prompt).to_have_value("an old harbour at dawn --ar 16:9")
    expect(page.locator("#recent-menu")).not_to_have_attribute("open", re.compile(".*"))


def test_generate_is_disabled_with_the_reason_when_the_budget_cannot_pay(
    server: StudioServer, page: Page, project: Any, bob: Any, acme: Any
) -> None:
    set_budget(acme, "0.04", user=bob)
    open_project(page, server, project)

    generate = page.locator("#prompt-form button[type=submit]")
    expect(generate).to_be_disabled()
    reason = "$0.04 left of your $0.04 budget this month; this job costs $0.045."
    expect(page.locator("#afford-note")).to_have_text(reason)
    page.fill("#id_prompt", "a fox")
    expect(page.locator("#final-prompt")).to_contain_text("a fox")
    expect(page.locator("#afford-note")).to_have_text(reason)  # after the panel's refresh
    screenshot(page, "composer-unaffordable")
    page.select_option("#prompt-form select[name=mode]", "relax")
    expect(generate).to_be_enabled()
    expect(page.locator("#afford-note")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_parameter_drawer_shows_every_field_inside_it_at_1280_px(
    server: StudioServer, page: Page, project: Any, bob: Any, scheme: str
) -> None:
    page.emulate_media(color_scheme=scheme)
    open_project(page, server, project)

    page.click("#param-drawer summary")

    drawer = page.locator("#param-drawer").bounding_box()
    tile = page.get_by_label("Tile").locator("..").bounding_box()
    assert drawer and tile
    assert tile["x"] + tile["width"] <= drawer["x"] + drawer["width"]
    page.locator("#composer").screenshot(path=str(screenshot_path(f"composer-drawer-{scheme}")))


def test_the_composer_fits_a_phone_with_references_and_the_chooser(
    server: StudioServer, browser: Any, project: Any, bob: Any
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    open_project(page, server, project)
    page.fill("#id_prompt", "a lighthouse")
    expect(page.locator("#final-prompt")).to_contain_text("a lighthouse")
    page.evaluate(PNG_IN_PAGE, ["drop", "#7c6cf2"])
    expect(page.get_by_role("dialog", name="Use the image as")).to_be_visible()
    screenshot(page, "composer-phone-chooser")
    page.get_by_role("button", name="Character reference").click()
    expect(page.locator("[data-ref-field=character_refs] .ref-thumb img")).to_have_count(1)

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    assert overflow <= 0
    page.locator("#composer").screenshot(path=str(screenshot_path("composer-phone")))
    context.close()


def screenshot_path(name: str) -> Any:
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


# The lightbox's "Use as…" and "Use this seed" links (the feed's markup), as they are
# added to a page that has a composer.
ADD_LINK = """([attribute, value, extra, href]) => {
  const link = document.createElement('a');
  link.setAttribute(attribute, value);
  if (extra) link.setAttribute('data-result-image', extra);
  link.href = href;
  link.id = 'use-link';
  link.textContent = 'Use it';
  document.querySelector('.project-head').append(link);
}"""


def test_use_as_style_reference_on_a_result_adds_its_thumbnail_to_the_composer(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    result = make_result_image(project=project, user=bob)
    open_project(page, server, project)
    href = f"/projects/{project.pk}/?use_as=style_refs&image={result.pk}#composer"
    page.evaluate(ADD_LINK, ["data-use-as", "style_refs", str(result.pk), href])
    page.evaluate("window.sameDocument = true")

    page.click("#use-link")

    expect(page.locator("[data-ref-field=style_refs] .ref-thumb img")).to_have_count(1)
    assert page.evaluate("window.sameDocument") is True  # filled in place, not followed
    page.fill("#id_prompt", "a castle")
    expect(page.locator("#final-prompt")).to_contain_text(f"a castle --sref {server.url}/inputs/")


def test_use_this_seed_fills_the_seed_field(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    open_project(page, server, project)
    page.evaluate(ADD_LINK, ["data-use-seed", "1234", "", f"/projects/{project.pk}/?seed=1234"])

    page.click("#use-link")

    expect(page.locator("#param-drawer")).to_have_attribute("open", "")
    expect(page.locator("#prompt-form input[name=seed]")).to_have_value("1234")
    expect(page.locator("#param-drawer summary .chip")).to_have_text("set")  # the panel read it
    page.fill("#id_prompt", "a castle")
    expect(page.locator("#final-prompt")).to_contain_text("--seed 1234")


def test_the_plus_button_uploads_a_character_reference(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    open_project(page, server, project)
    page.click("#param-drawer summary")
    add = page.locator("[data-ref-field=character_refs] input[type=file]")

    add.focus()  # reachable with the keyboard
    add.set_input_files(
        files=[{"name": "hero.png", "mimeType": "image/png", "buffer": make_png(size=(300, 300))}]
    )

    expect(page.locator("[data-ref-field=character_refs] .ref-thumb img")).to_have_count(1)
    page.fill("#id_prompt", "a knight")
    expect(page.locator("#final-prompt")).to_contain_text(f"a knight --cref {server.url}/inputs/")


def test_a_reading_overtaken_by_newer_typing_leaves_the_console_clean(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    """Typing on while the panel is still being read aborts the older reading (the newest
    wins); htmx reports that abort as an error, which the page keeps out of the console
    (the `page` fixture fails the test on any console error)."""
    open_project(page, server, project)
    held: list[Any] = []

    def hold_the_first(route: Any) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # never answered: still on its way when the next one goes

    page.route("**/prompt/", hold_the_first)
    page.fill("#id_prompt", "a harbour at dawn")
    page.wait_for_function(
        "() => document.querySelector('#id_prompt.htmx-request, #prompt-controls.htmx-request')"
    )
    page.fill("#id_prompt", "a harbour at dawn, fog over the water")
    expect(page.locator("#final-prompt")).to_contain_text("fog over the water")
    assert held, "the first reading was held, so the second one overtook it"


def test_a_reading_of_the_panel_that_failed_is_asked_again(
    server: StudioServer, browser: Any, project: Any, bob: Any
) -> None:
    # Its own page: the failure it makes on purpose is logged in the console.
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(45_000)
    log_in(page, server, "bob")
    page.wait_for_url(f"**/projects/{project.pk}/")
    page.fill("textarea[name=prompt]", "a tin robot reading")
    expect(page.locator("#final-prompt")).to_contain_text("a tin robot reading")
    failures: list[str] = []

    def drop_the_first(route: Any) -> None:
        if not failures:
            failures.append(route.request.url)
            route.fulfill(status=503, body="busy")
        else:
            route.continue_()

    page.route("**/prompt/", drop_the_first)
    page.select_option("#prompt-form select[name=mode]", "relax")

    expect(page.locator("#final-prompt .sends-meta")).to_contain_text("relax")
    assert len(failures) == 1  # the change's reading failed; the one asked again landed
    context.close()


def test_a_mode_picked_the_moment_the_panel_is_swapped_in_is_read(
    server: StudioServer, page: Page, project: Any, bob: Any
) -> None:
    """The panel is re-rendered by every reading; a choice made right after a swap (a
    quick member, a loaded machine) must still be read. With htmx's default 20 ms settle
    delay the new panel had no listener yet, and the price and "Sends" line stayed on
    the old mode for good."""
    open_project(page, server, project)
    page.evaluate(
        """() => document.body.addEventListener('htmx:afterSwap', event => {
          if (event.detail.target.id !== 'prompt-controls' || window.pickedOnce) return;
          window.pickedOnce = true;
          setTimeout(() => {
            const mode = document.querySelector('#prompt-form select[name=mode]');
            mode.value = 'relax';
            mode.dispatchEvent(new Event('change', { bubbles: true }));
          }, 0);
        })"""
    )
    page.fill("#id_prompt", "a paper boat on a puddle")

    expect(page.locator("#final-prompt .sends-meta")).to_contain_text("relax")
    expect(page.locator("#final-prompt")).to_contain_text("a paper boat on a puddle")
