"""Midjourney parameters: the panel and inline flags read, checked, merged and compiled by
one implementation. Pure functions: no database."""

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.generation.prompting import (
    Parameters,
    PromptError,
    compile_prompt,
    is_draft,
    merge,
    panel_values,
    parameters_from_panel,
    reference_links,
    reference_links_in,
    split_prompt,
    validate,
)

# More examples than Hypothesis's default 100: the parser is small and fast, and the
# interesting prompts (duplicates, dashes, empty values) are a small part of the space.
examples = settings(max_examples=300)


def errors_of(prompt: str) -> list[str]:
    with pytest.raises(PromptError) as caught:
        split_prompt(prompt)
    return caught.value.errors


def parameters_of(prompt: str) -> Parameters:
    return split_prompt(prompt)[1]


# ---- Every flag and alias ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a fox --ar 16:9", Parameters(aspect_ratio="16:9")),
        ("a fox --aspect 2:3", Parameters(aspect_ratio="2:3")),
        ("a fox --v 7", Parameters(version="7")),
        ("a fox --version 6.1", Parameters(version="6.1")),
        ("a fox --v 5.2", Parameters(version="5.2")),
        ("a fox --s 250", Parameters(stylize=250)),
        ("a fox --stylize 250", Parameters(stylize=250)),
        ("a fox --c 10", Parameters(chaos=10)),
        ("a fox --chaos 10", Parameters(chaos=10)),
        ("a fox --q 2", Parameters(quality="2")),
        ("a fox --quality .5", Parameters(quality=".5")),
        ("a fox --seed 42", Parameters(seed=42)),
        ("a fox --style raw", Parameters(style_raw=True)),
        ("a fox --w 100", Parameters(weird=100)),
        ("a fox --weird 100", Parameters(weird=100)),
        ("a fox --tile", Parameters(tile=True)),
        ("a fox --v 7 --draft", Parameters(version="7", draft=True)),
        ("a fox --no cars, trees", Parameters(no="cars, trees")),
        (
            "a fox --sref https://a.example/1.png https://b.example/2.png",
            Parameters(style_refs=("https://a.example/1.png", "https://b.example/2.png")),
        ),
        (
            "a fox --sref https://a.example/1.png --sw 200",
            Parameters(style_refs=("https://a.example/1.png",), style_weight=200),
        ),
        (
            "a fox --cref https://c.example/z.png",
            Parameters(character_refs=("https://c.example/z.png",)),
        ),
        (
            "a fox --cref https://c.example/z.png --cw 50",
            Parameters(character_refs=("https://c.example/z.png",), character_weight=50),
        ),
        ("a fox --relax", Parameters(mode="relax")),
        ("a fox --fast", Parameters(mode="fast")),
        ("a fox --turbo", Parameters(mode="turbo")),
    ],
)
def test_each_flag_and_alias_is_read_into_its_field(prompt: str, expected: Parameters) -> None:
    assert split_prompt(prompt) == ("a fox", expected)


def test_many_flags_together_are_all_read_and_the_text_is_kept() -> None:
    text, parameters = split_prompt(
        "a red fox in snow --ar 3:2 --v 6.1 --s 750 --c 20 --q 1 --seed 7 --style raw "
        "--w 5 --tile --no people --turbo"
    )
    assert text == "a red fox in snow"
    assert parameters == Parameters(
        aspect_ratio="3:2",
        version="6.1",
        stylize=750,
        chaos=20,
        quality="1",
        seed=7,
        style_raw=True,
        weird=5,
        tile=True,
        no="people",
        mode="turbo",
    )


def test_a_prompt_without_flags_is_all_text() -> None:
    assert split_prompt("a quiet harbour at dusk") == ("a quiet harbour at dusk", Parameters())


def test_an_empty_prompt_gives_empty_text_and_no_parameters() -> None:
    assert split_prompt("") == ("", Parameters())
    assert split_prompt("   \n ") == ("", Parameters())


@pytest.mark.parametrize(
    ("prompt", "field", "value"),
    [
        ("x --ar 16:09", "aspect_ratio", "16:9"),
        ("x --ar 032:018", "aspect_ratio", "32:18"),
        ("x --ar 32:18", "aspect_ratio", "32:18"),
        ("x --v 6.0", "version", "6"),
        ("x --v 7.0", "version", "7"),
        ("x --v 5.20", "version", "5.2"),
        ("x --q 0.25", "quality", ".25"),
        ("x --q 0.5", "quality", ".5"),
        ("x --q .50", "quality", ".5"),
        ("x --q 1.0", "quality", "1"),
        ("x --q 2.0", "quality", "2"),
        ("x --style RAW", "style_raw", True),
    ],
)
def test_values_are_normalised_to_one_spelling(prompt: str, field: str, value: Any) -> None:
    assert getattr(parameters_of(prompt), field) == value


