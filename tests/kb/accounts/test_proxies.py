"""The client's address behind trusted reverse proxies: X-Forwarded-For read right to left,
and only when a trusted proxy sent it."""

from __future__ import annotations

import ipaddress

import pytest

from kb.accounts.proxies import client_address
from kb.settings import Settings

PROXIES = (ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("fd00::/64"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", [], "203.0.113.5"),  # direct
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # not from a proxy: header ignored
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),  # one proxy
        # The client wrote "1.2.3.4" itself; our proxy appended the address it saw.
        ("10.0.0.2", ["1.2.3.4, 198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["1.2.3.4", "198.51.100.1"], "198.51.100.1"),  # header sent twice
        ("10.0.0.2", ["198.51.100.1, 10.0.0.3"], "198.51.100.1"),  # two proxies of ours
        ("10.0.0.2", ["10.0.0.4, 10.0.0.3"], "10.0.0.4"),  # all ours: the furthest known
        ("10.0.0.2", [], "10.0.0.2"),  # a proxy that forwarded nothing
        ("10.0.0.2", ["garbage, 198.51.100.1"], "198.51.100.1"),  # left of the client: unread
        ("10.0.0.2", ["198.51.100.1, unknown"], "10.0.0.2"),  # our proxy said nothing usable
        ("fd00::2", ["2001:DB8::0:1"], "2001:db8::1"),  # one spelling per address
        (None, ["198.51.100.1"], None),
    ],
)
def test_the_right_most_untrusted_hop_is_the_client(
    peer: str | None, forwarded: list[str], client: str | None
) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def test_no_trusted_proxy_by_default_so_the_header_is_never_read() -> None:
    settings = Settings()
    assert settings.trusted_proxies == "" and settings.trusted_networks == ()
    assert client_address("10.0.0.2", ["198.51.100.1"], settings.trusted_networks) == "10.0.0.2"


def test_a_bad_proxy_entry_stops_start_up_naming_it() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300' is not an IP address or CIDR"):
        Settings(trusted_proxies="10.0.0.0/8, 10.0.0.300")
    parsed = Settings(trusted_proxies=" 10.0.0.0/8 ,::1").trusted_networks
    assert [str(n) for n in parsed] == ["10.0.0.0/8", "::1/128"]
