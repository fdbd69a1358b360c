"""Where the host layer keeps state between requests: an agent's spending and access tokens, a
provider's token use counts. In memory by default; any object with these methods (sync or
async) plugs in to share them between processes."""

from __future__ import annotations

import threading
import time
from typing import Awaitable, Dict, List, Optional, Protocol, Tuple, Union

from .types import AccessToken, UsageJson


class UsageStore(Protocol):
    """The payer's spending so far."""

    def load(self) -> Union[Optional[UsageJson], Awaitable[Optional[UsageJson]]]:
        """The stored usage (None before the first payment)."""
        ...

    def save(self, usage: UsageJson) -> Union[None, Awaitable[None]]:
        """Replaces the stored usage."""
        ...


class TokenStore(Protocol):
    """Access tokens sold with payments."""

    def list(self) -> Union[List[AccessToken], Awaitable[List[AccessToken]]]:
        """Every stored token."""
        ...

    def add(self, token: AccessToken) -> Union[None, Awaitable[None]]:
        """Stores a token."""
        ...

    def forget(self, token: str) -> Union[None, Awaitable[None]]:
        """Deletes a token (expired, or refused by the provider)."""
        ...


class TokenUses(Protocol):
    """A provider's count of uses per token claims id, and of deliveries per payment (ids
    `payment:…`: a payment buys one answer and one re-send of a lost one). Share one store
    among a provider's instances for limits that hold across them."""

    def use(self, id: str, expires_at: int) -> Union[int, Awaitable[int]]:
        """Records one use of `id` and returns how many came before it."""
        ...


class MemoryUsageStore:
    """Usage in memory."""

    def __init__(self) -> None:
        self._usage: Optional[UsageJson] = None

    def load(self) -> Optional[UsageJson]:
        return self._usage

    def save(self, usage: UsageJson) -> None:
        self._usage = usage


class MemoryTokenStore:
    """Access tokens in memory."""

    def __init__(self) -> None:
        self._tokens: Dict[str, AccessToken] = {}
        self._lock = threading.Lock()

    def list(self) -> List[AccessToken]:
        with self._lock:
            return list(self._tokens.values())

    def add(self, token: AccessToken) -> None:
        with self._lock:
            self._tokens[token["token"]] = token

    def forget(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)


class MemoryTokenUses:
    """Token use counts in memory; forgets tokens once they expired."""

    SWEEP_ABOVE = 10_000

    def __init__(self) -> None:
        self._counts: Dict[str, Tuple[int, int]] = {}
        self._lock = threading.Lock()

    def use(self, id: str, expires_at: int) -> int:
        with self._lock:
            before, expiry = self._counts.get(id, (0, expires_at))
            self._counts[id] = (before + 1, expiry)
            if len(self._counts) > self.SWEEP_ABOVE:
                now = int(time.time())
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            return before