@pytest.mark.parametrize("prompt", ["x --AR 16:9", "x --Ar 16:9", "x --ASPECT 16:9"])
def test_flag_names_are_read_in_any_case(prompt: str) -> None:
    assert parameters_of(prompt).aspect_ratio == "16:9"


@pytest.mark.parametrize(
    "prompt",
    ["a fox \u2014ar 16:9 \u2014v 7", "a fox \u2013ar 16:9 \u2013v 7", "a fox \u2014AR 16:9 --v 7"],
)
def test_the_dashes_phones_substitute_for_double_hyphens_start_flags(prompt: str) -> None:
    assert split_prompt(prompt) == ("a fox", Parameters(aspect_ratio="16:9", version="7"))


def test_a_lone_dash_stays_punctuation_in_the_text() -> None:
    assert split_prompt("a fox \u2014 asleep \u2013 dreaming --v 7") == (
        "a fox \u2014 asleep \u2013 dreaming",
        Parameters(version="7"),
    )


def test_a_double_hyphen_inside_a_word_is_text() -> None:
    assert split_prompt("a well--known face --v 7") == (
        "a well--known face",
        Parameters(version="7"),
    )


def test_words_after_a_single_value_flag_are_text_again() -> None:
    assert split_prompt("a fox --ar 16:9 at dawn --tile in snow") == (
        "a fox at dawn in snow",
        Parameters(aspect_ratio="16:9", tile=True),
    )


def test_no_takes_every_word_up_to_the_next_flag() -> None:
    assert split_prompt("a street --no cars, trees and people --v 7") == (
        "a street",
        Parameters(no="cars, trees and people", version="7"),
    )


def test_whitespace_left_by_removed_flags_is_collapsed_and_trimmed() -> None:
    assert split_prompt("  a   fox --v 7\n\n  in\tsnow   --s 10  ") == (
        "a fox in snow",
        Parameters(version="7", stylize=10),
    )


def test_web_addresses_at_the_start_are_image_prompts() -> None:
    assert split_prompt("https://a.example/1.png http://b.example/2.jpg a fox --v 7") == (
        "a fox",
        Parameters(
            image_prompts=("https://a.example/1.png", "http://b.example/2.jpg"), version="7"
        ),
    )


def test_web_addresses_later_in_the_prompt_are_text() -> None:
    assert split_prompt("a fox like https://a.example/1.png") == (
        "a fox like https://a.example/1.png",
        Parameters(),
    )


def test_image_prompts_alone_are_a_prompt_without_text() -> None:
    assert split_prompt("https://a.example/1.png --v 7") == (
        "",
        Parameters(image_prompts=("https://a.example/1.png",), version="7"),
    )


# ---- Range boundaries -------------------------------------------------------------------

RANGES = [
    ("--s", "stylize", 1000),
    ("--stylize", "stylize", 1000),
    ("--c", "chaos", 100),
    ("--chaos", "chaos", 100),
    ("--seed", "seed", 4294967295),
    ("--w", "weird", 3000),
    ("--weird", "weird", 3000),
    ("--sw", "style_weight", 1000),
    ("--cw", "character_weight", 100),
]


@pytest.mark.parametrize(("flag", "field", "highest"), RANGES)
def test_the_lowest_and_highest_values_are_accepted(flag: str, field: str, highest: int) -> None:
    for value in (0, highest):
        assert getattr(parameters_of(f"x {flag} {value}"), field) == value


@pytest.mark.parametrize(("flag", "field", "highest"), RANGES)
def test_values_just_outside_the_range_are_refused(flag: str, field: str, highest: int) -> None:
    for value in (-1, highest + 1):
        assert errors_of(f"x {flag} {value}") == [
            f"{flag} must be from 0 to {highest}; got {value}."
        ]


@pytest.mark.parametrize(("flag", "field", "highest"), RANGES)
def test_the_panel_values_are_held_to_the_same_ranges(flag: str, field: str, highest: int) -> None:
    references = {"style_refs": ("https://a.example/s.png",)}
    references |= {"character_refs": ("https://a.example/c.png",)}
    for value in (0, highest):
        assert validate(Parameters(**{field: value}, **references)) == []
    for value in (-1, highest + 1):
        [problem] = validate(Parameters(**{field: value}, **references))
        assert problem.endswith(f"must be from 0 to {highest}; got {value}.")


def test_the_chaos_message_names_the_flag_the_range_and_the_value() -> None:
    assert errors_of("x --chaos 250") == ["--chaos must be from 0 to 100; got 250."]


@pytest.mark.parametrize("value", ["abc", "1.5", "1e3", "+5", "٥", "5_000"])
def test_a_number_that_is_not_a_whole_number_is_refused(value: str) -> None:
    assert errors_of(f"x --s {value}") == [
        f"--s must be a whole number from 0 to 1000; got '{value}'."
    ]


