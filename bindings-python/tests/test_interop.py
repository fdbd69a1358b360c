"""Interop with Coinbase's official Python SDK (`x402` 2.25), both ways, over real HTTP with a
real paywire-server as the facilitator (devnet EVM, eip155:84532):

- Coinbase's httpx client pays an app behind `paywire.asgi`;
- Paywire's httpx transport pays an app behind Coinbase's FastAPI middleware.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
from eth_account import Account

import paywire as pw
from paywire.asgi import PaymentMiddleware
from paywire.httpx import PaywireTransport, payment_of

from conftest import EVM_BALANCE_KEY, Facilitator


def weather_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/weather")
    def weather() -> dict:  # type: ignore[type-arg]
        return {"city": "Paris", "temperature": 21}

    return app


def test_coinbase_x402_client_pays_an_app_behind_paywire_asgi(facilitator: Facilitator, serve: Any) -> None:
    from x402 import x402Client
    from x402.http.clients import x402HttpxClient
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact.register import register_exact_evm_client

    pay_to = pw.evm_address("0x" + os.urandom(32).hex())
    facilitator.provider(pay_to)
    app = PaymentMiddleware(
        weather_app(),
        routes={"GET /weather": {"accepts": [{"scheme": "exact", "price": "$0.01", "network": "eip155:84532", "payTo": pay_to}]}},
        facilitator_url=facilitator.url,
    )
    api = serve(app)
    account = Account.from_key("0x" + os.urandom(32).hex())
    funded = facilitator.fund_evm(account.address, "1.00")

    async def pay() -> httpx.Response:
        client = x402Client()
        register_exact_evm_client(client, EthAccountSigner(account))
        async with x402HttpxClient(client) as http:
            return await http.get(f"{api.url}/weather")

    response = asyncio.run(pay())
    assert response.status_code == 200, response.text
    assert response.json() == {"city": "Paris", "temperature": 21}
    settlement = pw.decode_payment_response(response.headers["payment-response"])
    assert settlement["success"] and settlement.get("payer") == account.address
    assert facilitator.balance(funded["walletId"], EVM_BALANCE_KEY) == 1_000_000 - 10_000


def test_paywire_transport_pays_coinbase_fastapi_middleware(facilitator: Facilitator, serve: Any) -> None:
    from x402.http import FacilitatorConfig, HTTPFacilitatorClient
    from x402.http.middleware.fastapi import PaymentMiddlewareASGI
    from x402.http.types import PaymentOption, RouteConfig
    from x402.mechanisms.evm.exact import ExactEvmServerScheme
    from x402.server import x402ResourceServer

    pay_to = pw.evm_address("0x" + os.urandom(32).hex())
    facilitator.provider(pay_to)
    server = x402ResourceServer(HTTPFacilitatorClient(FacilitatorConfig(url=facilitator.url)))
    server.register("eip155:84532", ExactEvmServerScheme())
    app = weather_app()
    routes = {"GET /weather": RouteConfig(accepts=[PaymentOption(scheme="exact", pay_to=pay_to, price="$0.01", network="eip155:84532")])}
    app.add_middleware(PaymentMiddlewareASGI, routes=routes, server=server)
    api = serve(app)
    key = "0x" + os.urandom(32).hex()
    funded = facilitator.fund_evm(pw.evm_address(key), "1.00")
    transport = PaywireTransport(policy={"maxPerRequest": "0.05"}, signer=pw.EthAccountSigner(Account.from_key(key)))
    with httpx.Client(transport=transport) as client:
        response = client.get(f"{api.url}/weather")
    assert response.status_code == 200, response.text
    record = payment_of(response)
    assert record is not None and record["amount"] == "0.01"
    assert facilitator.balance(funded["walletId"], EVM_BALANCE_KEY) == 1_000_000 - 10_000
