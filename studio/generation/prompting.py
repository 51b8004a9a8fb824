"""Midjourney parameters: read them out of a prompt, check them, merge them with the
parameter panel, and write them back into the prompt the provider receives.

Midjourney takes its parameters as `--flags` inside the prompt text; PiAPI passes the
prompt through and only has fields of its own for `aspect_ratio` and `process_mode`
(https://piapi.ai/docs/midjourney-api/imagine). Studio offers the parameters both as panel
fields and as flags typed inline, and the browser shows the server's reading of a prompt,
so this module is the one place that understands either: the two can't drift apart.

Everything here is a pure function of its arguments. The rules in one line each:

- a flag starts a whitespace-separated token ("well--known" is text), in any case, with
  "--" or with the em/en dash a phone puts in its place;
- most flags take one value, and words after that value are text again; `--no`, `--sref`
  and `--cref` take every word up to the next flag; `--tile`, `--draft`, `--relax`,
  `--fast` and `--turbo` take none;
- web addresses at the start of the text are Midjourney's image prompts;
- `split_prompt` checks each flag on its own; rules that pair two fields (`--sw` needs
  `--sref`, `--draft` needs `--v 7`) are checked by `validate` on the merged parameters,
  because the pair may come half from the panel and half from the prompt.

`--draft` is Midjourney's V7 draft mode: quicker, rougher grids at half the cost
(https://docs.legnext.ai/notice); Enhance or Vary renders a draft at full quality. Studio
charges a draft grid half its price (`studio.billing.services.price_for`; `is_draft`).
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlsplit

VERSIONS: Final = ("5.2", "6", "6.1", "7")
QUALITIES: Final = (".25", ".5", "1", "2")
MODES: Final = ("relax", "fast", "turbo")
MAX_NO_LENGTH: Final = 500
MAX_URL_LENGTH: Final = 2048
# Past this many problems a list stops helping: a pasted page of nonsense flags should get
# a readable answer, not thousands of lines.
MAX_ERRORS: Final = 25

# Inclusive ranges of the whole-number parameters, as Midjourney documents them.
RANGES: Final[Mapping[str, tuple[int, int]]] = {
    "stylize": (0, 1000),
    "chaos": (0, 100),
    "seed": (0, 4_294_967_295),
    "weird": (0, 3000),
    "style_weight": (0, 1000),
    "character_weight": (0, 100),
}

# Every flag name Studio accepts (lower-cased, without dashes) and the field it sets.
_ALIASES: Final[Mapping[str, str]] = {
    "ar": "aspect_ratio",
    "aspect": "aspect_ratio",
    "v": "version",
    "version": "version",
    "s": "stylize",
    "stylize": "stylize",
    "c": "chaos",
    "chaos": "chaos",
    "q": "quality",
    "quality": "quality",
    "seed": "seed",
    "style": "style_raw",
    "w": "weird",
    "weird": "weird",
    "tile": "tile",
    "draft": "draft",
    "no": "no",
    "sref": "style_refs",
    "sw": "style_weight",
    "cref": "character_refs",
    "cw": "character_weight",
    "relax": "mode",
    "fast": "mode",
    "turbo": "mode",
}
_SWITCHES: Final = frozenset({"tile", "draft", "relax", "fast", "turbo"})
_MULTI_WORD_FIELDS: Final = frozenset({"no", "style_refs", "character_refs"})
_URL_FIELDS: Final = frozenset({"style_refs", "character_refs", "image_prompts"})
_CHECKBOX_FIELDS: Final = frozenset({"style_raw", "tile", "draft"})

# How `validate` names each field: by the flag people know from Midjourney's docs, because
# a merged value may have come from the panel or from the prompt.
_FLAG_NAMES: Final[Mapping[str, str]] = {
    "aspect_ratio": "--ar",
    "version": "--v",
    "stylize": "--stylize",
    "chaos": "--chaos",
    "quality": "--quality",
    "seed": "--seed",
    "style_raw": "--style",
    "weird": "--weird",
    "tile": "--tile",
    "draft": "--draft",
    "no": "--no",
    "style_refs": "--sref",
    "style_weight": "--sw",
    "character_refs": "--cref",
    "character_weight": "--cw",
    "image_prompts": "Image prompt",
    "mode": "The speed",
}

# What each field holding links the provider fetches is called in a sentence about one.
_REFERENCE_LABELS: Final[Mapping[str, str]] = {
    "image_prompts": "image prompt",
    "style_refs": "--sref",
    "character_refs": "--cref",
}

# How `parameters_from_panel` names each field: by the panel's own labels.
_PANEL_LABELS: Final[Mapping[str, str]] = {
    "aspect_ratio": "Aspect ratio",
    "version": "Version",
    "stylize": "Stylize",
    "chaos": "Chaos",
    "quality": "Quality",
    "seed": "Seed",
    "style_raw": "Raw style",
    "weird": "Weird",
    "tile": "Tile",
    "draft": "Draft",
    "no": "Leave out",
    "style_refs": "Style references",
    "style_weight": "Style weight",
    "character_refs": "Character references",
    "character_weight": "Character weight",
    "image_prompts": "Image prompts",
    "mode": "Speed",
}

# The one order `compile_prompt` writes flags in, so equal parameters give equal prompts.
# aspect_ratio and mode are absent on purpose: they travel as the task input's own
# `aspect_ratio` and `process_mode` fields, and a mode flag in the prompt could contradict
# (and so bypass) the mode Studio reserved money for.
_COMPILED_FLAGS: Final = (
    ("version", "--v"),
    ("stylize", "--s"),
    ("chaos", "--c"),
    ("quality", "--q"),
    ("seed", "--seed"),
    ("style_raw", "--style raw"),
    ("weird", "--w"),
    ("tile", "--tile"),
    ("draft", "--draft"),
    ("no", "--no"),
    ("style_refs", "--sref"),
    ("style_weight", "--sw"),
    ("character_refs", "--cref"),
    ("character_weight", "--cw"),
)

_SUPPORTED: Final = (
    "--ar, --v, --s, --c, --q, --seed, --style raw, --w, --tile, --draft, --no, --sref, "
    "--sw, --cref, --cw, --relax, --fast and --turbo (and the long forms --aspect, "
    "--version, --stylize, --chaos, --quality and --weird)"
)

# Phones replace a typed "--" with one of these.
_PHONE_DASHES: Final = ("\u2014", "\u2013")
# Control characters a prompt may not carry; tab, newline and carriage return are allowed
# because they are only whitespace between words.
_CONTROL_IN_PROMPT: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A single-line panel field allows no line breaks at all.
_CONTROL_IN_LINE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Deliberately simple patterns (no nested repetition) so that matching stays linear on
# hostile input. [0-9] rather than \d: int() would accept other scripts' digits.
_WHOLE_NUMBER: Final = re.compile(r"-?[0-9]+")
_DECIMAL: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,4})?|\.[0-9]{1,4}")
_ASPECT_RATIO: Final = re.compile(r"([0-9]+):([0-9]+)")
# Longer numbers can't be in any range here, and Python refuses to convert very long ones.
_MAX_DIGITS: Final = 19
_CHECKED: Final = frozenset({"on", "true", "1"})
_UNCHECKED: Final = frozenset({"", "off", "false", "0"})


class PromptError(ValueError):
    """Every problem found, each a sentence for people: `errors: list[str]`."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors: list[str] = _readable(errors)
        super().__init__(" ".join(self.errors))


