"""HTTP 402 payments (x402, v2 headers, v1 accepted) for Python agents and the APIs they pay,
over Paywire's Rust core: spending policies, access tokens, pricing, idempotency, the ledger and
EVM (EIP-3009) schemes, and the payment flows — decided by the core, the same as in every other
runtime.

- `paywire.httpx`: sync and async httpx transports that pay 402s; `paywire.requests`: the same
  for requests; `paywire.asgi`: middleware for Starlette / FastAPI providers.
- Below them, the core's API: `Policy`, `Usage`, `KeyRing`, `Pricebook`, `MemoryStore`,
  `ClientFlow`, `Paywall`, `from_decimal`, `verify_evm_payment`, ... (the same names as
  @paywire/wasm and @paywire/node, in snake_case), taking and returning dicts typed in
  `paywire.types`.
- Every failure is a `PaywireError` with a stable `code`, raised as the subclass of its class.
"""

from ._core import KeyRing, Policy, verify_evm_payment
from .errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PaymentInvalidError,
    PaymentRejectedError,
    PaywireError,
    PolicyDeniedError,
    TokenError,
    TokenMalformedError,
    TokenRejectedError,
    UnavailableError,
)
from . import _exports
from ._exports import *  # noqa: F403 - the free functions and classes, generated from exports.toml
from .signers import EthAccountSigner, EvmKeySigner, LedgerSigner, Signer
from .stores import MemoryTokenStore, MemoryTokenUses, MemoryUsageStore, TokenStore, TokenUses, UsageStore

__version__ = "0.1.0"

__all__ = [
    "ConflictError",
    "EthAccountSigner",
    "EvmKeySigner",
    "InvalidArgumentError",
    "KeyRing",
    "LedgerSigner",
    "MemoryTokenStore",
    "MemoryTokenUses",
    "MemoryUsageStore",
    "NotFoundError",
    "PaymentInvalidError",
    "PaymentRejectedError",
    "PaywireError",
    "Policy",
    "PolicyDeniedError",
    "Signer",
    "TokenError",
    "TokenMalformedError",
    "TokenRejectedError",
    "TokenStore",
    "TokenUses",
    "UnavailableError",
    "UsageStore",
    "verify_evm_payment",
]
__all__ += _exports.__all__
