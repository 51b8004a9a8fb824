import time
from typing import Any

import pytest

from studio.inputs import fetch
from studio.inputs.errors import InputImageError, InputImageTooLarge
from studio.inputs.fetch import (
    PRIVATE_ADDRESS,
    UnsafeLink,
    check_public_link,
    fetch_image,
    is_public_address,
)
from tests.inputs.conftest import PNG, TEST_HOST, Site


def refusal(url: str) -> str:
    with pytest.raises(InputImageError) as caught:
        fetch_image(url)
    return caught.value.message


# --- the happy path, through the test host --------------------------------------------


def test_it_fetches_an_image_from_a_public_link(images_site: Site) -> None:
    fetched = fetch_image(f"{images_site.url}/photos/lighthouse.png")

    assert fetched.data == PNG
    assert fetched.content_type == "image/png"
    assert fetched.final_url == f"{images_site.url}/photos/lighthouse.png"


def test_it_sends_the_links_host_name_to_the_address_it_vetted(
    images_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: a second lookup would now point inside. Studio looks up once and
    # connects to the address it checked.
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    calls = []

    def rebinding_resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    monkeypatch.setattr(fetch, "resolve", rebinding_resolve)

    assert fetch_image(f"{images_site.url}/a.png").data == PNG
    assert calls == [TEST_HOST]
    assert images_site.requests == [("/a.png", f"{TEST_HOST}:{images_site.port}")]


def test_it_follows_up_to_three_redirects(images_site: Site) -> None:
    fetched = fetch_image(f"{images_site.url}/hop/0?until=3")

    assert fetched.data == PNG
    assert fetched.final_url == f"{images_site.url}/hop/3?until=3"


def test_it_encodes_spaces_in_the_path_as_browsers_do(images_site: Site) -> None:
    fetch_image(f"{images_site.url}/my photo.png")

    assert images_site.paths() == ["/my%20photo.png"]


def test_it_fetches_over_https_checking_the_certificate_against_the_host_name(
    secure_images_site: Site, trust_test_ca: None
) -> None:
    assert fetch_image(f"{secure_images_site.url}/a.png").data == PNG


def test_it_refuses_a_certificate_for_another_name(
    impostor_site: Site, trust_test_ca: None
) -> None:
    message = refusal(f"{impostor_site.url}/a.png")

    assert message == f"The HTTPS certificate of {TEST_HOST} could not be verified."


def test_it_refuses_a_certificate_from_an_unknown_authority(secure_images_site: Site) -> None:
    message = refusal(f"{secure_images_site.url}/a.png")

    assert message == f"The HTTPS certificate of {TEST_HOST} could not be verified."


# --- addresses inside -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://127.0.0.1:8000/inputs/",
        "http://localhost/a.png",
        "http://[::1]/a.png",
        "http://10.0.0.5/a.png",
        "http://172.16.0.1/a.png",
        "http://192.168.1.1/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/a.png",
        "http://[::ffff:127.0.0.1]/a.png",
        "http://[::ffff:7f00:1]/a.png",
        "http://100.64.0.1/a.png",
        "http://[fe80::1]/a.png",
        "http://[fc00::1]/a.png",
        "http://[fd12:3456::1]/a.png",
        "http://224.0.0.1/a.png",
        "http://[ff02::1]/a.png",
        "http://[::]/a.png",
        "http://[2002:a00:1::1]/a.png",  # 6to4 around 10.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/a.png",  # NAT64 around 169.254.169.254
        "http://2130706433/a.png",  # 127.0.0.1 as one number
        "http://0x7f000001/a.png",
        "http://127.1/a.png",
        "http://255.255.255.255/a.png",
    ],
)
def test_it_refuses_addresses_inside(url: str) -> None:
    assert refusal(url) == PRIVATE_ADDRESS


def test_it_refuses_a_host_name_that_resolves_to_a_private_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetch, "resolve", lambda host, port: ["10.1.2.3"])

    assert refusal("https://intranet.example.com/a.png") == PRIVATE_ADDRESS


def test_it_refuses_a_host_name_with_any_private_address_among_public_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetch, "resolve", lambda host, port: ["93.184.216.34", "192.168.0.7"])

    assert refusal("https://cdn.example.com/a.png") == PRIVATE_ADDRESS


def test_it_refuses_a_redirect_to_an_address_inside(images_site: Site) -> None:
    inside = f"http://127.0.0.1:{images_site.port}/secret.png"

    message = refusal(f"{images_site.url}/redirect?to={inside}")

    assert message == PRIVATE_ADDRESS
    assert images_site.paths() == [f"/redirect?to={inside}"]  # the inside URL was never asked


def test_it_refuses_a_redirect_to_another_scheme(images_site: Site) -> None:
    message = refusal(f"{images_site.url}/redirect?to=file:///etc/passwd")

    assert message == "Only http and https links can be fetched."


def test_it_refuses_a_host_it_cannot_find(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    monkeypatch.setattr(fetch, "resolve", no_such_host)

    assert (
        refusal("https://nowhere.example/a.png")
        == "Studio could not find the host nowhere.example."
    )


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:82b::200e"],
)
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(address)


# --- links of the wrong kind -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://example.com/",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "example.com/a.png",
        "//example.com/a.png",
        "",
    ],
)
def test_it_refuses_links_that_are_not_http_or_https(url: str) -> None:
    assert refusal(url) == "Only http and https links can be fetched."


@pytest.mark.parametrize(
    "url",
    [
        "http://user:secret@example.com/a.png",
        "https://user@example.com/a.png",
        "http://example.com\\@127.0.0.1/a.png",
    ],
)
def test_it_refuses_links_with_a_user_name_or_password(url: str) -> None:
    assert refusal(url) == "Links with a user name or password cannot be fetched."


