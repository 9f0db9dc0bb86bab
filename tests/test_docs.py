"""The README cannot drift from the code (Datasette's docs test): each table is compared with
what it documents, section by section and both ways — a key the code accepts but the table
lacks fails, and so does a row for a key the code does not know."""

from pathlib import Path

import pytest

from icalpub.cli import main
from icalpub.load.schema import SCHEMA

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
SRC = ROOT / "src" / "icalpub"


def section(heading: str) -> str:
    """The text under a heading (any level), up to the next heading of that level or higher."""
    lines = README.split("\n")
    start = next(i for i, line in enumerate(lines) if line.lstrip("#").strip() == heading
                 and line.startswith("#"))
    level = len(lines[start]) - len(lines[start].lstrip("#"))
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("#") and not lines[i].startswith("#" * (level + 1))
                and not lines[i].startswith("```")), len(lines))
    return "\n".join(lines[start + 1:end])


def first_column(text: str) -> list[str]:
    """The first cell of every row of the first table in ``text`` (without backticks)."""
    rows = [line for line in text.split("\n") if line.startswith("|")]
    assert len(rows) > 2, f"no table in:\n{text[:300]}"
    return [row.split("|")[1].strip().strip("`") for row in rows[2:]]


TABLES = {
    "### `calendar`": set(SCHEMA["calendar"]),
    "### `organisers` (slug → organiser) and `topics` (slug → topic)":
        set(SCHEMA["organisers"]) | set(SCHEMA["topics"]),
    "### `events` (a list)": set(SCHEMA["events"]),
}


@pytest.mark.parametrize("heading", TABLES)
def test_each_schema_table_documents_exactly_its_keys(heading):
    documented = first_column(section(heading.lstrip("# ")))
    assert len(documented) == len(set(documented)), f"a key is documented twice: {documented}"
    assert set(documented) == TABLES[heading]


def test_the_code_layout_table_is_the_tree():
    documented = {name.rstrip("/").removesuffix(".py") for name in
                  first_column(section("Code layout"))}
    tree = {p.name.removesuffix(".py") for p in SRC.iterdir()
            if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()}
    assert documented == tree


def test_every_command_is_in_the_commands_table():
    rows = first_column(section("Commands"))
    for command in main.commands:
        assert any(row.startswith(f"icalpub {command}") for row in rows), command


def test_quick_start_commands():
    quick = section("Quick start")
    assert "make serve" in quick and "make test" in quick


def test_the_section_reader_sees_a_deleted_row():
    """The check can fail: the events table without its `title` row misses a key."""
    heading = "### `events` (a list)"
    text = section(heading.lstrip("# ")).replace(
        next(line for line in section(heading.lstrip("# ")).split("\n")
             if line.startswith("| `title`")) + "\n", "")
    assert set(first_column(text)) == TABLES[heading] - {"title"}


def test_readme_example_is_a_valid_events_file(tmp_path):
    from icalpub.load import load_events

    example = next(block.split("```", 1)[0] for block in README.split("```yaml\n")[1:]
                   if block.startswith("calendar:"))
    path = tmp_path / "events.yaml"
    path.write_text(example)
    data = load_events(path)
    assert [e.id for e in data.events] == ["circular-labour-markets", "summer-school", "weekly-call"]
