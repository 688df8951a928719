"""URL canonicalisation and digests, and the signal type registry that validates bank values."""

from __future__ import annotations

import hashlib

import pytest

from bastion.errors import InvalidInput
from bastion.signals.registry import (
    SIGNAL_TYPES,
    canonical_signal_type,
    normalize_value,
)
from bastion.signals.url import (
    MAX_URL_LENGTH,
    canonicalize_url,
    threatexchange_url_md5,
    url_digests,
)

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        # scheme: none, http, https, protocol-relative, defanged, upper case
        ("example.com", "https://example.com/"),
        ("example.com/path", "https://example.com/path"),
        ("http://example.com/path", "https://example.com/path"),
        ("//example.com/path", "https://example.com/path"),
        ("HTTPS://Example.COM/Path", "https://example.com/Path"),
        ("hxxps://evil[.]example[.]com/a", "https://evil.example.com/a"),
        ("hxxp://evil.example.com/a", "https://evil.example.com/a"),
        ("  https://example.com/a \n", "https://example.com/a"),
        # host: www./m./mobile. removed only when two labels remain, IDN, trailing dot
        ("https://www.example.com/a", "https://example.com/a"),
        ("https://m.youtube.com/watch?v=x", "https://youtube.com/watch?v=x"),
        ("https://mobile.twitter.com/user", "https://twitter.com/user"),
        ("https://m.me/page", "https://m.me/page"),
        ("https://www.com/", "https://www.com/"),
        ("https://news.example.com/", "https://news.example.com/"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://bücher.de/", "https://xn--bcher-kva.de/"),
        ("https://XN--BCHER-KVA.de/", "https://xn--bcher-kva.de/"),
        ("https://пример.испытание/", "https://xn--e1afmkfd.xn--80akhbyknj4f/"),
        ("https://user:secret@example.com/a", "https://example.com/a"),
        ("https://192.168.0.1/a", "https://192.168.0.1/a"),
        ("https://[2001:DB8:0:0::1]/a", "https://[2001:db8::1]/a"),
        # ports
        ("http://example.com:80/a", "https://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("example.com:8080/a", "https://example.com:8080/a"),
        ("localhost:3000", "https://localhost:3000/"),
        ("https://[::1]:8080/", "https://[::1]:8080/"),
        # path: dot segments, duplicate and trailing slashes, backslashes, escapes
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/../../a", "https://example.com/a"),
        ("https://example.com/a/%2E%2E/b", "https://example.com/b"),
        ("https://example.com//a///b", "https://example.com/a/b"),
        ("https://example.com/a/b/", "https://example.com/a/b"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com\\a\\b", "https://example.com/a/b"),
        ("https://example.com/%7euser/%41", "https://example.com/~user/A"),
        ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/ä", "https://example.com/%C3%A4"),
        ("https://example.com/%c3%a4", "https://example.com/%C3%A4"),
        ("https://example.com/100%", "https://example.com/100%25"),
        ("https://example.com/a:b@c!$&'()*+,;=", "https://example.com/a:b@c!$&'()*+,;="),
        ("https://example.com/Case/Kept", "https://example.com/Case/Kept"),
        # query: trackers removed, content parameters kept, sorted, escapes normalised
        ("https://example.com/?b=2&a=1", "https://example.com/?a=1&b=2"),
        ("https://example.com/a?utm_source=x&utm_medium=y", "https://example.com/a"),
        ("https://example.com/a?UTM_Source=x&id=3", "https://example.com/a?id=3"),
        (
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&si=abc&feature=share",
            "https://youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
        ),
        ("https://youtu.be/dQw4w9WgXcQ?si=abc", "https://youtu.be/dQw4w9WgXcQ"),
        ("https://example.com/a?fbclid=1&gclid=2&msclkid=3&igshid=4", "https://example.com/a"),
        ("https://example.com/a?mc_cid=1&mc_eid=2&_ga=3&yclid=4", "https://example.com/a"),
        ("https://example.com/a?ref_src=twsrc&dclid=1", "https://example.com/a"),
        ("https://github.com/o/r/blob/x?ref=main", "https://github.com/o/r/blob/x?ref=main"),
        ("https://example.com/a?&&x=1&", "https://example.com/a?x=1"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/a?flag", "https://example.com/a?flag"),
        ("https://example.com/a?q=%7e%2f%2B+b", "https://example.com/a?q=~%2F%2B+b"),
        ("https://example.com/a?q=a b", "https://example.com/a?q=a%20b"),
        ("https://example.com/a?t=x=y", "https://example.com/a?t=x=y"),
        # fragment removed
        ("https://example.com/a#section", "https://example.com/a"),
        ("https://example.com/a?x=1#frag?y=2", "https://example.com/a?x=1"),
    ],
)
def test_canonical_form(raw: str, canonical: str) -> None:
    assert canonicalize_url(raw) == canonical


@pytest.mark.parametrize("raw", ["https://example.com/a?x=1", "example.com", "http://m.x.org/"])
def test_canonical_form_is_a_fixed_point(raw: str) -> None:
    once = canonicalize_url(raw)
    assert canonicalize_url(once) == once


@pytest.mark.parametrize(
    "spellings",
    [
        [
            "https://www.example.com/video/123",
            "http://example.com/video/123/",
            "example.com/video/123",
            "EXAMPLE.com:443/video//123?utm_campaign=share#t=30",
            "https://m.example.com/video/./123",
        ],
        [
            "https://example.com/p?id=7&lang=en",
            "https://example.com/p?lang=en&id=7&fbclid=abc",
            "http://www.example.com:80/p/?lang=en&id=7",
        ],
    ],
)
def test_trivially_different_spellings_compare_equal(spellings: list[str]) -> None:
    assert len({canonicalize_url(s) for s in spellings}) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://youtube.com/watch?v=aaa", "https://youtube.com/watch?v=bbb"),
        ("https://example.com/Video", "https://example.com/video"),
        ("https://example.com/a%2Fb", "https://example.com/a/b"),
        ("https://example.com/a?x=1", "https://example.com/a?x=2"),
        ("https://example.com:8080/", "https://example.com/"),
        ("https://sub.example.com/", "https://example.com/"),
    ],
)
def test_different_content_stays_different(first: str, second: str) -> None:
    assert canonicalize_url(first) != canonicalize_url(second)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "malformed_url"),
        ("   ", "malformed_url"),
        ("javascript:alert(1)", "unsupported_scheme"),
        ("data:text/html,<script>", "unsupported_scheme"),
        ("ftp://example.com/file", "unsupported_scheme"),
        ("mailto:someone@example.com", "unsupported_scheme"),
        ("file:///etc/passwd", "unsupported_scheme"),
        ("http://", "no_host"),
        ("https:///path", "no_host"),
        ("https://?q=1", "no_host"),
        ("http:example.com", "malformed_url"),
        ("http://exa mple.com/", "malformed_url"),
        ("https://example.com\t/a", "malformed_url"),
        ("https://exa\nmple.com/", "malformed_url"),
        ("https://a..b/", "malformed_url"),
        ("https://exa<mple.com/", "malformed_url"),
        ("https://example.com:99999/", "malformed_url"),
        ("https://example.com:0/", "malformed_url"),
        ("https://example.com:port/", "malformed_url"),
        ("https://a:b:c/", "malformed_url"),
        ("https://[::1/", "malformed_url"),
        ("https://[not-ipv6]/", "malformed_url"),
        ("https://" + "a" * 64 + ".com/", "malformed_url"),
        ("https://ex%ff.com/", "malformed_url"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "url_too_long"),
        ("https://example.com/" + "ä" * 3000, "url_too_long"),
    ],
)
def test_garbage_is_rejected(raw: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        canonicalize_url(raw)
    assert caught.value.code == code


def test_url_at_the_length_limit_is_accepted() -> None:
    prefix = "https://example.com/"
    raw = prefix + "a" * (MAX_URL_LENGTH - len(prefix))
    assert canonicalize_url(raw) == raw


def test_digests_are_of_the_canonical_utf8_bytes() -> None:
    canonical = canonicalize_url("https://www.example.com/ä?utm_source=x")
    data = canonical.encode("utf-8")
    assert url_digests(canonical) == {
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_threatexchange_url_md5_matches_its_published_vectors() -> None:
    # python-threatexchange signal_type/tests/test_url_md5_hash.py
    expected = "e359430911fe80c2dd526d3cca21da30"
    assert threatexchange_url_md5("www.facebook.com/?user=123") == expected
    assert threatexchange_url_md5("https://www.facebook.com/?user=123") == expected
    assert threatexchange_url_md5("HTTPS://WWW.facebook.com/?user=123") == expected


# The signal type registry: what a bank entry can hold.


def test_registry_lists_the_signal_types() -> None:
    assert set(SIGNAL_TYPES) == {
        "pdq",
        "md5",
        "sha256",
        "url",
        "url_md5",
        "url_sha256",
        "text_sha256",
        "text_minhash",
    }
    assert SIGNAL_TYPES["pdq"].matching == "hamming"
    assert SIGNAL_TYPES["text_minhash"].matching == "similarity"
    inexact = ("pdq", "text_minhash")
    assert all(t.matching == "exact" for name, t in SIGNAL_TYPES.items() if name not in inexact)
    assert all(t.description for t in SIGNAL_TYPES.values())


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("pdq", "pdq"),
        (" PDQ ", "pdq"),
        ("video_md5", "md5"),
        ("photo_md5", "md5"),
        ("HASH_MD5", "md5"),
        ("HASH_VIDEO_MD5", "md5"),
        ("VideoMD5", "md5"),
        ("video_sha256", "sha256"),
        ("HASH_SHA256", "sha256"),
        ("HASH_PDQ", "pdq"),
        ("ImagePDQ", "pdq"),
        ("URI", "url"),
        ("RAW_URI", "url"),
        ("HASH_URL_MD5", "url_md5"),
        ("url_sha256", "url_sha256"),
    ],
)
def test_peer_signal_type_names(name: str, canonical: str) -> None:
    assert canonical_signal_type(name) == canonical