@dataclass(frozen=True)
class Parameters:
    """Midjourney parameters, each None (or False, or empty) when not given."""

    aspect_ratio: str | None = None  # "W:H", whole numbers from 1, between 1:4 and 4:1
    version: str | None = None  # one of VERSIONS
    stylize: int | None = None  # --s / --stylize
    chaos: int | None = None  # --c / --chaos
    quality: str | None = None  # --q / --quality, one of QUALITIES
    seed: int | None = None
    style_raw: bool = False  # --style raw
    weird: int | None = None  # --w / --weird
    tile: bool = False
    draft: bool = False  # V7 draft mode: needs version "7"; half the price
    no: str | None = None  # --no: what to leave out, words up to the next flag
    style_refs: tuple[str, ...] = ()  # --sref URL [URL …]
    style_weight: int | None = None  # --sw, needs style_refs
    character_refs: tuple[str, ...] = ()  # --cref URL [URL …]
    character_weight: int | None = None  # --cw, needs character_refs
    image_prompts: tuple[str, ...] = ()  # image URLs at the start of the prompt
    mode: str | None = None  # "relax" | "fast" | "turbo"; never compiled into a prompt


# ---- The public functions ---------------------------------------------------------------


def split_prompt(prompt: str) -> tuple[str, Parameters]:
    """The text without flags and image prompts, and the parameters found in it.

    Raises PromptError listing every unknown flag, missing value, out-of-range value,
    duplicate flag and control character. Runs in time linear in the prompt's length.
    """
    problems = _control_character_problems(prompt)
    tokens = prompt.split()
    words: list[str] = []
    found: dict[str, Any] = {}
    first_spelling: dict[str, str] = {}  # field → flag name as first typed
    index = 0
    while index < len(tokens):
        name = _flag_name(tokens[index])
        if name is None:
            words.append(tokens[index])
            index += 1
            continue
        end = _end_of_values(tokens, index, name)
        field, value, flag_problems = _read_flag(tokens[index], name, tokens[index + 1 : end])
        if field is not None and field in first_spelling:
            problems.append(_repeat_problem(field, first_spelling[field], name))
        elif field is not None:
            first_spelling[field] = name
            if not flag_problems:
                found[field] = value
        problems += flag_problems
        index = end

    image_count = _count_leading_urls(words)
    image_prompts = tuple(words[:image_count])
    problems += _field_problems("image_prompts", image_prompts, _FLAG_NAMES["image_prompts"])
    if problems:
        raise PromptError(problems)
    if image_prompts:
        found["image_prompts"] = image_prompts
    return " ".join(words[image_count:]), replace(Parameters(), **found)


