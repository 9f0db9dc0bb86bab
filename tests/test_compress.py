"""gzip from independently compressed segments: valid, the same bytes however reached, and
after an edit only the segments it touched are compressed again."""

import gzip
import importlib.util
import itertools
import random
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from icalpub import compress
from icalpub.compress import gzip_bytes
from icalpub.load import EventsCache, load_events
from icalpub.publish import publish
from icalpub.site import Resource, pack_fresh


def _pieces(count: int, seed: int = 1) -> list[bytes]:
    """Event-like pieces: repetitive text with a few varying words, as feeds are."""
    rng = random.Random(seed)
    words = ["webinar", "procurement", "circular", "economy", "forum", "Brussels", "online"]
    return [(f"BEGIN:VEVENT\r\nUID:event-{i:05d}@example.org\r\nSUMMARY:"
             + " ".join(rng.choice(words) for _ in range(6))
             + f"\r\nDTSTART;TZID=Europe/Brussels:2021{1 + i % 12:02d}{1 + i % 28:02d}T100000"
             "\r\nEND:VEVENT\r\n").encode() for i in range(count)]


def _segments(pieces: list[bytes]) -> list[tuple[bytes, ...]]:
    ends = list(itertools.accumulate(map(len, pieces)))
    return list(compress.segments_of(pieces, ends, map(compress.cut_after, pieces)))


class _Joined:
    """A body joined from bytes pieces, in the given segments (what ``pages.Listing`` is)."""

    def __init__(self, segments):
        self._segments = segments

    def segments(self):
        return self._segments

    @staticmethod
    def segment_bytes(segment):
        return b"".join(segment)


def segmented_gzip(segments, body, previous=None):
    return compress.segmented_gzip(_Joined(segments), body, previous)


def _inflate(packed: bytes) -> bytes:
    """Strict: the gzip framing's CRC and size are checked, nothing may follow."""
    inflate = zlib.decompressobj(wbits=31)
    body = inflate.decompress(packed)
    assert inflate.eof and not inflate.unused_data
    return body


@pytest.fixture
def deflated(monkeypatch):
    """The bytes of the segments compressed (not copied) from here on."""
    calls: list[bytes] = []
    real = compress.deflate_segment
    monkeypatch.setattr(compress, "deflate_segment",
                        lambda data, window=b"": calls.append(data) or real(data, window))
    return calls


def test_segments_make_one_valid_gzip_stream_of_the_body():
    pieces = _pieces(2000)
    segments = _segments(pieces)
    body = b"".join(pieces)
    assert all(len(b"".join(s)) >= compress.WINDOW for s in segments[:-1])
    assert len(segments) > 5
    packed, offsets = segmented_gzip(segments, body)
    assert _inflate(packed) == body and gzip.decompress(packed) == body
    assert packed[:10] == gzip_bytes(b"")[:10]  # the header export checks for
    assert len(offsets) == len(segments)
    # each segment refers into the one before it: within a few % of one stream
    assert len(packed) < 1.05 * len(gzip_bytes(body))


@pytest.mark.parametrize("segments", [[], [()], [(b"",)], [(b"x",)], [(b"a", b"b"), (b"",)]])
def test_empty_and_tiny_bodies(segments):
    body = b"".join(piece for segment in segments for piece in segment)
    assert _inflate(segmented_gzip(segments, body)[0]) == body


def test_no_pieces_no_segments():
    assert list(compress.segments_of([], [], [])) == []
    assert _segments([b"x" * 40_000]) == [(b"x" * 40_000,)]


def test_an_edit_compresses_its_segment_and_the_next_only(deflated):
    pieces = _pieces(2000)
    segments = _segments(pieces)
    before = segmented_gzip(segments, b"".join(pieces))
    deflated.clear()

    edited = list(pieces)
    index = next(i for i, p in enumerate(pieces) if i > 1000 and not compress.cut_after(p))
    edited[index] = pieces[index].replace(b"SUMMARY:", b"SUMMARY:Moved: ")
    if compress.cut_after(edited[index]):  # a new cut would split the segment: keep the test's
        edited[index] = edited[index].replace(b"Moved", b"Shifted")  # shape simple
    assert not compress.cut_after(edited[index])
    new_segments = _segments(edited)
    body = b"".join(edited)
    packed, _ = segmented_gzip(new_segments, body, before)

    assert _inflate(packed) == body
    assert packed == segmented_gzip(new_segments, body)[0]  # the same bytes as from scratch
    changed = [s for s in new_segments if s not in set(segments)]
    assert len(changed) == 1
    following = new_segments[new_segments.index(changed[0]) + 1]
    assert deflated[:2] == [b"".join(changed[0]), b"".join(following)]
    assert len(deflated) == 2 + len(new_segments)