def test_a_number_too_long_to_convert_is_out_of_range_not_a_crash() -> None:
    [problem] = errors_of("x --seed " + "9" * 5000)
    assert problem.startswith("--seed must be from 0 to 4294967295; got 999")


@pytest.mark.parametrize("ratio", ["1:4", "4:1", "1:1", "16:9", "9:16", "32:18"])
def test_aspect_ratios_from_1_4_to_4_1_are_accepted(ratio: str) -> None:
    assert parameters_of(f"x --ar {ratio}").aspect_ratio == ratio
    assert validate(Parameters(aspect_ratio=ratio)) == []


@pytest.mark.parametrize(
    ("ratio", "problem"),
    [
        ("1:5", "--ar must be between 1:4 and 4:1; got 1:5."),
        ("5:1", "--ar must be between 1:4 and 4:1; got 5:1."),
        ("0:1", "--ar needs both sides to be at least 1; got 0:1."),
        ("1:0", "--ar needs both sides to be at least 1; got 1:0."),
        ("16x9", "--ar must be two whole numbers like 16:9; got '16x9'."),
        ("1.5:1", "--ar must be two whole numbers like 16:9; got '1.5:1'."),
    ],
)
def test_aspect_ratios_outside_the_range_or_malformed_are_refused(ratio: str, problem: str) -> None:
    assert errors_of(f"x --ar {ratio}") == [problem]
    assert validate(Parameters(aspect_ratio=ratio)) == [problem]


def test_an_unnormalised_aspect_ratio_in_the_panel_is_refused_with_the_fix() -> None:
    assert validate(Parameters(aspect_ratio="16:09")) == ["--ar 16:09 should be written 16:9."]


@pytest.mark.parametrize("version", ["4", "5", "5.1", "6.2", "7.1", "niji", "v7"])
def test_unsupported_versions_are_refused_with_the_choices(version: str) -> None:
    assert errors_of(f"x --v {version}") == [
        f"--v {version} is not supported; choose 5.2, 6, 6.1 or 7."
    ]


@pytest.mark.parametrize("quality", ["4", ".75", "0", "3", "high"])
def test_unsupported_qualities_are_refused_with_the_choices(quality: str) -> None:
    assert errors_of(f"x --q {quality}") == [
        f"--q {quality} is not supported; choose .25, .5, 1 or 2."
    ]


def test_a_style_other_than_raw_is_refused() -> None:
    assert errors_of("x --style cute") == [
        "--style cute is not supported; Studio supports --style raw."
    ]


def test_no_longer_than_500_characters_is_refused() -> None:
    assert parameters_of("x --no " + "a" * 500).no == "a" * 500
    assert errors_of("x --no " + "a" * 501) == ["--no can be at most 500 characters; got 501."]


# ---- Errors that say exactly what is wrong ----------------------------------------------


@pytest.mark.parametrize("flag", ["--foo", "--niji", "--hd", "--video", "--iw", "--ar16:9"])
def test_an_unknown_flag_is_named_and_the_supported_ones_listed(flag: str) -> None:
    [problem] = errors_of(f"a fox {flag} 6")
    assert problem.startswith(f"Unknown parameter {flag}. Studio supports: --ar, --v, --s, ")
    assert "--relax, --fast and --turbo" in problem


def test_a_lone_double_hyphen_is_refused() -> None:
    [problem] = errors_of("a fox -- asleep")
    assert problem.startswith('A lone "--" is not a parameter.')


@pytest.mark.parametrize(
    "prompt", ["x --seed", "x --seed --v 7", "x --ar", "x --no", "x --no --v 7", "x --sref"]
)
def test_a_flag_without_its_value_is_refused(prompt: str) -> None:
    flag = prompt.split()[1]
    assert errors_of(prompt) == [f"{flag} needs a value."]


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [
        ("x --ar 1:1 --aspect 2:3", "--ar is given more than once; keep one."),
        ("x --s 1 --stylize 2", "--stylize is given more than once; keep one."),
        ("x --seed 1 --seed 1", "--seed is given more than once; keep one."),
        ("x --tile --tile", "--tile is given more than once; keep one."),
        (
            "x --sref https://a.example/1.png --sref https://a.example/2.png",
            "--sref is given more than once; keep one.",
        ),
        ("x --fast --fast", "--fast is given more than once; keep one."),
    ],
)
def test_a_flag_given_twice_is_refused(prompt: str, problem: str) -> None:
    assert errors_of(prompt) == [problem]


def test_every_problem_is_reported_at_once() -> None:
    problems = errors_of("a fox --foo --c 250 --v 4 --seed")
    assert problems[0].startswith("Unknown parameter --foo.")
    assert problems[1:] == [
        "--c must be from 0 to 100; got 250.",
        "--v 4 is not supported; choose 5.2, 6, 6.1 or 7.",
        "--seed needs a value.",
    ]