def merge(panel: Parameters, inline: Parameters) -> Parameters:
    """Field by field, an inline value (the user's newest intent) wins over the panel's.

    "Not given" is None, False or an empty tuple: a switch like --tile can only be turned
    on inline, so an inline False leaves the panel's choice alone.
    """
    newer = {
        field.name: getattr(inline, field.name)
        for field in fields(inline)
        if _is_given(getattr(inline, field.name))
    }
    return replace(panel, **newer)


def compile_prompt(text: str, parameters: Parameters) -> str:
    """The prompt the provider receives: image prompts, then the text, then the flags in
    one fixed order. Neither the aspect ratio nor the mode is compiled: both are fields of
    the task input of their own.

    Raises PromptError when the parameters fail `validate`, when the text carries flags of
    its own (they would bypass the checks), or when there is nothing to draw.
    `split_prompt(compile_prompt(t, p))` gives back `(t, p)` without aspect ratio and mode.
    """
    words = text.split()
    problems = _control_character_problems(text)
    problems += [
        f"The prompt text contains the parameter '{_shown(word)}'; "
        "pass parameters as Parameters instead."
        for word in words
        if _flag_name(word) is not None
    ]
    problems += validate(parameters)
    if not words and not parameters.image_prompts:
        problems.append("The prompt has no words or image prompts: describe the image you want.")
    if problems:
        raise PromptError(problems)
    return " ".join([*parameters.image_prompts, *words, *_flag_words(parameters)])


def validate(parameters: Parameters) -> list[str]:
    """Range and consistency problems of the parameters, as sentences (empty when fine).

    The same rules `split_prompt` applies to each flag, plus the rules that pair two
    fields, which only make sense once panel and prompt are merged.
    """
    problems: list[str] = []
    for field in fields(parameters):
        value = getattr(parameters, field.name)
        if _is_given(value):
            problems += _field_problems(field.name, value, _FLAG_NAMES[field.name])
    if parameters.style_weight is not None and not parameters.style_refs:
        problems.append("--sw needs --sref.")
    if parameters.character_weight is not None and not parameters.character_refs:
        problems.append("--cw needs --cref.")
    if parameters.draft and parameters.version != "7":
        # Draft mode exists in V7 only; without --v the provider's default version may
        # be another (LegNext's is 6.1), so the version must be said.
        problems.append("--draft needs --v 7.")
    return _readable(problems)


def parameters_from_panel(data: Mapping[str, str]) -> Parameters:
    """The parameters in a submitted panel form, whose field names are Parameters' own.

    An empty value means unset; checkboxes read "on", "true" or "1"; references and image
    prompts are web addresses separated by spaces or line breaks. Raises PromptError for
    what can't be read at all (a number that isn't one, a control character); values that
    read fine but break a rule (out of range, "--" inside) are left to `validate`.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in fields(Parameters):
        try:
            values[field.name] = _panel_value(field.name, data.get(field.name) or "")
        except PromptError as error:
            problems += error.errors
    if problems:
        raise PromptError(problems)
    return replace(
        Parameters(), **{name: value for name, value in values.items() if _is_given(value)}
    )


def panel_values(parameters: Parameters) -> dict[str, str]:
    """The panel form's values for these parameters: the inverse of parameters_from_panel."""
    return {
        field.name: _panel_text(getattr(parameters, field.name)) for field in fields(parameters)
    }