@pytest.mark.parametrize("name", ["tmk", "video_tmk_pdqf", "raw_text", "sha512", ""])
def test_unknown_signal_type_names_the_known_ones(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        canonical_signal_type(name)
    assert caught.value.code == "unknown_signal_type"
    assert "pdq, md5, sha256, url, url_md5, url_sha256" in caught.value.message


@pytest.mark.parametrize(
    ("signal_type", "raw", "stored"),
    [
        ("pdq", PDQ.upper(), PDQ),
        ("pdq", f"  {PDQ}\n", PDQ),
        ("md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
        ("sha256", "E3B0C442" + "0" * 56, "e3b0c442" + "0" * 56),
        ("url", "http://www.example.com/a/", "https://example.com/a"),
        ("url_md5", "A" * 32, "a" * 32),
        ("url_sha256", "B" * 64, "b" * 64),
    ],
)
def test_normalize_value_returns_the_stored_form(signal_type: str, raw: str, stored: str) -> None:
    assert normalize_value(signal_type, raw) == stored


@pytest.mark.parametrize(
    ("signal_type", "raw"),
    [
        ("pdq", PDQ[:-1]),
        ("pdq", PDQ[:-1] + "g"),
        ("md5", "0" * 31),
        ("sha256", "0" * 65),
        ("url_md5", "0" * 64),
        ("url", "javascript:alert(1)"),
    ],
)
def test_normalize_value_rejects_malformed_values(signal_type: str, raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_value(signal_type, raw)


def test_normalize_value_wants_the_canonical_type_name() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_value("video_md5", "0" * 32)
    assert "'md5'" in caught.value.message