def test_the_same_problem_many_times_is_reported_once_and_the_list_stays_short() -> None:
    assert len(errors_of("x " + "--foo " * 1000)) == 1
    problems = errors_of("x " + " ".join(f"--foo{number}" for number in range(1000)))
    assert len(problems) == 25
    assert problems[-1] == "…and 976 more problems."


@pytest.mark.parametrize("value", ["random", "12345", "a.png"])
def test_style_references_must_be_web_addresses(value: str) -> None:
    [problem] = errors_of(f"x --sref {value}")
    assert problem.startswith("--sref")
    assert value in problem


def test_a_random_style_reference_is_not_supported() -> None:
    assert errors_of("x --sref random") == [
        "--sref random is not supported; give image web addresses instead."
    ]


def test_an_incomplete_web_address_is_refused() -> None:
    assert errors_of("https:// a fox") == [
        "Image prompt: 'https://' is not a complete web address."
    ]
    assert errors_of("x --cref http://[::1") == [
        "--cref: 'http://[::1' is not a complete web address."
    ]


def test_a_style_weight_needs_style_references() -> None:
    assert validate(parameters_of("x --sw 100")) == ["--sw needs --sref."]
    assert validate(Parameters(style_weight=100)) == ["--sw needs --sref."]


def test_a_character_weight_needs_character_references() -> None:
    assert validate(parameters_of("x --cw 100")) == ["--cw needs --cref."]


def test_a_weight_inline_may_pair_with_references_from_the_panel() -> None:
    panel = Parameters(style_refs=("https://a.example/s.png",))
    assert validate(merge(panel, parameters_of("x --sw 100"))) == []


def test_valid_parameters_have_no_problems() -> None:
    assert validate(Parameters()) == []
    assert validate(parameters_of("https://a.example/1.png x --v 7 --s 0 --no cars")) == []


# ---- Draft (v7) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt", ["a fox --draft --v 7", "a fox --DRAFT --v 7", "a fox \u2014draft --v 7"]
)
def test_draft_is_a_switch_read_in_any_spelling(prompt: str) -> None:
    assert split_prompt(prompt) == ("a fox", Parameters(version="7", draft=True))


def test_a_word_after_draft_is_text_again() -> None:
    assert split_prompt("a fox --draft in snow --v 7") == (
        "a fox in snow",
        Parameters(version="7", draft=True),
    )


@pytest.mark.parametrize(
    "prompt", ["a fox --draft", "a fox --draft --v 6.1", "a fox --v 5.2 --draft"]
)
def test_draft_without_version_7_is_refused(prompt: str) -> None:
    assert validate(parameters_of(prompt)) == ["--draft needs --v 7."]
    with pytest.raises(PromptError) as caught:
        compile_prompt("a fox", parameters_of(prompt))
    assert caught.value.errors == ["--draft needs --v 7."]


def test_draft_from_the_panel_may_pair_with_version_7_typed_inline() -> None:
    panel = parameters_from_panel({"draft": "on"})
    assert validate(merge(panel, parameters_of("x --v 7"))) == []
    assert validate(panel) == ["--draft needs --v 7."]


def test_draft_is_compiled_into_the_prompt_after_the_other_switches() -> None:
    parameters = Parameters(version="7", tile=True, draft=True, no="cars")
    assert compile_prompt("a fox", parameters) == "a fox --v 7 --tile --draft --no cars"


def test_draft_given_twice_is_refused() -> None:
    assert errors_of("x --draft --v 7 --draft") == ["--draft is given more than once; keep one."]


@pytest.mark.parametrize(
    ("prompt", "draft"),
    [
        ("a fox --v 7 --draft", True),
        ("a fox --v 7 \u2014Draft --ar 99:1", True),  # read even where the rest would not parse
        ("a fox --v 7", False),
        ("a fox --drafted", False),
        ("a well--draft fox", False),
    ],
)
def test_is_draft_tells_a_prompt_as_sent_that_asks_for_a_draft(prompt: str, draft: bool) -> None:
    assert is_draft(prompt) is draft


# ---- Speed (mode) flags -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"), [("relax", "fast"), ("fast", "turbo"), ("turbo", "relax")]
)
def test_two_different_speed_flags_are_refused(first: str, second: str) -> None:
    assert errors_of(f"x --{first} --{second}") == [
        f"Choose one speed: --{first} and --{second} can't be combined."
    ]


@pytest.mark.parametrize("mode", ["relax", "fast", "turbo"])
def test_the_speed_is_never_compiled_into_the_prompt(mode: str) -> None:
    compiled = compile_prompt("a fox", parameters_of(f"a fox --{mode} --v 7"))
    assert compiled == "a fox --v 7"


