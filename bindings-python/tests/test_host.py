"""The host layer against real things: httpx transports (sync and async) and the requests
adapter pay a Starlette app protected by `paywire.asgi`, served by uvicorn over loopback HTTP,
with a real paywire-server as the facilitator — on its ledger and its devnet EVM network."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, Dict, List, Optional

import httpx
import pytest
import requests
from eth_account import Account
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import paywire as pw
from paywire.asgi import PaymentMiddleware
from paywire.httpx import AsyncPaywireTransport, PaywireTransport, payment_of
from paywire.requests import PaywireAdapter
from paywire.requests import payment_of as requests_payment_of

from conftest import EVM_BALANCE_KEY, LEDGER_USD, USDC_BASE_SEPOLIA, Facilitator

DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
WEATHER = {"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "$0.01"}}


class Shop:
    """A provider's API behind the middleware; counts handler runs."""

    def __init__(self, facilitator: Facilitator, serve: Any, *, routes: Any = None, accepts: Any = None,
                 keys: Optional[pw.KeyRing] = None, facilitator_url: Optional[str] = None, status: int = 200,
                 lose_first_paid_answer: bool = False, **options: Any) -> None:
        self.evm = pw.evm_address("0x" + os.urandom(32).hex())
        created = facilitator.provider(self.evm)
        self.wallet = created["walletId"]
        self.calls = 0

        async def weather(request: Request) -> JSONResponse:
            self.calls += 1
            return JSONResponse({"city": request.path_params["city"], "temperatureC": 21}, status_code=status)

        app: Any = Starlette(routes=[Route("/v1/weather/{city}", weather), Route("/v1/forecast/{city}", weather),
                                     Route("/healthz", lambda r: JSONResponse({"ok": True}))])
        app = PaymentMiddleware(
            app,
            routes=routes if routes is not None else [WEATHER],
            accepts=accepts(self.evm) if accepts else [{"asset": LEDGER_USD, "payTo": self.wallet}],
            facilitator_url=facilitator_url or facilitator.url,
            token_keys=keys,
            **options,
        )
        served = serve(app)
        self.url = served.url
        if lose_first_paid_answer:
            self.url = f"http://127.0.0.1:{LosingProxy(served.port).port}"


class LosingProxy:
    """A TCP proxy in front of an app that forwards the first paid request (so it settles)
    and closes the client's connection instead of relaying the answer: the answer is lost."""

    def __init__(self, upstream_port: int) -> None:
        import socket

        self.upstream_port = upstream_port
        self.lost = False
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client, socket), daemon=True).start()

    def _serve(self, client: Any, socket: Any) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        losing = threading.Event()

        def to_upstream() -> None:
            try:
                while data := client.recv(65536):
                    if b"payment-signature" in data.lower() and not self.lost:
                        self.lost = True
                        losing.set()
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=to_upstream, daemon=True).start()
        try:
            while data := upstream.recv(65536):
                if losing.is_set():
                    break  # the paid request's answer: dropped, with the connection
                client.sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()


def ledger_signer(agent: Dict[str, Any]) -> pw.LedgerSigner:
    return pw.LedgerSigner(agent["walletId"], agent["walletSecret"])


POLICY = {"maxPerRequest": "0.10", "dailyLimit": "1.00"}


