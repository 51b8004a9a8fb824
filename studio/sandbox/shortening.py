"""Shorten: what Midjourney's /shorten does to a prompt, the sandbox's way.

Midjourney lists a prompt's important words (weighing earlier words more) and suggests
shorter prompts made of them. The sandbox drops the words that carry no meaning (articles,
prepositions, intensifiers), keeps the rest in their order, which is also the order of
their weight, and makes one shorter prompt of the first few, with the prompt's image
links in front and its --flags behind, as Midjourney keeps them. Markers are left out:
they are for the sandbox, not part of a prompt. Deterministic, like describe.
"""

import re
from dataclasses import dataclass

from studio.sandbox import prompts
from studio.sandbox.behaviours import MARKER_PATTERN

# How many of the important words the shorter prompt keeps.
SHORT_PROMPT_WORDS = 6
WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
# Words that change nothing in a Midjourney prompt.
UNIMPORTANT = frozenset(
    """
    a an the and or but nor of in on at to for from by with without into onto over under
    above below between through during before after while as than then so such that this
    these those there here it its is are was were be been being has have had do does did
    very really extremely highly incredibly super quite rather somewhat truly totally
    just also too much many more most some any each every all which who whom whose what
    where when how image picture photo showing shows featuring feature style
    """.split()
)


@dataclass(frozen=True)
class Shortened:
    # The prompt's important words, most important first.
    important_words: tuple[str, ...]
    # A shorter prompt made of them, with the prompt's image links and flags.
    prompt: str


def shorten(prompt: str) -> Shortened:
    without_markers = MARKER_PATTERN.sub(" ", prompt)
    links = prompts.LEADING_URLS.match(without_markers)
    _, dashes, flags = without_markers.partition("--")
    words = WORD.findall(prompts.subject(prompt))
    important = tuple(
        dict.fromkeys(word for word in words if word not in UNIMPORTANT and len(word) > 1)
    )
    kept = " ".join(important[:SHORT_PROMPT_WORDS]) or prompts.subject(prompt)
    parts = [
        " ".join(links.group(0).split()) if links else "",
        kept,
        f"--{' '.join(flags.split())}" if dashes else "",
    ]
    return Shortened(important, " ".join(part for part in parts if part))