def reference_links(parameters: Parameters) -> list[tuple[str, str]]:
    """The web addresses among the parameters that the provider will fetch, each with
    what it is ("image prompt", "--sref" or "--cref"), in that order."""
    return [
        (label, url)
        for field, label in _REFERENCE_LABELS.items()
        for url in getattr(parameters, field)
    ]


def is_draft(prompt: str) -> bool:
    """Whether a prompt as sent asks for a draft (`--draft` among its words), read
    without refusing anything else: a follow-up's prompt may be a remix prompt as typed,
    and its price still depends on it."""
    return any(_flag_name(token) == "draft" for token in prompt.split())


def reference_links_in(prompt: str) -> list[tuple[str, str]]:
    """The links of `reference_links` in a prompt's text (image prompts first, then each
    --sref and --cref value as typed), read the way `split_prompt` reads them but without
    refusing anything else: a remix prompt goes to the provider as typed, so its
    links must be found even when the rest of it would not parse."""
    tokens = prompt.split()
    words: list[str] = []
    references: list[tuple[str, str]] = []
    index = 0
    while index < len(tokens):
        name = _flag_name(tokens[index])
        if name is None:
            words.append(tokens[index])
            index += 1
            continue
        end = _end_of_values(tokens, index, name)
        label = _REFERENCE_LABELS.get(_ALIASES.get(name, ""))
        if label is not None:
            references += [(label, url) for url in tokens[index + 1 : end]]
        index = end
    image_prompts = words[: _count_leading_urls(words)]
    return [(_REFERENCE_LABELS["image_prompts"], url) for url in image_prompts] + references


# ---- Reading flags ----------------------------------------------------------------------


def _flag_name(token: str) -> str | None:
    """The lower-cased name of a flag token ("--AR" → "ar", "—ar" → "ar"), None for text.

    A phone's dash only counts directly before a letter, so that a lone "—" stays the
    punctuation it usually is.
    """
    name = token.lstrip("-" + "".join(_PHONE_DASHES))
    if token.startswith("--"):
        return name.lower()
    if token.startswith(_PHONE_DASHES) and name[:1].isascii() and name[:1].isalpha():
        return name.lower()
    return None


def _end_of_values(tokens: Sequence[str], index: int, name: str) -> int:
    """The index just past the value words of the flag at `index`."""
    field = _ALIASES.get(name)
    if field is None or name in _SWITCHES:
        return index + 1
    if field in _MULTI_WORD_FIELDS:
        end = index + 1
        while end < len(tokens) and _flag_name(tokens[end]) is None:
            end += 1
        return end
    # One value; words after it are text again, so "a fox --ar 16:9 at dawn" keeps "at dawn".
    if index + 1 < len(tokens) and _flag_name(tokens[index + 1]) is None:
        return index + 2
    return index + 1


def _read_flag(token: str, name: str, values: Sequence[str]) -> tuple[str | None, Any, list[str]]:
    """(field, value, problems) for one flag and its value words; field is None if unknown."""
    flag = f"--{name}"
    field = _ALIASES.get(name)
    if field is None:
        return None, None, [_unknown_flag_problem(token, name)]
    if name in _SWITCHES:
        return field, name if field == "mode" else True, []
    if not values:
        return field, None, [f"{flag} needs a value."]
    raw = " ".join(values)
    if field == "style_raw":
        if raw.lower() == "raw":
            return field, True, []
        return field, None, [f"{flag} {_shown(raw)} is not supported; Studio supports --style raw."]
    try:
        value = _value_from_text(field, raw, flag)
    except PromptError as error:
        return field, None, error.errors
    return field, value, _field_problems(field, value, flag)


def _unknown_flag_problem(token: str, name: str) -> str:
    if not name:
        return f'A lone "{_shown(token)}" is not a parameter. Studio supports: {_SUPPORTED}.'
    return f"Unknown parameter --{_shown(name)}. Studio supports: {_SUPPORTED}."


def _repeat_problem(field: str, first: str, again: str) -> str:
    if field == "mode" and first != again:
        return f"Choose one speed: --{first} and --{again} can't be combined."
    label = f"--{again}" if field == "mode" else _FLAG_NAMES[field]
    return f"{label} is given more than once; keep one."


def _count_leading_urls(words: Sequence[str]) -> int:
    count = 0
    while count < len(words) and words[count].lower().startswith(("http://", "https://")):
        count += 1
    return count


