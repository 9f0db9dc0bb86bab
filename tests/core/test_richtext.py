"""Markdown descriptions -> sanitised HTML and clean plain text (icalpub.core.richtext)."""

from icalpub.core.richtext import render_markdown


def test_paragraphs_lists_and_links():
    rich = render_markdown("Intro with **bold** and [ICLEI](https://iclei.org/a?b=1&c=2).\n\n"
                           "- one\n- two\n\n1. first\n2. second\n")
    assert "<strong>bold</strong>" in rich.html
    assert '<a href="https://iclei.org/a?b=1&amp;c=2"' in rich.html
    assert "<ul>" in rich.html and "<ol>" in rich.html
    assert rich.text == ("Intro with bold and ICLEI (https://iclei.org/a?b=1&c=2).\n\n"
                         "• one\n• two\n\n1. first\n2. second")


def test_plain_text_stays_as_written():
    """A description without Markdown keeps its paragraphs and line breaks."""
    source = "First paragraph.\n\nSecond paragraph,\nwith a second line."
    assert render_markdown(source).text == source


def test_bare_link_is_written_once():
    rich = render_markdown("See <https://example.org/x>.")
    assert rich.text == "See https://example.org/x."


def test_no_markdown_syntax_left_in_text():
    text = render_markdown("# Title\n\n*a* __b__ `c` [d](https://e.org)\n\n> quote").text
    for syntax in ("#", "*", "__", "`", "](", ">"):
        assert syntax not in text, syntax
    assert "d (https://e.org)" in text


def test_script_and_handlers_never_survive():
    rich = render_markdown('<script>alert("x")</script>\n\n<img src=x onerror="alert(1)">'
                           '<a href="javascript:alert(2)">j</a><iframe src="https://evil"></iframe>'
                           '<p onclick="x()">para</p><style>body{}</style>')
    for bad in ("<script", "alert(\"x\")", "onerror", "javascript:", "<iframe", "onclick",
                "<style", "<img"):
        assert bad not in rich.html, bad
        assert bad not in rich.text, bad
    assert "para" in rich.text


def test_escaped_text_is_unescaped_in_plain_text():
    rich = render_markdown("a < b & c > d")
    assert "&lt;" in rich.html and "&amp;" in rich.html
    assert rich.text == "a < b & c > d"


def test_line_endings_are_normalised():
    """CR and CRLF never reach DESCRIPTION (iOS drops events after a bare CR)."""
    text = render_markdown("one\r\ntwo\rthree").text
    assert "\r" not in text and text == "one\ntwo\nthree"


def test_empty():
    assert render_markdown("").html == "" and render_markdown("  \n").text == ""