def test_an_unknown_speed_in_the_panel_is_refused() -> None:
    assert validate(Parameters(mode="ludicrous")) == [
        "The speed must be relax, fast or turbo; got 'ludicrous'."
    ]


# ---- Merging panel and prompt -----------------------------------------------------------


def test_an_inline_value_wins_over_the_panels() -> None:
    panel = Parameters(version="6", stylize=100, mode="relax", aspect_ratio="1:1")
    inline = Parameters(version="7", mode="turbo")
    assert merge(panel, inline) == Parameters(
        version="7", stylize=100, mode="turbo", aspect_ratio="1:1"
    )


def test_the_panel_fills_in_what_the_prompt_leaves_out() -> None:
    panel = Parameters(chaos=5, tile=True, style_raw=True, no="cars")
    assert merge(panel, Parameters()) == panel


def test_an_inline_zero_is_a_value_and_wins() -> None:
    assert merge(Parameters(stylize=500, seed=9), Parameters(stylize=0, seed=0)) == Parameters(
        stylize=0, seed=0
    )


def test_an_inline_list_replaces_the_panels_list_and_an_empty_one_keeps_it() -> None:
    panel = Parameters(style_refs=("https://a.example/1.png", "https://a.example/2.png"))
    inline = Parameters(style_refs=("https://b.example/3.png",))
    assert merge(panel, inline).style_refs == ("https://b.example/3.png",)
    assert merge(panel, Parameters()).style_refs == panel.style_refs


def test_a_switch_turned_on_inline_wins_and_an_absent_one_keeps_the_panels() -> None:
    assert merge(Parameters(), Parameters(tile=True)).tile is True
    assert merge(Parameters(tile=True), Parameters()).tile is True


# ---- Compiling ----------------------------------------------------------------------------


def test_flags_are_compiled_in_one_canonical_order_after_image_prompts_and_text() -> None:
    parameters = Parameters(
        character_weight=30,
        character_refs=("https://c.example/c.png",),
        style_weight=200,
        style_refs=("https://s.example/1.png", "https://s.example/2.png"),
        no="cars, trees",
        tile=True,
        draft=True,
        weird=10,
        style_raw=True,
        seed=42,
        quality=".5",
        chaos=5,
        stylize=250,
        version="7",
        image_prompts=("https://i.example/i.png",),
        aspect_ratio="16:9",
        mode="fast",
    )
    assert compile_prompt("a red fox", parameters) == (
        "https://i.example/i.png a red fox --v 7 --s 250 --c 5 --q .5 --seed 42 --style raw "
        "--w 10 --tile --draft --no cars, trees "
        "--sref https://s.example/1.png https://s.example/2.png --sw 200 "
        "--cref https://c.example/c.png --cw 30"
    )


def test_the_aspect_ratio_is_not_compiled_because_the_api_takes_it_as_a_field() -> None:
    assert compile_prompt("a fox", Parameters(aspect_ratio="16:9")) == "a fox"


def test_compiling_tidies_the_texts_whitespace() -> None:
    assert compile_prompt("  a \n fox  ", Parameters(no="cars   trees")) == "a fox --no cars trees"


def test_compiling_refuses_invalid_parameters() -> None:
    with pytest.raises(PromptError) as caught:
        compile_prompt("a fox", Parameters(chaos=101, style_weight=5))
    assert caught.value.errors == [
        "--chaos must be from 0 to 100; got 101.",
        "--sw needs --sref.",
    ]


@pytest.mark.parametrize("text", ["a fox --turbo", "a fox \u2014v 4", "--fast"])
def test_compiling_refuses_text_that_carries_its_own_flags(text: str) -> None:
    with pytest.raises(PromptError) as caught:
        compile_prompt(text, Parameters())
    assert "contains the parameter" in caught.value.errors[0]


def test_compiling_refuses_a_prompt_with_nothing_to_draw() -> None:
    with pytest.raises(PromptError) as caught:
        compile_prompt("  ", Parameters(version="7"))
    assert caught.value.errors == [
        "The prompt has no words or image prompts: describe the image you want."
    ]


def test_a_compiled_prompt_reads_back_as_the_same_text_and_parameters() -> None:
    parameters = parameters_of(
        "https://i.example/i.png a fox --v 6.1 --no cars --sref https://s.example/s.png --sw 9"
    )
    assert split_prompt(compile_prompt("a fox", parameters)) == ("a fox", parameters)


# ---- Hostile input ------------------------------------------------------------------------


def test_a_no_value_from_the_panel_cannot_smuggle_a_flag() -> None:
    parameters = parameters_from_panel({"no": "cars --v 4"})
    [problem] = validate(parameters)
    assert problem.startswith('--no can\'t contain "--"')
    with pytest.raises(PromptError):
        compile_prompt("a fox", parameters)