def test_it_refuses_a_link_with_control_characters() -> None:
    message = refusal("http://example.com/a.png\r\nX-Injected: 1")

    assert message == "That link contains control characters."


# --- what the server answers ---------------------------------------------------------


def test_it_refuses_more_than_three_redirects(images_site: Site) -> None:
    message = refusal(f"{images_site.url}/hop/0?until=4")

    assert message == "The link redirected more than 3 times."
    assert len(images_site.requests) == 4


def test_it_refuses_a_redirect_without_a_location(images_site: Site) -> None:
    assert refusal(f"{images_site.url}/redirect-nowhere") == (
        "The link redirected without saying where to."
    )


def test_it_refuses_an_answer_other_than_200(images_site: Site) -> None:
    assert refusal(f"{images_site.url}/missing") == (
        "The link answered with HTTP 404 instead of an image."
    )


def test_it_refuses_a_body_declared_over_the_limit_before_reading_it(images_site: Site) -> None:
    with pytest.raises(InputImageTooLarge) as caught:
        fetch_image(f"{images_site.url}/huge-declared")

    assert caught.value.message == "The image at that link is larger than 25 MB."


def test_it_stops_reading_a_body_that_grows_over_the_limit(
    images_site: Site, settings: Any
) -> None:
    settings.INPUT_IMAGE_MAX_BYTES = 4000

    with pytest.raises(InputImageTooLarge) as caught:
        fetch_image(f"{images_site.url}/huge-streamed")

    assert caught.value.message == "The image at that link is larger than 3.9 KB."


def test_it_refuses_a_body_cut_off_before_its_declared_length(images_site: Site) -> None:
    assert refusal(f"{images_site.url}/cut-off") == "The download from that link was cut off."


def test_it_gives_up_on_a_server_that_does_not_answer_in_time(
    images_site: Site, settings: Any
) -> None:
    settings.INPUT_FETCH_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()

    message = refusal(f"{images_site.url}/slow")

    assert message == "The link did not answer within 0.5 seconds."
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("route", ["/trickle", "/trickle-unsized"])
def test_the_time_limit_covers_a_body_sent_a_byte_at_a_time(
    images_site: Site, settings: Any, route: str
) -> None:
    # Each byte comes well within any per-read timeout; the total is what is limited.
    settings.INPUT_FETCH_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()

    message = refusal(f"{images_site.url}{route}")

    assert message == "The link did not answer within 0.5 seconds."
    assert time.monotonic() - started < 1.5


def test_the_time_limit_message_reads_naturally_for_whole_seconds(
    images_site: Site, settings: Any
) -> None:
    settings.INPUT_FETCH_TIMEOUT_SECONDS = 1.0

    assert refusal(f"{images_site.url}/slow") == "The link did not answer within 1 second."


# --- checking a link someone else will fetch -------------------------------------------


def link_refusal(url: str, *, resolve_names: bool = True) -> str:
    with pytest.raises(UnsafeLink) as caught:
        check_public_link(url, resolve_names=resolve_names)
    return caught.value.reason


def no_lookups(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} was looked up")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/",
        "http://127.1/a.png",
        "http://0x7f000001/a.png",
        "http://2130706433/a.png",
        "http://[::ffff:10.0.0.1]/a.png",
    ],
)
def test_a_link_check_without_lookups_still_refuses_addresses_written_as_numbers(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "resolve", no_lookups)

    assert link_refusal(url, resolve_names=False) == "points to a private address"


def test_a_link_check_without_lookups_takes_a_host_name_on_trust(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetch, "resolve", no_lookups)

    check_public_link("https://intranet.example.com/a.png", resolve_names=False)


def test_a_link_check_without_lookups_still_refuses_credentials_and_other_schemes() -> None:
    assert link_refusal("https://me:pw@cdn.example/a.png", resolve_names=False) == (
        "contains a user name or password"
    )
    assert link_refusal("ftp://cdn.example/a.png", resolve_names=False) == (
        "is not an http(s) link"
    )


def test_a_link_check_looks_up_host_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "resolve", lambda host, port: ["10.1.2.3"])

    assert link_refusal("https://intranet.example.com/a.png") == "points to a private address"


def test_a_link_check_refuses_a_host_it_cannot_find(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    monkeypatch.setattr(fetch, "resolve", no_such_host)

    assert link_refusal("https://nowhere.example/a.png") == "names a host Studio could not find"


def test_a_link_check_passes_a_public_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "resolve", lambda host, port: ["93.184.216.34"])

    check_public_link("https://cdn.example/a.png")


# --- POST (Studio's webhooks to API callers) ------------------------------------------


def test_a_post_goes_over_tls_checked_against_the_links_name(
    secure_images_site: Site, trust_test_ca: None
) -> None:
    answer = fetch.post_json(f"{secure_images_site.url}/hook", b"{}", headers={}, timeout=5)

    assert answer.status == 501  # the image site takes no POST: its answer, as it came


def test_a_post_refuses_a_certificate_for_another_name(
    impostor_site: Site, trust_test_ca: None
) -> None:
    with pytest.raises(InputImageError, match="could not be verified"):
        fetch.post_json(f"{impostor_site.url}/hook", b"{}", headers={}, timeout=5)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://[::1]/hook", "ftp://a.test/"])
def test_a_post_to_a_link_studio_does_not_reach_is_refused_before_connecting(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def connect(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("connected")

    monkeypatch.setattr(fetch.socket, "create_connection", connect)

    with pytest.raises(UnsafeLink):
        fetch.post_json(url, b"{}", headers={}, timeout=5)
