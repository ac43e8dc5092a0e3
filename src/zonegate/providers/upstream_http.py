"""HTTP plumbing shared by the providers that call a vendor's REST API over aiohttp.

What a provider for one vendor's wire format needs and need not write again: headers with
credential references resolved and checked at ``start()``, one connection pool with the
gateway's timeouts, bodies and server-sent-event lines read under ``max_response_bytes`` and the
total deadline, and transport failures and HTTP statuses mapped onto the gateway's errors:

- connection refused / connect (or TLS handshake) timeout -> ``UpstreamError`` code
  ``upstream_unreachable``, retryable (the request was never sent);
- a read timeout and the total deadline (which also bounds waiting for a free pooled connection
  and sending the body) -> ``UpstreamTimeout`` (504);
- the connection dropping or the response being cut short -> ``UpstreamError`` code
  ``upstream_connection_error``;
- a body, or one streamed line, over ``max_response_bytes`` -> ``UpstreamError`` code
  ``upstream_response_too_large`` (read no further, so a runaway upstream cannot exhaust memory);
- a non-2xx status the caller did not cause -> ``UpstreamError`` (``status_error``) whose code
  names the class of failure; 429 and 502/503/504 are retryable, with the upstream's delay.

Which statuses are the caller's fault, and what the vendor's error body says, is the vendor
provider's business. Proxy settings are not read from the environment (``trust_env=False``),
redirects are not followed and cookies are not kept: data goes only where the config says.
aiohttp rather than httpx because the client's CPU cost per call bounds the gateway's throughput
on one core, and aiohttp's is several times lower.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

import aiohttp
import certifi
from multidict import CIMultiDictProxy
from yarl import URL

from zonegate import __version__
from zonegate.config.schema import Timeouts
from zonegate.errors import UpstreamError, UpstreamTimeout
from zonegate.providers.base import ProviderStartError, SecretResolver, retry_after

# Header values of this shape are credential references, resolved at start().
_REFERENCE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$")
# RFC 9110 field names and (ASCII) values: checked at start(), as aiohttp would send a malformed
# name as it is and refuse a value with a line break only when a request is made.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]*\Z")
_STATUS_CODES = {
    401: "upstream_auth_failed",
    403: "upstream_auth_failed",
    404: "upstream_not_found",
    429: "upstream_rate_limited",
    502: "upstream_unavailable",
    503: "upstream_unavailable",
    504: "upstream_unavailable",
}
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
# The code of a body or line over max_response_bytes, refused wherever in a stream it stands.
TOO_LARGE = "upstream_response_too_large"
_STATUS_HINTS = {
    401: "; check the model's api_key reference",
    403: "; check the model's api_key reference and the account's access to the model",
    404: "; check the model's base_url and upstream model name",
    429: "; the upstream is rate limiting the gateway",
}
# Idle pooled connections are dropped after this long: under the 5 s idle timeout of uvicorn and
# Node, the shortest common one, as aiohttp reuses a pooled connection without first checking
# that the server has not just closed it (and a POST is not retried).
_KEEPALIVE_S = 4.0
# Only the Python versions with the TLS transport leak need aiohttp's periodic cleanup; asking
# for it elsewhere is a DeprecationWarning.
_CLEANUP_CLOSED = bool(getattr(aiohttp.connector, "NEEDS_CLEANUP_CLOSED", False))

T = TypeVar("T")
Headers = CIMultiDictProxy[str]


class HttpSettings(Protocol):
    """What every HTTP provider's config carries for its connection pool and headers."""

    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def timeouts(self) -> Timeouts: ...
    @property
    def max_connections(self) -> int: ...
    @property
    def max_response_bytes(self) -> int: ...


def default_headers() -> dict[str, str]:
    """The headers every provider sends before its credentials and the configured ones."""
    return {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "User-Agent": f"zonegate/{__version__}",
    }


def resolve_headers(
    model_id: str,
    defaults: Mapping[str, str],
    configured: Mapping[str, str],
    resolve: SecretResolver,
) -> dict[str, str]:
    """``defaults`` overlaid with the configured headers (references resolved), all checked.

    A configured header replaces a default of any spelling. ``ProviderStartError`` names a
    reference that does not resolve and a header that is not valid HTTP.
    """
    headers = dict(defaults)
    for name, value in configured.items():
        if _REFERENCE.match(value):
            value = resolve_secret(model_id, f"headers.{name}", value, resolve)
        for same in [k for k in headers if k.lower() == name.lower()]:
            del headers[same]
        headers[name] = value
    for name, value in headers.items():
        if not (_HEADER_NAME.match(name) and _HEADER_VALUE.match(value)):
            raise ProviderStartError(
                f"model {model_id!r}: header {name!r} is not a valid HTTP header (names "
                "are letters, digits and !#$%&'*+-.^_`|~; values, including what a credential "
                "reference resolves to, are printable ASCII on one line)"
            )
    return headers


