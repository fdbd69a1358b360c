"""A FastAPI provider whose routes are paid with x402 through `paywire.asgi`.

    PAYWIRE_FACILITATOR_URL=http://127.0.0.1:4020 PAYWIRE_PAY_TO=0x… \\
        uvicorn --app-dir examples/python provider:app --port 4022

Routes are written as Coinbase's middleware takes them; any x402 client (paywire's transports,
Coinbase's `x402` client) pays them, through any x402 facilitator.
"""

from __future__ import annotations

import os
from typing import Dict

from fastapi import FastAPI

from paywire.asgi import PaymentMiddleware

app = FastAPI()


@app.get("/weather")
def weather() -> Dict[str, object]:
    return {"city": "Paris", "temperatureC": 21}


@app.get("/health")
def health() -> Dict[str, str]:
    return {"status": "ok"}


app.add_middleware(
    PaymentMiddleware,
    routes={"GET /weather": {"accepts": [{"scheme": "exact", "price": "$0.01", "network": "eip155:84532",
                                          "payTo": os.environ.get("PAYWIRE_PAY_TO", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")}]}},
    facilitator_url=os.environ.get("PAYWIRE_FACILITATOR_URL", "http://127.0.0.1:4020"),
)
