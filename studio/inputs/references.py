"""Links in a prompt that the provider will fetch: image prompts, --sref and --cref.

Studio never fetches these itself, but it sends them to the provider on its own key, so
they follow the rules of every link Studio is given (studio/inputs/fetch.py): public
http(s) only, with no user name or password, and a host name whose every address is
public. The one exception is Studio's own public URL of an input image of the same
project (what the reference-image upload answers with; in development it is on
127.0.0.1). Any other link to Studio is refused as well: another project's images are
not this project's to send, and Studio's pages need a login the provider does not have.

The host-name lookup is the slow part, so `references_check` can leave it out for the
panel's feedback while the member types; what is sent is always checked in full.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from studio.inputs.fetch import DEFAULT_PORTS, UnsafeLink, check_public_link
from studio.inputs.models import InputImage
from studio.projects.models import Project

ADVICE = "use a public image link or upload the image"
NOT_THIS_PROJECTS = "is not an image uploaded to this project"
SHOWN_LENGTH = 60


@dataclass(frozen=True)
class ReferenceCheck:
    problems: list[str] = field(default_factory=list)  # one sentence per refused link
    inputs: list[InputImage] = field(default_factory=list)  # the project's images linked to

    @property
    def is_valid(self) -> bool:
        return not self.problems


def references_check(
    *, project: Project, links: Iterable[tuple[str, str]], resolve_names: bool = True
) -> ReferenceCheck:
    """Check each (label, url) link a prompt carries (see `prompting.reference_links`).

    Returns a sentence for every refused link, naming it ("The --sref link
    http://169.254.169.254/… points to a private address; use a public image link or
    upload the image."), and the project's own input images that the links point to, for
    the job to be linked to. Without `resolve_names` host names are not looked up (see
    `fetch.check_public_link`); at most one database query either way.
    """
    links = list(links)
    studio_links = [url for _label, url in links if _is_studio_link(url)]
    own = _own_inputs(project, studio_links) if studio_links else {}
    problems: list[str] = []
    inputs: dict[int, InputImage] = {}
    for label, url in links:
        if url in own:
            inputs[own[url].pk] = own[url]
            continue
        reason = NOT_THIS_PROJECTS if url in studio_links else _unsafe(url, resolve_names)
        if reason:
            problem = f"The {label} link {shown_link(url)} {reason}; {ADVICE}."
            if problem not in problems:
                problems.append(problem)
    return ReferenceCheck(problems=problems, inputs=list(inputs.values()))


def shown_link(url: str) -> str:
    """A link as a message shows it: scheme and host, the rest elided, never a password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    host = parts.netloc.rpartition("@")[2] if parts else ""
    if parts is None or not parts.scheme or not host:
        shown = _clipped(url)
    else:
        elided = "…" if parts.path not in ("", "/") or parts.query or parts.fragment else ""
        shown = f"{parts.scheme}://{_clipped(host)}/{elided}"
    return "".join(character if character.isprintable() else "\ufffd" for character in shown)


def _clipped(text: str) -> str:
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH] + "…"


def _unsafe(url: str, resolve_names: bool) -> str:
    try:
        check_public_link(url, resolve_names=resolve_names)
    except UnsafeLink as refused:
        return refused.reason
    return ""


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return (scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme, 0))
    except ValueError:
        return None


def _is_studio_link(url: str) -> bool:
    """Does the link point into Studio itself (under STUDIO_PUBLIC_URL)?"""
    base = settings.STUDIO_PUBLIC_URL
    origin = _origin(base) if base else None
    if origin is None or _origin(url) != origin:
        return False
    return urlsplit(url).path.startswith(urlsplit(base).path.rstrip("/") + "/")


def inputs_linked(*, project: Project, urls: Iterable[str]) -> dict[str, InputImage]:
    """The project's input images among `urls` (their exact public URLs), by URL: what
    the composer shows as thumbnails rather than as links."""
    studio_links = [url for url in urls if _is_studio_link(url)]
    return _own_inputs(project, studio_links) if studio_links else {}


def _own_inputs(project: Project, urls: list[str]) -> dict[str, InputImage]:
    """The project's input images among `urls`, by URL; only their exact public URL counts."""
    tokens = set()
    for url in urls:
        segments = urlsplit(url).path.split("/")
        if len(segments) > 2:
            tokens.add(segments[-2])  # /inputs/<token>/<name>
    images = InputImage.objects.filter(project=project, token__in=tokens)
    return {image.public_url(): image for image in images if image.public_url() in urls}