def _value_from_text(field: str, raw: str, name: str) -> Any:
    """A field's value from its text, normalised where the text has one meaning
    ("16:09" → "16:9", "6.0" → "6", "0.5" → ".5"). Text that doesn't normalise is
    kept as typed for `_field_problems` to explain; only numbers that aren't numbers at
    all raise PromptError here."""
    if field in RANGES:
        return _parse_whole_number(raw, field, name)
    if field == "aspect_ratio":
        return _canonical_aspect_ratio(raw) or raw
    if field == "version":
        return _canonical_choice(raw, VERSIONS) or raw
    if field == "quality":
        return _canonical_choice(raw, QUALITIES) or raw
    if field in _URL_FIELDS:
        return tuple(raw.split())
    if field == "no":
        return " ".join(raw.split())
    if field == "mode":
        return raw.lower()
    return raw


def _parse_whole_number(raw: str, field: str, name: str) -> int:
    low, high = RANGES[field]
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise PromptError(
            [f"{name} must be a whole number from {low} to {high}; got '{_shown(raw)}'."]
        )
    if len(raw.lstrip("-").lstrip("0")) > _MAX_DIGITS:
        raise PromptError([f"{name} must be from {low} to {high}; got {_shown(raw)}."])
    return int(raw)


def _canonical_aspect_ratio(raw: str) -> str | None:
    """The ratio as "W:H" without leading zeros, or None if `raw` isn't two whole numbers.

    Not reduced: 32:18 and 16:9 are the same shape, but Midjourney sizes them differently.
    """
    match = _ASPECT_RATIO.fullmatch(raw)
    if match is None:
        return None
    width, height = (side.lstrip("0") or "0" for side in match.groups())
    if len(width) > _MAX_DIGITS or len(height) > _MAX_DIGITS:
        return None
    return f"{width}:{height}"


def _canonical_choice(raw: str, choices: Sequence[str]) -> str | None:
    """The choice that `raw` equals as a number ("6.0" → "6", "0.25" → ".25"), or None."""
    if not _DECIMAL.fullmatch(raw):
        return None
    number = Decimal(raw)
    return next((choice for choice in choices if Decimal(choice) == number), None)


# ---- Checking values --------------------------------------------------------------------


def _field_problems(field: str, value: Any, name: str) -> list[str]:
    """What is wrong with one field's value; `name` is what the sentences call the field."""
    if field in RANGES:
        return _optional(_range_problem(field, value, name))
    if field == "aspect_ratio":
        return _optional(_aspect_ratio_problem(value, name))
    if field == "version":
        return _optional(_choice_problem(value, VERSIONS, name))
    if field == "quality":
        return _optional(_choice_problem(value, QUALITIES, name))
    if field == "mode":
        return _optional(_mode_problem(value, name))
    if field == "no":
        return _no_problems(value, name)
    if field in _URL_FIELDS:
        return [problem for url in value if (problem := _url_problem(url, name))]
    return []  # the switches: on or off, both fine


def _optional(problem: str | None) -> list[str]:
    return [] if problem is None else [problem]


def _range_problem(field: str, value: int, name: str) -> str | None:
    low, high = RANGES[field]
    if low <= value <= high:
        return None
    return f"{name} must be from {low} to {high}; got {value}."


def _aspect_ratio_problem(value: str, name: str) -> str | None:
    canonical = _canonical_aspect_ratio(value)
    if canonical is None:
        return f"{name} must be two whole numbers like 16:9; got '{_shown(value)}'."
    if canonical != value:
        return f"{name} {_shown(value)} should be written {canonical}."
    width, height = (int(side) for side in canonical.split(":"))
    if width < 1 or height < 1:
        return f"{name} needs both sides to be at least 1; got {canonical}."
    # Midjourney allows 1:4 to 4:1; compared in whole numbers to stay exact.
    if width > 4 * height or height > 4 * width:
        return f"{name} must be between 1:4 and 4:1; got {canonical}."
    return None


def _choice_problem(value: str, choices: Sequence[str], name: str) -> str | None:
    if value in choices:
        return None
    return f"{name} {_shown(value)} is not supported; choose {_spoken_list(choices)}."


def _mode_problem(value: str, name: str) -> str | None:
    if value in MODES:
        return None
    return f"{name} must be {_spoken_list(MODES)}; got '{_shown(value)}'."


