"""bloom.http.client_ip: the client's address behind the configured number of trusted proxies."""

import pytest
from django.test import RequestFactory

from bloom.http import client_ip


def _request(remote="10.0.0.254", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    settings.BLOOM_TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request("203.0.113.5", forwarded="198.51.100.1")) == "203.0.113.5"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "198.51.100.7", "198.51.100.7"),
        # Whatever the client wrote to the left of what our proxy appended is never read.
        (1, "1.2.3.4, 198.51.100.7", "198.51.100.7"),
        (1, "1.2.3.4,198.51.100.7", "198.51.100.7"),
        (2, "1.2.3.4, 198.51.100.7, 10.0.0.3", "198.51.100.7"),
        (1, "2001:DB8::1", "2001:db8::1"),
        (1, "[2001:db8::1]:4711", "2001:db8::1"),
        (1, "198.51.100.7:4711", "198.51.100.7"),
    ],
)
def test_with_n_trusted_proxies_the_nth_address_from_the_right_is_the_client(settings, count, forwarded, expected):
    settings.BLOOM_TRUSTED_PROXY_COUNT = count
    assert client_ip(_request(forwarded=forwarded)) == expected


@pytest.mark.parametrize("forwarded", [None, "", "198.51.100.7", "unknown, garbage"])
def test_a_request_that_did_not_pass_our_proxies_falls_back_to_remote_addr(settings, forwarded):
    """Two proxies configured, but the header is missing, too short or not an address there."""
    settings.BLOOM_TRUSTED_PROXY_COUNT = 2
    assert client_ip(_request("10.0.0.254", forwarded=forwarded)) == "10.0.0.254"


def test_no_request_no_address():
    assert client_ip(None) is None
