from icalpub.load import load_events
from icalpub.feeds.kinds import all_feeds


def test_feeds_and_their_order(fixture_path):
    feeds = all_feeds(load_events(fixture_path("minimal.yaml")))
    assert [(f.kind, f.slug) for f in feeds] == [
        ("all", "all"), ("topic", "circular"), ("topic", "procurement"),
        ("organiser", "acme"), ("organiser", "nobody"), ("organiser", "river")]
    assert [f.path for f in feeds][:2] == ["feeds/all.ics", "feeds/topics/circular.ics"]
    everything = feeds[0].events
    starts = [e.start for e in everything]
    assert [e.id for e in everything][:2] == ["winter-webinar", "cancelled-talk"]
    assert len(everything) == 7 and starts[0] < starts[-1]


def test_organiser_listed_twice_counts_once(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("calendar: {name: T, base_url: 'https://e.org', timezone: UTC}\n"
                    "organisers: {a: {name: A}}\n"
                    "events:\n- {id: x, title: X, start: '2021-01-01 10:00', duration: PT1H,"
                    " organisers: [a, a]}\n")
    feeds = {f.slug: f for f in all_feeds(load_events(path))}
    assert [e.id for e in feeds["a"].events] == ["x"]
