"""Search and filters (icalpub.feeds.search): parsing, matching, the filtered feed; and the
server's bounded cache of search responses (icalpub.serve.app.SearchCache)."""

from datetime import datetime, timezone

import pytest

from icalpub.feeds.search import (
    Query,
    QueryError,
    filter_events,
    fold,
    parse_query,
    query_feed,
)


def ids(events):
    return [e.id for e in events]


def q(data, **args):
    return parse_query({k: v if isinstance(v, list) else [v] for k, v in args.items()}, data)


def test_fold_is_case_and_accent_insensitive():
    assert fold("Économie CIRCULAIRE") == fold("economie circulaire") == "economie circulaire"


def test_words_match_title_description_agenda_organisers(rich_data):
    assert ids(filter_events(rich_data, q(rich_data, q="ECONOMIE"))) == ["economie-circulaire"]
    assert ids(filter_events(rich_data, q(rich_data, q="minerals"))) == ["markdown-webinar"]
    assert ids(filter_events(rich_data, q(rich_data, q="welcome alice"))) == ["markdown-webinar"]
    # organiser names, accents folded: "Réseau Rivière"
    assert ids(filter_events(rich_data, q(rich_data, q="riviere"))) == ["markdown-webinar",
                                                                          "economie-circulaire"]
    assert ids(filter_events(rich_data, q(rich_data, q="minerals riviere"))) == ["markdown-webinar"]
    assert filter_events(rich_data, q(rich_data, q="nothing-like-this")) == ()


def test_markup_is_not_searchable(rich_data):
    assert filter_events(rich_data, q(rich_data, q="strong")) == ()
    assert filter_events(rich_data, q(rich_data, q="pwned")) == ()


def test_topics_and_organisers_repeatable(rich_data):
    assert ids(filter_events(rich_data, q(rich_data, topic="circular-economy"))) == [
        "markdown-webinar", "economie-circulaire"]
    both = q(rich_data, topic=["circular-economy", "procurement"])
    assert ids(filter_events(rich_data, both)) == ["markdown-webinar", "economie-circulaire",
                                                   "weekly-call", "summer-school"]
    assert ids(filter_events(rich_data, q(rich_data, organiser=["river"]))) == [
        "markdown-webinar", "economie-circulaire"]
    combined = q(rich_data, q="procurement", topic="circular-economy")
    assert ids(filter_events(rich_data, combined)) == ["markdown-webinar"]


def test_date_range_overlaps(rich_data):
    march = q(rich_data, **{"from": "2021-03-01", "to": "2021-03-31"})
    assert ids(filter_events(rich_data, march)) == ["weekly-call", "hybrid-forum"]
    # a recurring event counts until its last occurrence (6 weekly from 2 March -> 6 April)
    april = q(rich_data, **{"from": "2021-04-05"})
    assert "weekly-call" in ids(filter_events(rich_data, april))
    assert "weekly-call" not in ids(filter_events(rich_data, q(rich_data, **{"from": "2021-04-07"})))
    # all-day 5–6 July is on 6 July
    assert ids(filter_events(rich_data, q(rich_data, **{"from": "2021-07-06", "to": "2021-07-06"}))) \
        == ["summer-school"]


def test_normalised_query_is_a_stable_key(rich_data):
    a = q(rich_data, q="  Procurement  webinar ", topic=["procurement", "circular-economy"])
    b = q(rich_data, q="Procurement webinar", topic=["circular-economy", "procurement",
                                                     "procurement"])
    assert a == b and hash(a) == hash(b)
    assert a.query_string() == "q=Procurement%20webinar&topic=circular-economy&topic=procurement"


@pytest.mark.parametrize("args,message", [
    ({"topic": ["nope"]}, "topic='nope' is unknown; expected one of: circular-economy, procurement"),
    ({"organiser": ["x"]}, "organiser='x' is unknown"),
    ({"from": ["2021-02-30"]}, "from='2021-02-30' is not a date; write it as YYYY-MM-DD"),
    ({"to": ["tomorrow"]}, "to='tomorrow' is not a date"),
])
def test_bad_queries_are_reported(rich_data, args, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace("?", r"\?")):
        parse_query(args, rich_data)


def test_query_feed_path_and_name(rich_data):
    feed = query_feed(rich_data, q(rich_data, q="procurement", topic="circular-economy"))
    assert feed.path == "feeds/all.ics?q=procurement&topic=circular-economy"
    assert feed.name == "Rich events: “procurement” · Circular economy"
    assert ids(feed.events) == ["markdown-webinar"]
    assert query_feed(rich_data, Query()).path == "feeds/all.ics"
    dated = query_feed(rich_data, q(rich_data, **{"from": "2021-03-01"}))
    assert dated.path == "feeds/all.ics?from=2021-03-01"


def test_cache_is_bounded_and_keyed_by_site():
    """Least recently used out, bounded by the bytes of the bodies it holds; an entry
    computed for another site (a reload) is never served."""
    from icalpub.serve.answers import Answers
    from icalpub.serve.app import SearchCache
    from icalpub.site import Resource

    cache = SearchCache(max_bytes=20)  # two 10-byte answers
    calls = []

    def compute(value):
        def make():
            calls.append(value)
            body = value.encode().ljust(10, b".")
            return Answers(Resource("x", body, "text/plain"), None,
                           datetime(2021, 1, 1, tzinfo=timezone.utc), 60)
        return make

    def get(site, path, query, value):
        return cache.get(site, path, query, compute(value)).resource.body.rstrip(b".").decode()

    site_a, site_b = object(), object()
    one, two, three = Query(text="1"), Query(text="2"), Query(text="3")
    assert get(site_a, "page", one, "a1") == "a1"
    assert get(site_a, "page", one, "again") == "a1"
    assert get(site_b, "page", one, "b1") == "b1"  # another site: computed anew, replaces it
    assert get(site_a, "page", one, "a1 again") == "a1 again"
    assert get(site_a, "ics", one, "ics") == "ics"
    assert len(cache) == 2 and cache.size == 20
    assert get(site_a, "page", one, "not again") == "a1 again"  # now the most recent
    get(site_a, "page", two, "a2")  # evicts the least recently used: "ics"
    assert len(cache) == 2 and cache.size == 20
    assert get(site_a, "page", one, "kept") == "a1 again"
    assert get(site_a, "ics", one, "ics again") == "ics again"
    assert calls == ["a1", "b1", "a1 again", "ics", "a2", "ics again"]

    big = cache.get(site_a, "page", three, lambda: Answers(
        Resource("x", b"x" * 21, "text/plain"), None, datetime(2021, 1, 1, tzinfo=timezone.utc),
        60))
    assert len(big.resource.body) == 21  # answered, but too big to keep
    assert len(cache) == 2 and cache.size <= 20