def test_a_no_value_cannot_smuggle_a_flag_behind_a_phone_dash() -> None:
    [problem] = validate(Parameters(no="cars \u2014turbo"))
    assert problem.startswith("--no can't contain")


def test_a_double_hyphen_inside_an_inline_no_is_refused_like_the_panels() -> None:
    assert errors_of("x --no well--known things")[0].startswith("--no can't contain")


def test_a_reference_from_the_panel_cannot_smuggle_a_flag() -> None:
    parameters = parameters_from_panel({"style_refs": "https://x.example/a.png --turbo"})
    assert validate(parameters) == [
        "--sref: '--turbo' is not a web address starting with http:// or https://."
    ]
    with pytest.raises(PromptError):
        compile_prompt("a fox", parameters)


def test_a_reference_with_a_space_inside_is_refused() -> None:
    [problem] = validate(Parameters(style_refs=("https://x.example/a.png --turbo",)))
    assert "can't contain spaces" in problem
    [problem] = validate(Parameters(image_prompts=("https://x.example/a.png\n--turbo",)))
    assert "can't contain spaces, line breaks" in problem


def test_a_web_address_with_a_double_hyphen_is_refused() -> None:
    assert errors_of("x --cref https://x.example/a--b.png") == [
        "--cref: a web address can't contain \"--\"; got 'https://x.example/a--b.png'."
    ]


@pytest.mark.parametrize("field", ["no", "aspect_ratio", "version", "stylize", "mode"])
@pytest.mark.parametrize("bad", ["\n", "\r", "\x00", "\x1b", "\u2028"])
def test_a_line_break_or_control_character_in_a_panel_field_is_refused(
    field: str, bad: str
) -> None:
    with pytest.raises(PromptError) as caught:
        parameters_from_panel({field: f"cars{bad}trees"})
    assert caught.value.errors[0].endswith("can't contain line breaks or control characters.")


def test_a_control_character_in_a_panel_reference_list_is_refused() -> None:
    with pytest.raises(PromptError) as caught:
        parameters_from_panel({"character_refs": "https://x.example/a.png\x00"})
    assert caught.value.errors == ["Character references can't contain control characters."]


def test_a_newline_in_a_no_value_built_in_code_is_refused() -> None:
    assert validate(Parameters(no="cars\n--turbo")) == [
        "--no can't contain line breaks or control characters."
    ]


@pytest.mark.parametrize(
    ("character", "code"), [("\x00", "0000"), ("\x1b", "001B"), ("\x7f", "007F")]
)
def test_a_control_character_in_the_prompt_is_refused(character: str, code: str) -> None:
    assert errors_of(f"a fox{character} --v 7") == [
        f"The prompt contains the invisible control character U+{code}; remove it."
    ]


def test_quoted_values_in_messages_are_short_and_visible() -> None:
    [problem] = errors_of("x --v " + "9" * 200)
    assert len(problem) < 120
    [problem] = errors_of("x --style r\u200ew")
    assert "\u200e" not in problem


@pytest.mark.parametrize(
    "prompt",
    [
        "a " * 50_000,
        "--" * 50_000,
        "-" * 100_000,
        "\u2014" * 100_000,
        "--no " + "cars " * 20_000,
        "--sref " + "https://x.example/a.png " * 4_000,
        "--ar " + "1" * 50_000 + ":" + "1" * 50_000,
        "--s " + "1" * 100_000,
        "https://" + "a" * 100_000,
        "--foo " * 16_000,
        "x --q " + "." * 100_000,
        "x --v " + "6." * 50_000,
        "\x00" * 100_000,
    ],
)
def test_very_long_input_is_answered_without_crashing(prompt: str) -> None:
    try:
        split_prompt(prompt)
    except PromptError as error:
        assert 1 <= len(error.errors) <= 25


# ---- The panel --------------------------------------------------------------------------


def test_the_panel_form_is_read_into_parameters() -> None:
    data = {
        "aspect_ratio": " 16:09 ",
        "version": "6.0",
        "stylize": "250",
        "chaos": "0",
        "quality": "0.5",
        "seed": "",
        "style_raw": "on",
        "weird": "",
        "tile": "true",
        "no": "  cars,   trees ",
        "style_refs": "https://a.example/1.png\r\n  https://a.example/2.png\n",
        "style_weight": "100",
        "character_refs": "",
        "character_weight": "",
        "image_prompts": "https://i.example/i.png",
        "mode": "Fast",
        "csrfmiddlewaretoken": "ignored",
    }
    assert parameters_from_panel(data) == Parameters(
        aspect_ratio="16:9",
        version="6",
        stylize=250,
        chaos=0,
        quality=".5",
        style_raw=True,
        tile=True,
        no="cars, trees",
        style_refs=("https://a.example/1.png", "https://a.example/2.png"),
        style_weight=100,
        image_prompts=("https://i.example/i.png",),
        mode="fast",
    )


