"""httpx transports that pay HTTP 402s within a spending policy, driving the core's client flow.

```python
import httpx
from paywire.httpx import PaywireTransport, payment_of
from paywire.signers import EthAccountSigner

transport = PaywireTransport(
    policy={"maxPerRequest": "0.10", "dailyLimit": "5.00"},
    signer=EthAccountSigner(Account.from_key(key)),   # or EvmKeySigner(key), LedgerSigner(id, secret)
)
with httpx.Client(transport=transport) as client:
    response = client.get("https://api.example.com/weather")
    payment_of(response)  # the payment made, or None
```

`AsyncPaywireTransport` is the same for `httpx.AsyncClient`. Refusals raise the
`PaywireError` of their class (`PolicyDeniedError`, `PaymentRejectedError`, ...). Requests that
fail to connect are retried by the inner transport (httpx's `retries`, exponential backoff); a
paid request whose answer is lost is sent again as the very same payment, settled at most once.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Dict, List, Optional

import httpx

from ._client import MAX_402_BODY_BYTES, ClientOptions, ConnectionFailed, Seen, client_steps, run_async, run_sync
from .signers import Signer
from .stores import TokenStore, UsageStore
from .types import AssetRegistry, PaymentRecord, PolicyJson

__all__ = ["PaywireTransport", "AsyncPaywireTransport", "payment_of"]

_PAYMENT = "paywire_payment"


def payment_of(response: httpx.Response) -> Optional[PaymentRecord]:
    """The payment the transport made to obtain `response`, or None."""
    payment = response.extensions.get(_PAYMENT)
    return payment if isinstance(payment, dict) else None  # type: ignore[return-value]


def _outgoing(request: httpx.Request, set_headers: Dict[str, str], remove_headers: List[str]) -> httpx.Request:
    headers = request.headers.copy()
    for name in remove_headers:
        headers.pop(name, None)
    for name, value in set_headers.items():
        headers[name] = value
    return httpx.Request(request.method, request.url, headers=headers, content=request.content, extensions=request.extensions)


def _seen(response: httpx.Response, body: Optional[bytes]) -> Seen:
    headers = {name.lower(): value for name, value in response.headers.items()}
    text = None if body is None else body.decode("utf-8", errors="replace")
    return Seen(response.status_code, headers, text, response)


def _options(**kwargs: Any) -> ClientOptions:
    return ClientOptions(**{k: v for k, v in kwargs.items() if v is not None})


class PaywireTransport(httpx.BaseTransport):
    """A transport for `httpx.Client` that pays 402s within `policy`, signing with `signer`."""

    def __init__(
        self,
        *,
        policy: PolicyJson,
        signer: Signer,
        transport: Optional[httpx.BaseTransport] = None,
        usage_store: Optional[UsageStore] = None,
        token_store: Optional[TokenStore] = None,
        approver: Optional[Callable[[Dict[str, Any]], bool]] = None,
        on_payment: Optional[Callable[[PaymentRecord], Any]] = None,
        now: Optional[Callable[[], int]] = None,
        random_bytes: Optional[Callable[[int], bytes]] = None,
        assets: Optional[AssetRegistry] = None,
    ) -> None:
        self._options = _options(policy=policy, signer=signer, usage_store=usage_store, token_store=token_store,
                                 approver=approver, on_payment=on_payment, now=now, random_bytes=random_bytes, assets=assets)
        # Retries of requests that could not connect, with exponential backoff (httpcore's).
        self._transport = transport or httpx.HTTPTransport(retries=2)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # the body is sent again with a payment

        def send(set_headers: Dict[str, str], remove_headers: List[str]) -> Seen:
            try:
                response = self._transport.handle_request(_outgoing(request, set_headers, remove_headers))
            except httpx.TransportError as error:
                raise ConnectionFailed(error) from error
            if response.status_code != 402:
                return _seen(response, None)
            # A 402 is never handed to the caller (it is paid, or refused with an error).
            body = bytearray()
            try:
                for chunk in response.iter_raw():
                    body += chunk[: MAX_402_BODY_BYTES - len(body)]
                    if len(body) >= MAX_402_BODY_BYTES:
                        break
            finally:
                response.close()
            return _seen(response, bytes(body))

        steps = client_steps(self._options, request.method, str(request.url))
        response, payment = run_sync(steps, self._options, send, self._lock)
        if payment is not None:
            response.extensions = {**response.extensions, _PAYMENT: payment}
        return response  # type: ignore[no-any-return]

    def close(self) -> None:
        self._transport.close()


class AsyncPaywireTransport(httpx.AsyncBaseTransport):
    """The same for `httpx.AsyncClient`; stores, approver and signer may be async."""

    def __init__(
        self,
        *,
        policy: PolicyJson,
        signer: Signer,
        transport: Optional[httpx.AsyncBaseTransport] = None,
        usage_store: Optional[UsageStore] = None,
        token_store: Optional[TokenStore] = None,
        approver: Optional[Callable[[Dict[str, Any]], Any]] = None,
        on_payment: Optional[Callable[[PaymentRecord], Any]] = None,
        now: Optional[Callable[[], int]] = None,
        random_bytes: Optional[Callable[[int], bytes]] = None,
        assets: Optional[AssetRegistry] = None,
    ) -> None:
        self._options = _options(policy=policy, signer=signer, usage_store=usage_store, token_store=token_store,
                                 approver=approver, on_payment=on_payment, now=now, random_bytes=random_bytes, assets=assets)
        self._transport = transport or httpx.AsyncHTTPTransport(retries=2)
        self._lock: Optional[asyncio.Lock] = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if self._lock is None:
            self._lock = asyncio.Lock()

        async def send(set_headers: Dict[str, str], remove_headers: List[str]) -> Seen:
            try:
                response = await self._transport.handle_async_request(_outgoing(request, set_headers, remove_headers))
            except httpx.TransportError as error:
                raise ConnectionFailed(error) from error
            if response.status_code != 402:
                return _seen(response, None)
            body = bytearray()
            try:
                async for chunk in response.aiter_raw():
                    body += chunk[: MAX_402_BODY_BYTES - len(body)]
                    if len(body) >= MAX_402_BODY_BYTES:
                        break
            finally:
                await response.aclose()
            return _seen(response, bytes(body))

        steps = client_steps(self._options, request.method, str(request.url))
        response, payment = await run_async(steps, self._options, send, self._lock)
        if payment is not None:
            response.extensions = {**response.extensions, _PAYMENT: payment}
        return response  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self._transport.aclose()
