"""Fixtures for the tests of the installed `paywire` wheel: a real paywire-server on loopback
(a fresh SQLite file), ASGI apps served over real HTTP by uvicorn, and helpers to fund payers."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("PAYWIRE_SERVER_BIN", str(ROOT / "target" / "debug" / "paywire-server"))
USDC_BASE_SEPOLIA = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
EVM_BALANCE_KEY = f"eip155:84532/erc20:{USDC_BASE_SEPOLIA.lower()}"
LEDGER_USD = {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Facilitator:
    """A paywire-server process and its admin API."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="paywire-py-test-")
        self.admin = "ak_" + secrets.token_hex(12)
        self.url = f"http://127.0.0.1:{free_port()}"
        # The log goes to a file: a pipe nobody reads fills up (64 KiB) and then blocks the
        # server in its next write — every request stalls until the facilitator client's timeout.
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.process = subprocess.Popen(
            [SERVER, "--database-url", f"sqlite://{self.dir}/paywire.db", "--listen", self.url.removeprefix("http://"), "--admin-key", self.admin],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"paywire-server exited: {Path(self.dir, 'server.log').read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("paywire-server did not become ready")
            time.sleep(0.05)

    def api(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers={"authorization": f"Bearer {self.admin}", "content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def provider(self, evm_address: Optional[str] = None) -> Any:
        return self.api("POST", "/v1/providers", {"name": "Weather Co", "evmAddress": evm_address})

    def agent(self, funds: str, policy: Optional[Dict[str, Any]] = None) -> Any:
        agent = self.api("POST", "/v1/agents", {"name": "Research agent", **({"policy": policy} if policy else {})})
        self.api("POST", f"/v1/wallets/{agent['walletId']}/fund", {"amount": funds})
        return agent

    def fund_evm(self, address: str, amount: str) -> Any:
        return self.api("POST", "/v1/evm/fund", {"network": "eip155:84532", "address": address, "amount": amount})

    def balance(self, wallet_id: str, asset: str = "USD") -> int:
        wallet = self.api("GET", f"/v1/wallets/{wallet_id}")
        return next((int(b["atomic"]) for b in wallet["balances"] if b["asset"] == asset), 0)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="session")
def facilitator() -> Iterator[Facilitator]:
    server = Facilitator()
    yield server
    server.stop()


class Served:
    """An ASGI app served over HTTP on loopback by uvicorn, in a thread."""

    def __init__(self, app: Any, lifespan: str = "off") -> None:
        import uvicorn

        self.port = free_port()
        # An MCP server's Streamable HTTP app runs its session manager in its lifespan.
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan=lifespan))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def serve() -> Iterator[Any]:
    opened = []

    def start(app: Any, lifespan: str = "off") -> Served:
        served = Served(app, lifespan)
        opened.append(served)
        return served

    yield start
    for served in opened:
        served.close()
