"""The colour names COLOR takes: CSS3's extended colour keywords, checked against an
independent copy of the list (pydantic's, installed with Home Assistant's ical)."""

import pytest

from icalpub.core.colors import CSS3_COLORS, nearest


def test_the_css3_list_has_its_147_names():
    assert len(CSS3_COLORS) == 147
    assert "rebeccapurple" not in CSS3_COLORS  # CSS4
    assert CSS3_COLORS["grey"] == CSS3_COLORS["gray"] == "#808080"
    assert CSS3_COLORS["steelblue"] == "#4682b4"


def test_the_values_agree_with_another_copy():
    colors = pytest.importorskip("pydantic.color")
    theirs = {name: "#{:02x}{:02x}{:02x}".format(*rgb[:3])
              for name, rgb in colors.COLORS_BY_NAME.items()}
    assert CSS3_COLORS == theirs


def test_nearest_name():
    assert nearest("#4682b4") == "steelblue"
    assert nearest("#4682b5") == "steelblue"
    assert nearest("#000001") == "black"
