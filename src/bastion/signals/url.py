"""URL signals: one canonical spelling per link, and digests of it for hash lists of URLs.

Uploaders re-share the same link spelled many ways (http or https, `www.` or not, a share
tracker appended, a trailing slash), so a bank entry and a submitted link are compared in a
canonical form. `canonicalize_url` builds it:

- Scheme: `http`, `https` or none (`example.com/path`, `//example.com/path`); defanged `hxxp`
  and `hxxps`, as threat-intel feeds write links, are read as http(s). The canonical scheme
  is always `https`: the same page is served on both, and uploaders switch freely. Other
  schemes (javascript:, data:, ftp:, mailto: ...) are rejected.
- Host: lower-cased, IDN hosts to punycode (Python's IDNA 2003 codec, so `ß` folds to `ss`
  where browsers now keep it; both sides of a comparison fold the same way), trailing dot
  dropped, defanged `[.]` read as `.`. One leading `www.`, `m.` or `mobile.` is removed when
  at least two labels remain (`m.youtube.com` -> `youtube.com`, but `m.me` stays): those are
  the desktop, mobile and bare names of the same site. User info (`user:pass@`) is dropped:
  it never identifies content and credentials must not end up in a bank.
- Port: `:80` and `:443` are removed (both are default once http and https are one scheme).
- Path: percent-encoding normalised (escapes of unreserved characters decoded, other escapes
  upper-cased, characters that must be encoded encoded as UTF-8), backslashes read as `/` as
  browsers do, dot segments resolved, empty segments dropped (so `//` counts as `/` and a
  trailing slash is removed; the root path is `/`). Case is kept: paths are case-sensitive
  (YouTube ids, for one).
- Query: tracking parameters removed (`TRACKING_PARAMETERS`: click ids and share trackers
  only; parameters that can select content, such as YouTube's `v` or a generic `ref`, `t`,
  `s`, `id`, are kept), empty pairs dropped, the rest percent-normalised and sorted.
- Fragment: removed (it is resolved in the browser and mostly points inside a page).

Relation to python-threatexchange: its `url` signal type compares the string as given
(`signal_type/url.py`, "TODO - normalization"), and its `url_md5` hashes
`common.normalize_url(url)`: the whole URL lower-cased (path and query too) with the
`scheme://` prefix cut, nothing else. Our `url_md5`/`url_sha256` are digests of the canonical
form above, so a url_md5 list computed by ThreatExchange or another tool on non-canonical
spellings only matches links hashed the same way: exact spellings, not variants. For those
lists `threatexchange_url_md5` reproduces ThreatExchange's hash of a submitted link.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from urllib.parse import quote, unquote, urlparse

from bastion.errors import InvalidInput

MAX_URL_LENGTH = 8192  # bytes of UTF-8, before and after canonicalisation

# Click identifiers and share trackers: they tell who shared or clicked, never which content.
# Deliberately absent: generic names some sites use to select content (`ref` is a git ref on
# GitHub, `t` a timestamp on YouTube, `s`, `id`, `feature`, `source`).
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "epik", "rdt_cid", "srsltid", "mc_cid", "mc_eid",
        "_ga", "_gl", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "mkt_tok",
        "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "wickedid", "igshid", "igsh",
        "si", "ref_src", "ref_url", "mibextid", "__tn__", "xmt",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "__cft__")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", re.DOTALL)
_WEB_SCHEMES = frozenset({"http", "https", "hxxp", "hxxps"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$")
_STRIPPED_HOST_PREFIXES = ("www.", "m.", "mobile.")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# RFC 3986 characters allowed unescaped in each component (besides unreserved and `%`).
_PATH_SAFE = "!$&'()*+,;=:@/%"
_QUERY_KEY_SAFE = "!$'()*+,;:@/?%"
_QUERY_VALUE_SAFE = _QUERY_KEY_SAFE + "="


def canonicalize_url(raw: str) -> str:
    """The canonical https form of a web link; raises InvalidInput for anything else."""
    try:
        return _canonicalize(raw.strip())
    except UnicodeError:  # lone surrogates, or escapes that are not UTF-8 in the host
        raise _bad("The URL is not valid Unicode text.") from None


def _canonicalize(text: str) -> str:
    if len(text.encode("utf-8")) > MAX_URL_LENGTH:
        raise _bad(f"A URL may be at most {MAX_URL_LENGTH} bytes long.", "url_too_long")
    if not text:
        raise _bad("The URL is empty.", "malformed_url")
    if _CONTROL.search(text):
        raise _bad("The URL contains control characters (a tab or a line break?).")
    rest = _after_scheme(text)
    rest, _, _fragment = rest.partition("#")
    before_query, _, query = rest.partition("?")
    authority, slash, path = before_query.replace("\\", "/").partition("/")
    host, port = _split_authority(authority)
    canonical = (
        f"https://{_canonical_host(host)}{_canonical_port(port)}"
        f"{_canonical_path(slash + path)}{_canonical_query(query)}"
    )
    if len(canonical) > MAX_URL_LENGTH:
        raise _bad(
            f"The URL is longer than {MAX_URL_LENGTH} characters once percent-encoded.",
            "url_too_long",
        )
    return canonical


def url_digests(canonical: str) -> dict[str, str]:
    """The md5 and sha256 (lowercase hex) of a canonical URL's UTF-8 bytes."""
    data = canonical.encode("utf-8")
    return {
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def threatexchange_url_md5(raw: str) -> str:
    """The url_md5 python-threatexchange computes for a link (its `common.normalize_url`)."""
    # Same steps as ThreatExchange, so lists it produced match the links they were made from.
    text = raw.lower()
    try:
        parsed = urlparse(text)
    except ValueError:  # ThreatExchange could not hash it either; nothing it made can match
        return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
    normal = parsed.geturl().replace(f"{parsed.scheme}://", "", 1)
    return hashlib.md5(normal.encode("utf-8"), usedforsecurity=False).hexdigest()


def _after_scheme(text: str) -> str:
    """The URL without its scheme, checking that the scheme (if any) is a web one."""
    if text.startswith("//"):
        return text[2:]
    match = _SCHEME.match(text)
    if match is None:
        return text
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme in _WEB_SCHEMES:
        if not rest.startswith(("//", "\\\\")):
            raise _bad(f"Expected '//' after '{scheme}:'.")
        return rest[2:]
    # "example.com:8080/path" has no scheme: what looks like one is a host and a port.
    if re.match(r"^\d+(?:[/?#\\]|$)", rest):
        return text
    raise _bad(
        f"Only web links (http, https) can be URL signals; got a {scheme!r} URL.",
        "unsupported_scheme",
    )


def _split_authority(authority: str) -> tuple[str, str]:
    """Host and port text of the authority, user info dropped."""
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):  # an IPv6 literal, [::1]:8080
        end = hostport.find("]")
        if end < 0:
            raise _bad("The URL has an unclosed '[' in its host.")
        host, after = hostport[: end + 1], hostport[end + 1 :]
        if after and not after.startswith(":"):
            raise _bad("Unexpected text after the IPv6 address in the URL's host.")
        return host, after[1:]
    if hostport.count(":") > 1:
        raise _bad("The URL's host has more than one ':'.")
    host, _, port = hostport.partition(":")
    return host, port


