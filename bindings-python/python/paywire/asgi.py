"""ASGI middleware (Starlette, FastAPI, any ASGI app) that puts routes behind HTTP 402
payments, driving the core's paywall flow against any x402 facilitator.

```python
from fastapi import FastAPI
from paywire.asgi import PaymentMiddleware

app = FastAPI()
app.add_middleware(
    PaymentMiddleware,
    routes={"GET /weather": {"accepts": [{"scheme": "exact", "price": "$0.01",
                                          "network": "eip155:84532", "payTo": "0x…"}]}},
    facilitator_url="https://facilitator.example.com",
)
```

Routes are written as Coinbase's middleware takes them, or as Paywire price rules (a list, with
`accepts=`); prices may be dollars (`"$0.01"`) or atomic units. A paid request is verified, the
app runs, and its answer is held until settlement succeeded — nothing is delivered unpaid, an
answer with status 400 or more is delivered uncharged. The facilitator client has a timeout,
retries calls that could not connect (httpx's `retries`), and takes headers per call.
"""

from __future__ import annotations

import inspect
import os
import time
from typing import Any, Awaitable, Callable, Dict, List, Mapping, MutableMapping, Optional, Union

from ._core import KeyRing, Paywall, PaywallFlow
from ._facilitator import FacilitatorClient, FacilitatorHeaders
from .stores import MemoryTokenUses, TokenUses
from .types import PaymentOption, PaywallAction, PaywallEvent

__all__ = ["PaymentMiddleware", "FacilitatorHeaders"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]



class PaymentMiddleware:
    """Puts `routes` behind x402 payments, verified and settled at `facilitator_url`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Union[Dict[str, Any], List[Dict[str, Any]]],
        facilitator_url: str,
        accepts: Optional[List[PaymentOption]] = None,
        decimals: int = 6,
        token_keys: Optional[KeyRing] = None,
        token_issuer: Optional[str] = None,
        token_uses: Optional[TokenUses] = None,
        require_payment_identifier: bool = False,
        facilitator_headers: Optional[FacilitatorHeaders] = None,
        facilitator_timeout: float = 30.0,
        facilitator_retries: int = 2,
        public_origin: Optional[str] = None,
        now: Optional[Callable[[], int]] = None,
    ) -> None:
        self.app = app
        config: Dict[str, Any] = {
            "routes": routes,
            "accepts": accepts or [],
            "decimals": decimals,
            "requirePaymentIdentifier": require_payment_identifier,
        }
        if token_issuer:
            config["tokenIssuer"] = token_issuer
        self.paywall = Paywall(config)  # type: ignore[arg-type]
        self.keys = token_keys
        self.token_uses: TokenUses = token_uses or MemoryTokenUses()
        self.facilitator = FacilitatorClient(facilitator_url, facilitator_headers, facilitator_timeout, facilitator_retries)
        self.public_origin = public_origin.rstrip("/") if public_origin else None
        self.now = now or (lambda: int(time.time()))

    def _url(self, scope: Scope, headers: Dict[str, str]) -> str:
        path = scope.get("raw_path") or scope.get("path", "/").encode()
        if isinstance(path, bytes):
            path = path.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        target = f"{path}?{query}" if query else path
        if self.public_origin:
            return f"{self.public_origin}{target}"
        host = headers.get("host") or "localhost"
        return f"{scope.get('scheme', 'http')}://{host}{target}"

    async def _facilitator(self, call: str, body: Any) -> PaywallEvent:
        return await self.facilitator.call(call, body)  # type: ignore[return-value]

    def _feed(self, flow: PaywallFlow, event: PaywallEvent) -> PaywallAction:
        if self.keys is not None:
            return self.paywall.feed_with_keys(flow, event, self.keys)
        return self.paywall.feed(flow, event)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        flow = PaywallFlow()
        action = self._feed(flow, {
            "event": "request",
            "method": scope.get("method", "GET"),
            "url": self._url(scope, headers),
            "headers": headers,
            "now": self.now(),
            "entropy": os.urandom(16).hex(),
        })
        held: List[Message] = []
        status = 0
        while True:
            kind = action["action"]
            if kind == "pass":
                await self.app(scope, receive, send)
                return
            if kind == "countTokenUse":
                before = self.token_uses.use(action["id"], action["expiresAt"])  # type: ignore[typeddict-item]
                if inspect.isawaitable(before):
                    before = await before
                action = self._feed(flow, {"event": "tokenUses", "before": int(before)})  # type: ignore[arg-type]
            elif kind == "respond":
                await _respond(send, action["status"], action["headers"], action["body"].encode())  # type: ignore[typeddict-item]
                return
            elif kind in ("verify", "settle"):
                action = self._feed(flow, await self._facilitator(kind, action["body"]))  # type: ignore[typeddict-item]
            elif kind == "runHandler":
                async def hold(message: Message) -> None:
                    held.append(message)

                await self.app(scope, receive, hold)
                start = next((m for m in held if m["type"] == "http.response.start"), None)
                status = int(start["status"]) if start else 500
                action = self._feed(flow, {"event": "handler", "status": status})
            else:  # deliver: the held answer, with the flow's headers added
                extra = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in action["setHeaders"].items()]  # type: ignore[typeddict-item]
                for message in held:
                    if message["type"] == "http.response.start" and extra:
                        names = {name for name, _ in extra}
                        kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                        message = {**message, "headers": kept + extra}
                    await send(message)
                return


async def _respond(send: Send, status: int, headers: Mapping[str, str], body: bytes) -> None:
    fields = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    fields.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": fields})
    await send({"type": "http.response.body", "body": body})
