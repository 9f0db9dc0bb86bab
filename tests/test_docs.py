"""The README documents every key of the events.yaml schema (Datasette's docs-can't-drift test)."""

from pathlib import Path

import pytest

from icalpub.load.schema import SCHEMA

README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("section, key", [(s, k) for s, fields in SCHEMA.items() for k in fields])
def test_every_key_is_documented(section, key):
    assert f"| `{key}` |" in README, f"README's table for `{section}` lacks `{key}`"


def test_quick_start_commands():
    assert "make serve" in README and "make test" in README


def test_readme_example_is_a_valid_events_file(tmp_path):
    from icalpub.load import load_events

    example = README.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "events.yaml"
    path.write_text(example)
    data = load_events(path)
    assert [e.id for e in data.events] == ["circular-labour-markets", "summer-school", "weekly-call"]
