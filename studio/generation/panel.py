"""The prompt composer's state: the prompt's text, its inline flags and the parameter
panel's fields, read together so that both ways always agree.

Inline flags win over panel fields (they are the newest thing typed) and are shown in
the panel marked "from prompt"; the provider receives one compiled prompt without any
mode flag, so the mode a job runs (and is billed) in is always the panel's.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from django.conf import settings

from studio.generation import prompting
from studio.generation.forms import ASPECT_RATIOS
from studio.generation.models import ProcessMode
from studio.inputs.models import InputImage
from studio.inputs.references import references_check
from studio.projects.models import Project

ADVANCED = (
    "version",
    "stylize",
    "chaos",
    "quality",
    "seed",
    "style_raw",
    "weird",
    "tile",
    "draft",
    "no",
    "style_refs",
    "style_weight",
    "character_refs",
    "character_weight",
    "image_prompts",
)


def _is_set(value: object) -> bool:
    return value not in (None, False, (), "")


@dataclass
class Panel:
    text: str = ""
    parameters: prompting.Parameters = field(default_factory=prompting.Parameters)
    from_prompt: frozenset[str] = frozenset()
    errors: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, prompt: str, data: Mapping[str, str]) -> "Panel":
        errors: list[str] = []
        if len(prompt.strip()) > settings.PROMPT_MAX_LENGTH:
            # Said here only (the form has no limit of its own), so it is said once.
            errors.append(
                f"The prompt is {len(prompt.strip())} characters long; "
                f"the limit is {settings.PROMPT_MAX_LENGTH}."
            )
        try:
            text, inline = prompting.split_prompt(prompt)
        except prompting.PromptError as problem:
            errors += problem.errors
            text, inline = prompt.strip(), prompting.Parameters()
        try:
            from_panel = prompting.parameters_from_panel(data)
        except prompting.PromptError as problem:
            errors += problem.errors
            from_panel = prompting.Parameters()
        merged = prompting.merge(from_panel, inline)
        errors += [e for e in prompting.validate(merged) if e not in errors]
        from_prompt = frozenset(f.name for f in fields(inline) if _is_set(getattr(inline, f.name)))
        panel = cls(text=text, parameters=merged, from_prompt=from_prompt, errors=errors)
        if prompt.strip() and not text and not merged.image_prompts:
            panel.errors.append("The prompt has only parameters; describe the image too.")
        if not panel.errors and len(panel.compiled) > settings.PROMPT_MAX_LENGTH:
            panel.errors.append(
                f"With its parameters the prompt is {len(panel.compiled)} characters long; "
                f"the limit is {settings.PROMPT_MAX_LENGTH}."
            )
        return panel

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def compiled(self) -> str:
        """The prompt the provider receives (flags inside, never a mode flag); empty
        while the panel has errors."""
        try:
            return prompting.compile_prompt(self.text, self.parameters)
        except prompting.PromptError:
            return ""

    @property
    def aspect_ratio(self) -> str:
        return self.parameters.aspect_ratio or "1:1"

    @property
    def mode(self) -> str:
        """The mode the job runs (and is billed) in; a bad value is an error already."""
        mode = self.parameters.mode
        return mode if mode in ProcessMode.values else ProcessMode.FAST

    @property
    def values(self) -> dict[str, str]:
        """Every field as a form value (what the panel shows, and what a job keeps)."""
        values = prompting.panel_values(self.parameters)
        values["aspect_ratio"] = self.aspect_ratio
        values["mode"] = self.mode
        return values

    @property
    def has_advanced(self) -> bool:
        return any(_is_set(getattr(self.parameters, name)) for name in ADVANCED)

    @property
    def aspect_choices(self) -> list[tuple[str, str]]:
        """The presets, plus a ratio typed inline that is not one of them."""
        choices = list(ASPECT_RATIOS)
        if self.aspect_ratio not in dict(choices):
            choices.append((self.aspect_ratio, f"{self.aspect_ratio} (from prompt)"))
        return choices


def refuse_unsafe_links(panel: Panel, project: Project, *, resolve_names: bool) -> list[InputImage]:
    """Check the links the provider would fetch (image prompts, --sref, --cref) once the
    panel is otherwise valid; each refused link becomes a panel error. Returns the
    project's input images the links point to."""
    if not panel.is_valid:
        return []
    links = prompting.reference_links(panel.parameters)
    check = references_check(project=project, links=links, resolve_names=resolve_names)
    panel.errors.extend(check.problems)
    return check.inputs