def _no_problems(value: str, name: str) -> list[str]:
    if _CONTROL_IN_LINE.search(value):
        return [f"{name} can't contain line breaks or control characters."]
    words = value.split()
    if not words:
        return [f"{name} needs a value."]
    problems = []
    # The words go into the prompt after "--no", so a flag among them would become a real
    # parameter that no check ever saw.
    if "--" in value or any(_flag_name(word) is not None for word in words):
        problems.append(
            f'{name} can\'t contain "--" or a dash before a word: Midjourney would read it '
            f"as another parameter; got '{_shown(value)}'."
        )
    if len(value) > MAX_NO_LENGTH:
        problems.append(f"{name} can be at most {MAX_NO_LENGTH} characters; got {len(value)}.")
    return problems


def _url_problem(url: str, name: str) -> str | None:
    if url.lower() == "random":
        return f"{name} random is not supported; give image web addresses instead."
    if _CONTROL_IN_LINE.search(url) or any(character.isspace() for character in url):
        return (
            f"{name}: a web address can't contain spaces, line breaks or control characters; "
            f"got '{_shown(url)}'."
        )
    if not url.lower().startswith(("http://", "https://")):
        return f"{name}: '{_shown(url)}' is not a web address starting with http:// or https://."
    # A URL never needs "--", and refusing it keeps every "--" in a prompt a real flag.
    if "--" in url:
        return f"{name}: a web address can't contain \"--\"; got '{_shown(url)}'."
    if len(url) > MAX_URL_LENGTH:
        return f"{name}: web addresses can be at most {MAX_URL_LENGTH} characters long."
    if not _has_host(url):
        return f"{name}: '{_shown(url)}' is not a complete web address."
    return None


def _has_host(url: str) -> bool:
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        return False


def _control_character_problems(text: str) -> list[str]:
    found = dict.fromkeys(_CONTROL_IN_PROMPT.findall(text))
    return [
        f"The prompt contains the invisible control character U+{ord(character):04X}; remove it."
        for character in found
    ]


# ---- The panel --------------------------------------------------------------------------


def _panel_value(field: str, raw: str) -> Any:
    """One panel field's value; None (or False, or ()) when left empty."""
    label = _PANEL_LABELS[field]
    # Line breaks separate web addresses; anywhere else they could start a new prompt line.
    if field in _URL_FIELDS:
        if _CONTROL_IN_PROMPT.search(raw):
            raise PromptError([f"{label} can't contain control characters."])
    elif _CONTROL_IN_LINE.search(raw):
        raise PromptError([f"{label} can't contain line breaks or control characters."])
    if field in _CHECKBOX_FIELDS:
        return _parse_checkbox(raw, label)
    text = raw.strip()
    return _value_from_text(field, text, label) if text else None


def _parse_checkbox(raw: str, label: str) -> bool:
    value = raw.strip().lower()
    if value in _CHECKED:
        return True
    if value in _UNCHECKED:
        return False
    raise PromptError([f"{label} must be on or off; got '{_shown(raw)}'."])


def _panel_text(value: object) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "on"
    if isinstance(value, tuple):
        return "\n".join(value)
    return str(value)


# ---- Writing the prompt -----------------------------------------------------------------


def _flag_words(parameters: Parameters) -> list[str]:
    words: list[str] = []
    for field, flag in _COMPILED_FLAGS:
        value = getattr(parameters, field)
        if not _is_given(value):
            continue
        words.append(flag)
        if isinstance(value, tuple):
            words += value
        elif isinstance(value, str):
            words += value.split()  # tidies the whitespace inside --no
        elif value is not True:
            words.append(str(value))
    return words


# ---- Small helpers ----------------------------------------------------------------------


def _is_given(value: object) -> bool:
    # Identity checks: 0 == False, and a seed or chaos of 0 is a real value.
    return value is not None and value is not False and value != ()


def _shown(value: str, limit: int = 40) -> str:
    """`value` as it can be quoted in a sentence: short, with invisible characters marked."""
    clipped = value if len(value) <= limit else value[:limit] + "…"
    return "".join(character if character.isprintable() else "\ufffd" for character in clipped)


def _spoken_list(items: Sequence[str]) -> str:
    return ", ".join(items[:-1]) + " or " + items[-1]


def _readable(errors: Iterable[str]) -> list[str]:
    """Each problem once, in the order found, and not too many of them."""
    distinct = list(dict.fromkeys(errors))
    if len(distinct) <= MAX_ERRORS:
        return distinct
    hidden = len(distinct) - (MAX_ERRORS - 1)
    return [*distinct[: MAX_ERRORS - 1], f"…and {hidden} more problems."]