def test_httpx_pays_on_the_ledger_once_and_reports_it(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    paid: List[Any] = []
    transport = PaywireTransport(policy=POLICY, signer=ledger_signer(agent), on_payment=paid.append)
    with httpx.Client(transport=transport) as client:
        response = client.get(f"{shop.url}/v1/weather/paris")
    assert response.status_code == 200
    assert response.json() == {"city": "paris", "temperatureC": 21}
    record = payment_of(response)
    assert record is not None and record["amount"] == "0.01"
    settlement = record.get("settlement")
    assert settlement and settlement["success"] and settlement.get("payer") == agent["walletId"]
    assert pw.decode_payment_response(response.headers["payment-response"]) == settlement
    assert paid == [record]
    assert facilitator.balance(agent["walletId"]) == 1_000_000 - 10_000
    assert facilitator.balance(shop.wallet) > 0
    assert shop.calls == 1


@pytest.mark.parametrize("signer_kind", ["raw key", "eth-account LocalAccount"])
def test_httpx_pays_on_the_devnet_evm_network(facilitator: Facilitator, serve: Any, signer_kind: str) -> None:
    usdc = pw.find_asset("eip155:84532", USDC_BASE_SEPOLIA)
    shop = Shop(facilitator, serve, accepts=lambda evm: [{"asset": usdc, "payTo": evm}])
    key = "0x" + os.urandom(32).hex()
    payer = pw.evm_address(key)
    funded = facilitator.fund_evm(payer, "1.00")
    signer: Any = pw.EvmKeySigner(key) if signer_kind == "raw key" else pw.EthAccountSigner(Account.from_key(key))
    with httpx.Client(transport=PaywireTransport(policy={"maxPerRequest": "0.10"}, signer=signer)) as client:
        response = client.get(f"{shop.url}/v1/weather/oslo")
    assert response.status_code == 200, response.text
    record = payment_of(response)
    assert record is not None and record["payment"]["accepted"]["network"] == "eip155:84532"  # type: ignore[typeddict-item]
    assert record["settlement"]["payer"] == payer  # type: ignore[typeddict-item]
    assert facilitator.balance(funded["walletId"], EVM_BALANCE_KEY) == 1_000_000 - 10_000


def test_a_policy_refusal_pays_nothing_and_never_reaches_the_handler(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    with httpx.Client(transport=PaywireTransport(policy={"maxPerRequest": "0.001"}, signer=ledger_signer(agent))) as client:
        with pytest.raises(pw.PolicyDeniedError) as denied:
            client.get(f"{shop.url}/v1/weather/rome")
    assert denied.value.code == "policy_max_per_request_exceeded"
    assert denied.value.details, "the rejections are given"
    assert shop.calls == 0
    assert facilitator.balance(agent["walletId"]) == 1_000_000


def test_the_client_judges_amounts_with_the_asset_table_it_is_given(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    ledger_usd = {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6}
    # No entry for the ledger's USD: the price cannot be judged, nothing is paid.
    with httpx.Client(transport=PaywireTransport(policy=POLICY, signer=ledger_signer(agent), assets=[])) as client:
        with pytest.raises(pw.PaywireError) as blind:
            client.get(f"{shop.url}/v1/weather/lima")
    assert blind.value.code == "policy_asset_unknown"
    # Told USD has 2 decimals, 10000 atomic units are $100.00: over the limit.
    misled = [{**ledger_usd, "decimals": 2}]
    with httpx.Client(transport=PaywireTransport(policy=POLICY, signer=ledger_signer(agent), assets=misled)) as client:  # type: ignore[list-item]
        with pytest.raises(pw.PolicyDeniedError) as denied:
            client.get(f"{shop.url}/v1/weather/lima")
    assert denied.value.code == "policy_max_per_request_exceeded"
    assert shop.calls == 0
    with httpx.Client(transport=PaywireTransport(policy=POLICY, signer=ledger_signer(agent), assets=[ledger_usd])) as client:  # type: ignore[list-item]
        assert client.get(f"{shop.url}/v1/weather/lima").status_code == 200
    assert shop.calls == 1


def test_the_approver_decides_above_the_threshold(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    careful = {"approvalThreshold": "0.001"}
    with httpx.Client(transport=PaywireTransport(policy=careful, signer=ledger_signer(agent))) as client:
        with pytest.raises(pw.PolicyDeniedError) as denied:
            client.get(f"{shop.url}/v1/weather/rome")
    assert denied.value.code == "policy_approval_denied"
    asked: List[Any] = []

    def approve(request: Dict[str, Any]) -> bool:
        asked.append((request["url"], request["amount"]))
        return True

    with httpx.Client(transport=PaywireTransport(policy=careful, signer=ledger_signer(agent), approver=approve)) as client:
        assert client.get(f"{shop.url}/v1/weather/rome").status_code == 200
    assert asked == [(f"{shop.url}/v1/weather/rome", "0.01")]


def test_a_bundle_token_is_used_instead_of_paying_until_it_runs_out(facilitator: Facilitator, serve: Any) -> None:
    routes = [{"method": "GET", "path": "/v1/forecast/:city", "price": {"flat": "50000"}, "bundle": {"maxUses": 2, "seconds": 3600}}]
    shop = Shop(facilitator, serve, routes=routes, keys=pw.KeyRing("k1", os.urandom(32)))
    agent = facilitator.agent("1.00")
    with httpx.Client(transport=PaywireTransport(policy=POLICY, signer=ledger_signer(agent))) as client:
        first = client.get(f"{shop.url}/v1/forecast/paris")
        record = payment_of(first)
        assert record is not None and record["accessToken"]["maxUses"] == 2  # type: ignore[typeddict-item]
        for city in ("rome", "oslo"):
            response = client.get(f"{shop.url}/v1/forecast/{city}")
            assert response.status_code == 200 and payment_of(response) is None, city
        assert facilitator.balance(agent["walletId"]) == 1_000_000 - 50_000
        again = client.get(f"{shop.url}/v1/forecast/lima")
        assert payment_of(again) is not None, "spent: paid again"
    assert shop.calls == 4


def test_a_lost_answer_is_sent_again_and_charged_once(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve, lose_first_paid_answer=True)
    agent = facilitator.agent("1.00")
    with httpx.Client(transport=PaywireTransport(policy=POLICY, signer=ledger_signer(agent))) as client:
        response = client.get(f"{shop.url}/v1/weather/paris")
    assert response.status_code == 200
    assert payment_of(response)["settlement"]["success"]  # type: ignore[index]
    assert facilitator.balance(agent["walletId"]) == 1_000_000 - 10_000, "charged once"
    assert shop.calls == 2, "the handler ran for both sends"


def test_a_facilitator_that_is_down_costs_nothing(facilitator: Facilitator, serve: Any) -> None:
    from conftest import free_port

    shop = Shop(facilitator, serve, facilitator_url=f"http://127.0.0.1:{free_port()}", facilitator_retries=0)
    agent = facilitator.agent("1.00")
    usage = pw.MemoryUsageStore()
    with httpx.Client(transport=PaywireTransport(policy=POLICY, signer=ledger_signer(agent), usage_store=usage)) as client:
        response = client.get(f"{shop.url}/v1/weather/cairo")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "facilitator_unavailable"
    assert (payment_of(response) or {}).get("settlement") is None
    assert usage.load() is None, "nothing recorded against the daily limit"
    assert facilitator.balance(agent["walletId"]) == 1_000_000
    assert shop.calls == 0


def test_async_payments_stay_inside_the_daily_limit(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")

    async def run() -> List[Any]:
        transport = AsyncPaywireTransport(policy={"dailyLimit": "0.03"}, signer=ledger_signer(agent))
        async with httpx.AsyncClient(transport=transport) as client:
            return await asyncio.gather(*(client.get(f"{shop.url}/v1/weather/c{i}") for i in range(5)), return_exceptions=True)

    results = asyncio.run(run())
    paid = [r for r in results if isinstance(r, httpx.Response) and r.status_code == 200]
    refused = [r for r in results if isinstance(r, pw.PolicyDeniedError)]
    assert (len(paid), len(refused)) == (3, 2), results
    assert facilitator.balance(agent["walletId"]) == 1_000_000 - 30_000


def test_requests_pays_through_its_adapter(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    session = requests.Session()
    session.mount("http://", PaywireAdapter(policy=POLICY, signer=ledger_signer(agent)))
    response = session.get(f"{shop.url}/v1/weather/lima", timeout=10)
    assert response.status_code == 200 and response.json()["city"] == "lima"
    record = requests_payment_of(response)
    assert record is not None and record["settlement"]["success"]  # type: ignore[typeddict-item]
    assert facilitator.balance(agent["walletId"]) == 1_000_000 - 10_000


def test_the_middleware_refuses_bad_payments_passes_free_routes_and_does_not_charge_failures(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    free = httpx.get(f"{shop.url}/healthz")
    assert free.status_code == 200
    unpaid = httpx.get(f"{shop.url}/v1/weather/paris")
    assert unpaid.status_code == 402 and "payment-required" in unpaid.headers
    assert unpaid.json()["x402Version"] == 1, "the v1 body rides along"
    for header, value in (("PAYMENT-SIGNATURE", "not base64!"), ("PAYMENT-SIGNATURE", "eyJ4NDAyVmVyc2lvbiI6Mn0="), ("X-PAYMENT", "e30=")):
        refused = httpx.get(f"{shop.url}/v1/weather/paris", headers={header: value})
        assert refused.status_code == 402 and refused.json()["error"], (header, value)
    assert shop.calls == 0
    failing = Shop(facilitator, serve, status=503)
    agent = facilitator.agent("1.00")
    with httpx.Client(transport=PaywireTransport(policy=POLICY, signer=ledger_signer(agent))) as client:
        response = client.get(f"{failing.url}/v1/weather/paris")
    assert response.status_code == 503 and "payment-response" not in response.headers
    assert facilitator.balance(agent["walletId"]) == 1_000_000


def test_facilitator_calls_carry_headers_computed_per_call(facilitator: Facilitator, serve: Any) -> None:
    seen: List[Any] = []
    lock = threading.Lock()

    async def sign_call(call: str, body: Any) -> Dict[str, str]:
        with lock:
            seen.append(call)
        return {"authorization": f"Bearer for-{call}"}

    shop = Shop(facilitator, serve, facilitator_headers=sign_call)
    agent = facilitator.agent("1.00")
    with httpx.Client(transport=PaywireTransport(policy=POLICY, signer=ledger_signer(agent))) as client:
        assert client.get(f"{shop.url}/v1/weather/paris").status_code == 200
    assert seen == ["verify", "settle"]


def test_coinbase_style_routes_with_dollar_prices(facilitator: Facilitator, serve: Any) -> None:
    usdc = pw.find_asset("eip155:84532", USDC_BASE_SEPOLIA)
    assert usdc is not None
    evm = pw.evm_address("0x" + os.urandom(32).hex())
    facilitator.provider(evm)
    shop = Shop(facilitator, serve, routes={"GET /v1/weather/[city]": {"accepts": [{"scheme": "exact", "price": "$0.02", "network": "base-sepolia", "payTo": evm}]}})
    key = "0x" + os.urandom(32).hex()
    funded = facilitator.fund_evm(pw.evm_address(key), "1.00")
    with httpx.Client(transport=PaywireTransport(policy=POLICY, signer=pw.EvmKeySigner(key))) as client:
        response = client.get(f"{shop.url}/v1/weather/kyiv")
    assert response.status_code == 200
    assert facilitator.balance(funded["walletId"], EVM_BALANCE_KEY) == 1_000_000 - 20_000
