"""Read generated HTML back the way a browser or a crawler would (stdlib only)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._script: dict[str, str] | None = None
        self._script_text: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attributes))
        if tag == "script":
            self._script, self._script_text = attributes, []

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._script_text)))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script_text.append(data)
        else:
            self.text.append(data)


def parse(html: str | bytes) -> _Collector:
    collector = _Collector()
    collector.feed(html.decode() if isinstance(html, bytes) else html)
    collector.close()
    return collector


def buttons(html: str | bytes) -> dict[str, list[str]]:
    """{data-button value: [href, …]} for every button link on the page."""
    out: dict[str, list[str]] = {}
    for tag, attrs in parse(html).elements:
        if tag == "a" and "data-button" in attrs:
            out.setdefault(attrs["data-button"], []).append(attrs["href"])
    return out


def hrefs(html: str | bytes) -> list[str]:
    return [a["href"] for tag, a in parse(html).elements if tag == "a" and "href" in a]


def json_ld(html: str | bytes) -> list[dict]:
    return [json.loads(text) for attrs, text in parse(html).scripts
            if attrs.get("type") == "application/ld+json"]


def text(html: str | bytes) -> str:
    return " ".join(" ".join(parse(html).text).split())


def query(url: str) -> dict[str, list[str]]:
    """Decoded query parameters of a URL (every value, in order)."""
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def one(url: str, name: str) -> str:
    values = query(url)[name]
    assert len(values) == 1, f"{name} appears {len(values)} times in {url}"
    return values[0]
