"""Every stylesheet Studio serves parses to its end: a brace left open (a merge that
kept one side's closing line, say) makes the browser drop every rule after it without a
word, and pages lose their look far from the mistake."""

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "static"
SHEETS = sorted(STATIC.rglob("*.css"))


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda path: str(path.relative_to(STATIC)))
def test_every_block_that_opens_closes(sheet: Path) -> None:
    text = re.sub(r"/\*.*?\*/", "", sheet.read_text(), flags=re.S)  # comments
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)  # strings ("{" in content)
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"{sheet.name}: a '}}' with no block to close near line {number}"
    assert depth == 0, f"{sheet.name}: {depth} block(s) never closed"


def test_the_sheets_are_found() -> None:
    assert any(sheet.name == "studio.css" for sheet in SHEETS)