def _canonical_host(host: str) -> str:
    if host.startswith("[") and host.endswith("]") and "[.]" not in host:
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            raise _bad("The URL's host is not a valid IPv6 address.") from None
    text = unquote(host.replace("[.]", "."), errors="strict").rstrip(".")
    if not text:
        raise _bad("The URL has no host (expected something like example.com/path).", "no_host")
    if any(c.isspace() for c in text):
        raise _bad("The URL's host contains a space.")
    try:
        ascii_host = text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _bad(f"The URL's host {text!r} is not a valid domain name.") from None
    if not _HOST.match(ascii_host) or len(ascii_host) > 253:
        raise _bad(f"The URL's host {text!r} is not a valid domain name.")
    # Repeated, so that the canonical form of a canonical form is itself (www.www.x.org).
    stripped = True
    while stripped:
        stripped = False
        for prefix in _STRIPPED_HOST_PREFIXES:
            if ascii_host.startswith(prefix) and ascii_host.count(".") >= 2:
                ascii_host = ascii_host[len(prefix) :]
                stripped = True
    return ascii_host


def _canonical_port(port: str) -> str:
    if not port:
        return ""
    # ASCII digits only: str.isdigit() also accepts '²', which int() then refuses.
    if not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) < 65536:
        raise _bad(f"The URL's port {port!r} is not a number from 1 to 65535.")
    number = int(port)
    return "" if number in (80, 443) else f":{number}"


def _canonical_path(path: str) -> str:
    segments: list[str] = []
    for segment in _normalise_escapes(path, _PATH_SAFE).split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    return "/" + "/".join(segments)


def _canonical_query(query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, equals, value = part.partition("=")
        if _is_tracking(unquote(key)):
            continue
        pairs.append(
            (
                _normalise_escapes(key, _QUERY_KEY_SAFE),
                equals + _normalise_escapes(value, _QUERY_VALUE_SAFE),
            )
        )
    if not pairs:
        return ""
    return "?" + "&".join(key + value for key, value in sorted(pairs))


def _is_tracking(key: str) -> bool:
    name = key.lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


def _normalise_escapes(text: str, safe: str) -> str:
    """RFC 3986 6.2.2 percent-encoding normalisation of one component."""
    text = _LONE_PERCENT.sub("%25", text)
    text = quote(text, safe=safe, encoding="utf-8", errors="strict")
    return _ESCAPE.sub(_decode_unreserved, text)


def _decode_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _bad(message: str, code: str = "malformed_url") -> InvalidInput:
    return InvalidInput(message, code=code)