def test_an_empty_panel_is_no_parameters() -> None:
    assert parameters_from_panel({}) == Parameters()
    assert parameters_from_panel(dict.fromkeys(panel_values(Parameters()), "")) == Parameters()


@pytest.mark.parametrize("checked", ["on", "true", "1", "TRUE", "On"])
def test_a_ticked_checkbox_is_read_as_on(checked: str) -> None:
    assert parameters_from_panel({"tile": checked}).tile is True


@pytest.mark.parametrize("unchecked", ["", "off", "false", "0"])
def test_an_unticked_checkbox_is_read_as_off(unchecked: str) -> None:
    assert parameters_from_panel({"style_raw": unchecked}).style_raw is False


def test_a_panel_number_that_is_not_a_number_is_refused_in_the_panels_words() -> None:
    with pytest.raises(PromptError) as caught:
        parameters_from_panel({"stylize": "abc", "seed": "1.5", "tile": "maybe"})
    assert caught.value.errors == [
        "Stylize must be a whole number from 0 to 1000; got 'abc'.",
        "Seed must be a whole number from 0 to 4294967295; got '1.5'.",
        "Tile must be on or off; got 'maybe'.",
    ]


def test_an_out_of_range_panel_number_is_left_for_validate() -> None:
    parameters = parameters_from_panel({"chaos": "250"})
    assert validate(parameters) == ["--chaos must be from 0 to 100; got 250."]


def test_panel_values_fill_a_form_with_strings() -> None:
    assert panel_values(
        Parameters(stylize=0, tile=True, style_refs=("https://a.example/1.png", "https://b/2"))
    ) == {
        "aspect_ratio": "",
        "version": "",
        "stylize": "0",
        "chaos": "",
        "quality": "",
        "seed": "",
        "style_raw": "",
        "weird": "",
        "tile": "on",
        "draft": "",
        "no": "",
        "style_refs": "https://a.example/1.png\nhttps://b/2",
        "style_weight": "",
        "character_refs": "",
        "character_weight": "",
        "image_prompts": "",
        "mode": "",
    }


# ---- Properties ---------------------------------------------------------------------------

web_addresses = st.builds(
    "https://{}.example/{}.png".format,
    st.from_regex(r"[a-z][a-z0-9]{0,9}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_/]{1,16}", fullmatch=True),
)