def resolve_secret(model_id: str, field: str, reference: str, resolve: SecretResolver) -> str:
    """The secret behind ``reference``; ``ProviderStartError`` naming ``field`` if there is none."""
    try:
        value = resolve(reference).strip()
    except Exception as exc:
        raise ProviderStartError(
            f"model {model_id!r}: cannot resolve the {field} credential reference "
            f"{reference!r}: {exc}"
        ) from exc
    if not value:
        raise ProviderStartError(
            f"model {model_id!r}: the {field} credential reference {reference!r} "
            "resolved to an empty value"
        )
    return value


class UpstreamHttp:
    """One upstream's connection pool, with reads bounded in size and time."""

    def __init__(
        self,
        *,
        model_id: str,
        where: str,
        timeouts: Timeouts,
        max_connections: int,
        max_response_bytes: int,
    ) -> None:
        self.model_id = model_id
        self.where = where  # "model 'x' at host", for messages
        self._timeouts = timeouts
        self._max_connections = max_connections
        self.max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def for_endpoint(cls, model_id: str, url: URL, settings: HttpSettings) -> UpstreamHttp:
        """A pool for ``url``'s host, sized and timed as the provider's settings say."""
        return cls(
            model_id=model_id,
            where=f"model {model_id!r} at {url.host}",
            timeouts=settings.timeouts,
            max_connections=settings.max_connections,
            max_response_bytes=settings.max_response_bytes,
        )

    @property
    def started(self) -> bool:
        return self._session is not None

    def start(
        self,
        url: URL,
        settings: HttpSettings,
        secrets: SecretResolver,
        credentials: Callable[[], Mapping[str, str]],
    ) -> None:
        """Open the pool with the default, credential and configured headers, once.

        ``credentials`` resolves the vendor's key headers; it is called only on the first start,
        before the configured headers, so a bad key reference is the error reported.
        """
        if self.started:
            return
        defaults = {**default_headers(), **credentials()}
        headers = resolve_headers(self.model_id, defaults, settings.headers, secrets)
        self.open(headers, tls=url.scheme == "https")

    def open(self, headers: Mapping[str, str], *, tls: bool) -> None:
        """Open the connection pool (no request is sent); ``tls`` for an https base URL."""
        if self._session is not None:
            return
        t = self._timeouts
        n = self._max_connections
        connector = aiohttp.TCPConnector(
            limit=n,
            limit_per_host=n,
            ttl_dns_cache=300,
            keepalive_timeout=_KEEPALIVE_S,
            enable_cleanup_closed=_CLEANUP_CLOSED,
            ssl=tls_context() if tls else True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=dict(headers),
            # aiohttp's ``connect`` also covers waiting for a free pooled connection, which is a
            # busy pool rather than an unreachable upstream: the total deadline bounds that wait.
            timeout=aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=t.connect, sock_read=t.read
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent",),
            raise_for_status=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def deadline(self) -> float:
        """The loop time by which a request started now must be finished (``timeouts.total``)."""
        return asyncio.get_running_loop().time() + self._timeouts.total

    async def post(self, url: URL, body: bytes) -> tuple[int, bytes, Headers]:
        """POST and read the whole answer: its status, body and headers."""
        return await self._exchange("POST", url, body)

    async def get(self, url: URL) -> tuple[int, bytes, Headers]:
        """GET and read the whole answer: its status, body and headers."""
        return await self._exchange("GET", url, None)

    async def _exchange(
        self, method: str, url: URL, body: bytes | None
    ) -> tuple[int, bytes, Headers]:
        session = self._require_session()

        async def whole() -> tuple[int, bytes, Headers]:
            async with session.request(method, url, data=body, allow_redirects=False) as response:
                return response.status, await self.body_of(response), response.headers

        return await self.read(whole(), self.deadline())

    async def open_stream(self, url: URL, body: bytes, deadline: float) -> aiohttp.ClientResponse:
        """POST and return once the headers are in; the caller closes the response."""
        session = self._require_session()
        return await self.read(session.post(url, data=body, allow_redirects=False), deadline)

    async def read(self, awaitable: Awaitable[T], deadline: float) -> T:
        """``awaitable`` with transport failures mapped and ``deadline`` enforced."""
        try:
            async with asyncio.timeout_at(deadline):
                return await awaitable
        except aiohttp.ClientError as exc:  # before TimeoutError: aiohttp's timeouts are both
            raise self.transport_error(exc) from exc
        except TimeoutError as exc:
            raise self.deadline_error() from exc

    async def body_of(self, response: aiohttp.ClientResponse) -> bytes:
        """The whole body, refusing one over ``max_response_bytes`` before it is all read."""
        limit = self.max_response_bytes
        if (response.content_length or 0) > limit:
            raise self.too_large()
        parts: list[bytes] = []
        size = 0
        async for part in response.content.iter_any():
            size += len(part)
            if size > limit:
                raise self.too_large()
            parts.append(part)
        return b"".join(parts)

    async def data_lines(
        self, response: aiohttp.ClientResponse, deadline: float
    ) -> AsyncGenerator[bytes, None]:
        """The payload of each server-sent ``data:`` line, read to the end of the body.

        Blank separators, comments and other fields are passed over; a line over
        ``max_response_bytes`` is refused. Close it with ``contextlib.aclosing``.
        """
        limit = self.max_response_bytes
        reader = response.content
        pieces: list[bytes] = []
        while True:
            data = await self.read(reader.readany(), deadline)
            lines = take_lines(pieces, data)
            if pieces and sum(map(len, pieces)) > limit:
                raise self.too_large()  # one line that never ends
            for line in lines:
                if len(line) > limit:
                    raise self.too_large()
                if line.startswith(b"data:"):
                    yield line[5:].strip()
            if not data:
                return

    def status_error(
        self, status: int, headers: Mapping[str, str], *, delay: float | None = None
    ) -> UpstreamError:
        """The error for a non-2xx answer that is not the caller's fault; the body is not echoed,
        as it may describe the gateway's credentials or infrastructure. ``delay`` is the
        upstream's requested wait when its body rather than ``Retry-After`` carried one."""
        code = _STATUS_CODES.get(status, "upstream_server_error" if status >= 500 else None)
        wait = retry_after(headers.get("Retry-After"))
        return UpstreamError(
            f"upstream for {self.where} answered HTTP {status}{_STATUS_HINTS.get(status, '')}",
            code=code,
            retryable=status in RETRYABLE_STATUS,
            retry_after=wait if wait is not None else delay,
        )

    def too_large(self) -> UpstreamError:
        return UpstreamError(
            f"upstream for {self.where} sent more than max_response_bytes "
            f"({self.max_response_bytes} bytes) in one response or streamed event",
            code=TOO_LARGE,
        )

    def deadline_error(self) -> UpstreamTimeout:
        return UpstreamTimeout(
            f"upstream for {self.where} did not finish within the total timeout of "
            f"{self._timeouts.total:g} s (timeouts.total)"
        )

    def transport_error(self, exc: aiohttp.ClientError) -> UpstreamError:
        kind = type(exc).__name__
        if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            return UpstreamError(
                f"cannot reach the upstream for {self.where} ({kind}); check base_url and "
                "that the server is running",
                code="upstream_unreachable",
                retryable=True,
            )
        if isinstance(exc, aiohttp.ServerTimeoutError):
            return UpstreamTimeout(
                f"upstream for {self.where} timed out ({kind}); timeouts.read is "
                f"{self._timeouts.read:g} s"
            )
        return UpstreamError(
            f"connection to the upstream for {self.where} failed ({kind})",
            code="upstream_connection_error",
        )

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"provider for model {self.model_id!r} is not started")
        return self._session


def take_lines(pieces: list[bytes], data: bytes) -> list[bytes]:
    """The lines completed by ``data`` (ended by LF, CRLF or CR; ``b""`` is the end of the body).

    ``pieces`` holds the unfinished line between calls. Not ``StreamReader.readline``: it refuses
    lines longer than its buffer, and one ``data:`` line can carry a large tool call. A CRLF cut
    between two reads yields one extra blank line, which SSE ignores.
    """
    if not data:
        block = b"".join(pieces)
        pieces.clear()
        return block.splitlines()
    cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
    if not cut:
        pieces.append(data)
        return []
    block = data if cut == len(data) else data[:cut]
    if pieces:
        pieces.append(block)
        block = b"".join(pieces)
        pieces.clear()
    if cut < len(data):
        pieces.append(data[cut:])
    return block.splitlines()


def tls_context() -> ssl.SSLContext:
    """Certificate checks against certifi's CA bundle, whatever the environment says."""
    return ssl.create_default_context(cafile=certifi.where())
