"""A `requests` adapter that pays HTTP 402s within a spending policy, driving the core's client
flow (the same driver as `paywire.httpx`).

```python
import requests
from paywire.requests import PaywireAdapter, payment_of

session = requests.Session()
session.mount("https://", PaywireAdapter(policy={"dailyLimit": "5.00"}, signer=signer))
response = session.get("https://api.example.com/weather")
```
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ._client import MAX_402_BODY_BYTES, ClientOptions, ConnectionFailed, Seen, client_steps, run_sync
from .signers import Signer
from .stores import TokenStore, UsageStore
from .types import AssetRegistry, PaymentRecord, PolicyJson

__all__ = ["PaywireAdapter", "payment_of"]


def payment_of(response: requests.Response) -> Optional[PaymentRecord]:
    """The payment the adapter made to obtain `response`, or None."""
    return getattr(response, "paywire_payment", None)


class PaywireAdapter(HTTPAdapter):
    """Mount it on a `requests.Session`: 402s are paid within `policy`, signed by `signer`.
    Connections that fail are retried (urllib3's `Retry` on connect errors, with backoff)."""

    def __init__(
        self,
        *,
        policy: PolicyJson,
        signer: Signer,
        usage_store: Optional[UsageStore] = None,
        token_store: Optional[TokenStore] = None,
        approver: Optional[Callable[[Dict[str, Any]], bool]] = None,
        on_payment: Optional[Callable[[PaymentRecord], Any]] = None,
        now: Optional[Callable[[], int]] = None,
        random_bytes: Optional[Callable[[int], bytes]] = None,
        assets: Optional[AssetRegistry] = None,
        retries: int = 2,
    ) -> None:
        super().__init__(max_retries=Retry(connect=retries, read=0, status=0, other=0, backoff_factor=0.1, allowed_methods=None, raise_on_status=False))
        given = dict(policy=policy, signer=signer, usage_store=usage_store, token_store=token_store,
                     approver=approver, on_payment=on_payment, now=now, random_bytes=random_bytes, assets=assets)
        self._options = ClientOptions(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]
        self._lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if request.body is not None and not isinstance(request.body, (bytes, str)):
            from .errors import InvalidArgumentError

            raise InvalidArgumentError("request_not_replayable", "the request's body is a stream and cannot be sent again with a payment")

        def send(set_headers: Dict[str, str], remove_headers: List[str]) -> Seen:
            outgoing = request.copy()
            for name in remove_headers:
                outgoing.headers.pop(name, None)
            for name, value in set_headers.items():
                outgoing.headers[name] = value
            try:
                response = super(PaywireAdapter, self).send(outgoing, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                raise ConnectionFailed(error) from error
            headers = {name.lower(): value for name, value in response.headers.items()}
            if response.status_code != 402:
                return Seen(response.status_code, headers, None, response)
            body = response.raw.read(MAX_402_BODY_BYTES, decode_content=True) if response.raw is not None else b""
            response.close()
            return Seen(402, headers, body.decode("utf-8", errors="replace"), response)

        steps = client_steps(self._options, request.method or "GET", request.url or "")
        response, payment = run_sync(steps, self._options, send, self._lock)
        if payment is not None:
            response.paywire_payment = payment
        return response  # type: ignore[no-any-return]