# Words of any script and punctuation, but never a flag ("-…", "—…", "–…") nor a web address
# (which would be an image prompt at the start): text that split_prompt could return.
text_words = st.text(
    alphabet=st.characters(exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"]),
    min_size=1,
    max_size=12,
).filter(
    lambda word: (
        not word.startswith(("-", "\u2014", "\u2013"))
        and not word.lower().startswith(("http://", "https://"))
        and not any(character.isspace() for character in word)
    )
)
texts = st.lists(text_words, max_size=8).map(" ".join)

no_values = st.lists(
    st.from_regex(r"[a-z0-9,'é]{1,10}", fullmatch=True), min_size=1, max_size=6
).map(" ".join)
aspect_ratios = (
    st.tuples(st.integers(1, 64), st.integers(1, 64))
    .filter(lambda sides: sides[0] <= 4 * sides[1] and sides[1] <= 4 * sides[0])
    .map(lambda sides: f"{sides[0]}:{sides[1]}")
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def valid_parameters(draw: st.DrawFn) -> Parameters:
    style_refs = tuple(draw(st.lists(web_addresses, max_size=3)))
    character_refs = tuple(draw(st.lists(web_addresses, max_size=3)))
    version = draw(maybe(st.sampled_from(["5.2", "6", "6.1", "7"])))
    return Parameters(
        aspect_ratio=draw(maybe(aspect_ratios)),
        version=version,
        stylize=draw(maybe(st.integers(0, 1000))),
        chaos=draw(maybe(st.integers(0, 100))),
        quality=draw(maybe(st.sampled_from([".25", ".5", "1", "2"]))),
        seed=draw(maybe(st.integers(0, 4294967295))),
        style_raw=draw(st.booleans()),
        weird=draw(maybe(st.integers(0, 3000))),
        tile=draw(st.booleans()),
        draft=draw(st.booleans()) if version == "7" else False,
        no=draw(maybe(no_values)),
        style_refs=style_refs,
        style_weight=draw(maybe(st.integers(0, 1000))) if style_refs else None,
        character_refs=character_refs,
        character_weight=draw(maybe(st.integers(0, 100))) if character_refs else None,
        image_prompts=tuple(draw(st.lists(web_addresses, max_size=2))),
        mode=draw(maybe(st.sampled_from(["relax", "fast", "turbo"]))),
    )


@examples
@given(text=texts, parameters=valid_parameters())
def test_splitting_a_compiled_prompt_gives_back_the_text_and_parameters(
    text: str, parameters: Parameters
) -> None:
    if not text and not parameters.image_prompts:
        return  # nothing to draw: compile_prompt refuses it (tested above)
    compiled = compile_prompt(text, parameters)
    assert split_prompt(compiled) == (text, replace(parameters, aspect_ratio=None, mode=None))
    for mode_flag in ("--relax", "--fast", "--turbo"):
        assert mode_flag not in compiled.split()


@examples
@given(parameters=valid_parameters())
def test_generated_valid_parameters_pass_validate(parameters: Parameters) -> None:
    assert validate(parameters) == []


@examples
@given(parameters=valid_parameters())
def test_panel_values_read_back_as_the_same_parameters(parameters: Parameters) -> None:
    assert parameters_from_panel(panel_values(parameters)) == parameters


@examples
@given(panel=valid_parameters(), inline=valid_parameters())
def test_merging_takes_each_given_inline_value_and_the_panels_otherwise(
    panel: Parameters, inline: Parameters
) -> None:
    merged = merge(panel, inline)
    for name, inline_value in vars(inline).items():
        given = inline_value is not None and inline_value is not False and inline_value != ()
        assert getattr(merged, name) == (inline_value if given else getattr(panel, name))


def check_split_answers_or_explains(prompt: str) -> None:
    """split_prompt returns, or raises PromptError with sentences; and whatever it returns
    compiles (when valid) into a prompt that reads back the same."""
    try:
        text, parameters = split_prompt(prompt)
    except PromptError as error:
        assert error.errors
        assert all(isinstance(problem, str) and problem for problem in error.errors)
        return
    if validate(parameters) or not (text or parameters.image_prompts):
        return
    compiled = compile_prompt(text, parameters)
    assert split_prompt(compiled) == (text, replace(parameters, aspect_ratio=None, mode=None))


@examples
@given(prompt=st.text(max_size=300))
def test_any_text_is_either_read_or_refused_with_reasons(prompt: str) -> None:
    check_split_answers_or_explains(prompt)


FLAG_LIKE_WORDS = (
    "--ar \u2014ar --AR 16:9 1:5 --v \u2013v 7 6.0 4 --s --c --q .5 --seed -1 0 99999999999 "
    "--style raw --w --tile --draft --no cars, --sref --sw --cref --cw --relax --fast --turbo "
    "--foo -- \u2014 well--known https://a.example/1.png http:// random fox"
).split()
flag_like_tokens = st.sampled_from([*FLAG_LIKE_WORDS, "\x00", "\n", "\u2028"])


@examples
@given(tokens=st.lists(flag_like_tokens, max_size=20), separator=st.sampled_from([" ", "  ", "\n"]))
def test_any_mix_of_flags_and_values_is_either_read_or_refused_with_reasons(
    tokens: list[str], separator: str
) -> None:
    check_split_answers_or_explains(separator.join(tokens))


# --- the links the provider will fetch -------------------------------------------------


def test_reference_links_name_each_link_by_what_it_is() -> None:
    _, parameters = split_prompt(
        "https://a.example/1.png a fox --cref https://c.example/3.png "
        "--sref https://s.example/2.png https://s.example/4.png"
    )

    assert reference_links(parameters) == [
        ("image prompt", "https://a.example/1.png"),
        ("--sref", "https://s.example/2.png"),
        ("--sref", "https://s.example/4.png"),
        ("--cref", "https://c.example/3.png"),
    ]


def test_links_are_found_in_a_prompt_that_would_not_parse() -> None:
    prompt = "http://10.0.0.1/a.png a fox --iw 2 --sref http://x.example/s.png --sref random"

    assert reference_links_in(prompt) == [
        ("image prompt", "http://10.0.0.1/a.png"),
        ("--sref", "http://x.example/s.png"),
        ("--sref", "random"),
    ]


def test_links_later_in_the_text_or_after_other_flags_are_not_references() -> None:
    assert reference_links_in("a fox https://a.example/1.png --no https://b.example/") == []


@examples
@given(text=texts, parameters=valid_parameters())
def test_links_read_from_a_compiled_prompt_are_the_parameters_links(
    text: str, parameters: Parameters
) -> None:
    if not text and not parameters.image_prompts:
        return
    compiled = compile_prompt(text, parameters)
    assert reference_links_in(compiled) == reference_links(parameters)


@examples
@given(tokens=st.lists(flag_like_tokens, max_size=20))
def test_links_read_leniently_are_those_the_parser_reads(tokens: list[str]) -> None:
    prompt = " ".join(tokens)
    try:
        _, parameters = split_prompt(prompt)
    except PromptError:
        return
    assert sorted(reference_links_in(prompt)) == sorted(reference_links(parameters))