def test_an_added_piece_keeps_the_later_segments(deflated):
    pieces = _pieces(2000)
    before = segmented_gzip(_segments(pieces), b"".join(pieces))
    deflated.clear()
    added = [*pieces[:700], *_pieces(1, seed=9), *pieces[700:]]
    segments = _segments(added)
    packed, _ = segmented_gzip(segments, b"".join(added), before)
    assert _inflate(packed) == b"".join(added)
    assert len(deflated) <= 3  # content-defined cuts: the segments after it are the same


def _generated(tmp_path: Path, count: int) -> Path:
    spec = importlib.util.spec_from_file_location(
        "bench_generate", Path(__file__).parent.parent / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path / "events.yaml"
    path.write_text(module.generate(count), encoding="utf-8")
    return path


def test_a_server_compresses_after_an_edit_only_what_the_edit_touched(tmp_path, deflated):
    """What ``LiveSite`` does per reload (``publish(..., built=pack_fresh)``), at 400 events."""
    path = _generated(tmp_path, 400)
    cache, now = EventsCache(), datetime(2021, 1, 1, tzinfo=timezone.utc)
    state = tmp_path / "state.json"
    site = publish(load_events(path, cache=cache), state, now=now, optimistic=True).site
    pack_fresh(site, None)
    assert all("gzipped" in vars(r) for r in site.resources.values() if r.compressible)
    whole = {path: list(r.segments.segments()) for path, r in site.resources.items()
             if r.segments}
    assert len(whole["feeds/all.ics"]) > 10

    text = path.read_text(encoding="utf-8")
    at = text.index("id: event-000200")
    path.write_text(text[:at] + text[at:].replace('title: "', 'title: "Edited: ', 1),
                    encoding="utf-8")
    deflated.clear()
    edited = publish(load_events(path, cache=cache), state, now=now + timedelta(hours=1),
                     previous=site, optimistic=True, built=lambda new: pack_fresh(new, site)).site

    compressed = len(deflated)  # by the reload
    fresh = [r for r in edited.resources.values() if r is not site.get(r.path)]
    assert {"feeds/all.ics", "feeds/all.json", "index.html"} <= {r.path for r in fresh}
    assert len(fresh) < 25  # the edited event's feeds, listings, invite and page
    for res in edited.resources.values():
        if res.compressible:
            assert _inflate(vars(res)["gzipped"]) == res.body, res.path
    for res in fresh:
        if res.segments is not None:  # as from scratch, from a fraction of the segments
            assert res.gzipped == Resource(res.path, res.body, res.content_type,
                                           segments=res.segments).gzipped, res.path
    segmented = [r for r in fresh if r.segments is not None]
    assert len(segmented) >= 15  # 5 feeds in 2 forms, 5 listings
    assert compressed <= 2 * len(segmented)  # each one's edited segment and the next
    assert compressed < sum(len(whole[r.path]) for r in segmented) / 3


def test_requests_never_compress(events_file, monkeypatch):
    """The app holds every gzip body before it serves: a request is a look-up."""
    from icalpub.web import create_app

    app = create_app({"EVENTS_PATH": str(events_file()), "TESTING": True})
    client = app.test_client()

    def refuse(*args, **kwargs):
        raise AssertionError("compressed during a request")

    monkeypatch.setattr(compress, "deflate_segment", refuse)
    monkeypatch.setattr(compress, "gzip_bytes", refuse)
    monkeypatch.setattr(gzip, "compress", refuse)
    for url in ("/feeds/all.ics", "/feeds/all.json", "/", "/events/winter-webinar.ics",
                "/feeds/topics/circular.ics"):
        answer = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200, url
        if answer.headers.get("Content-Encoding") == "gzip":
            assert len(answer.data) < len(client.get(url).data), url
