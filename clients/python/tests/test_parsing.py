"""The client's small pure parts, on literals."""
from __future__ import annotations

import pytest

from progress_exporter_client._job import default_item_id, error_message
from progress_exporter_client._sender import events_url, is_retryable, retry_after_seconds


@pytest.mark.parametrize("url, expected", [
    ("http://host:9465", "http://host:9465/events"),
    ("http://host:9465/", "http://host:9465/events"),
    ("http://host:9465/events", "http://host:9465/events"),
    ("https://host/progress/", "https://host/progress/events"),
])
def test_events_url(url, expected):
    assert events_url(url).geturl() == expected


@pytest.mark.parametrize("url", ["host:9465", "ftp://host/", "http://", "/events"])
def test_events_url_refuses_what_is_not_an_http_url(url):
    with pytest.raises(ValueError):
        events_url(url)


@pytest.mark.parametrize("value, expected", [
    ("1", 1.0), (" 2.5 ", 2.5), ("-3", 0.0), ("100000", 60.0), ("nan", None), ("soon", None),
    ("", None), (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_retry_after(value, expected):
    assert retry_after_seconds(value) == expected


def test_retryable_answers():
    assert [s for s in (400, 401, 403, 404, 408, 413, 422, 429, 500, 503) if is_retryable(s)] == \
        [401, 403, 408, 429, 500, 503]


def test_error_message():
    assert error_message(ValueError("bad row 7")) == "bad row 7"
    assert error_message(ValueError()) == "ValueError"
    assert len(error_message(ValueError("x" * 10_000))) == 4096


def test_default_item_id():
    assert [default_item_id(e, n) for n, e in enumerate(["a", 7, True, 2.5, None])] == \
        ["a", "7", "2", "3", "4"]


def test_numbers_of_other_libraries_are_json_numbers():
    from decimal import Decimal

    from progress_exporter_client._tracker import _json_value

    class NumpyLikeInt:
        def __index__(self) -> int:
            return 7

    assert _json_value(NumpyLikeInt()) == 7
    assert _json_value(Decimal("2.5")) == 2.5
    assert _json_value(object).startswith("<class")
