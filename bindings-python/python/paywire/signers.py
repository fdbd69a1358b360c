"""Who pays: signers for the authorizations the client flow asks for. A signer has
`identity()` (the payer the flow signs as) and `sign(request)` (the `0x`-hex signature, or an
awaitable of it — a KMS or a remote wallet may take its time)."""

from __future__ import annotations

from typing import Any, Awaitable, Protocol, Union

from ._exports import evm_address, sign_request_with_evm_key, sign_request_with_wallet_secret
from .types import PayerIdentity, SignRequest


class Signer(Protocol):
    """Signs the flow's `SignRequest`s."""

    def identity(self) -> PayerIdentity:
        """The payer this signer signs as."""
        ...

    def sign(self, request: SignRequest) -> Union[str, Awaitable[str]]:
        """The signature of `request`, `0x`-hex."""
        ...


class EvmKeySigner:
    """Signs EIP-3009 authorizations with an EVM private key held in this process (the core
    signs; RFC 6979, no randomness)."""

    def __init__(self, private_key: str) -> None:
        self._key = private_key
        self._address = evm_address(private_key)

    def identity(self) -> PayerIdentity:
        return {"type": "evm", "address": self._address}

    def sign(self, request: SignRequest) -> str:
        return sign_request_with_evm_key(request, self._key)

    def __repr__(self) -> str:
        return f"EvmKeySigner({self._address})"


class EthAccountSigner:
    """Signs with an eth-account account (`LocalAccount`, or anything with `address` and
    `sign_typed_data(domain_data=, message_types=, message_data=)`): the EIP-712 typed data
    the flow built, as eth-account takes it."""

    def __init__(self, account: Any) -> None:
        self._account = account

    def identity(self) -> PayerIdentity:
        return {"type": "evm", "address": str(self._account.address)}

    def sign(self, request: SignRequest) -> str:
        typed = request.get("typedData")
        if not isinstance(typed, dict):
            raise ValueError("the signing request has no EIP-712 typed data (not an EVM payment)")
        types = typed["types"]
        primary = typed["primaryType"]
        # The flow writes uint256 values as decimal strings (JSON cannot hold them as numbers);
        # eth-account wants integers.
        message = dict(typed["message"])
        for field in types[primary]:
            if field["type"].startswith("uint") and isinstance(message.get(field["name"]), str):
                message[field["name"]] = int(message[field["name"]])
        signed = self._account.sign_typed_data(domain_data=typed["domain"], message_types=types, message_data=message)
        return "0x" + bytes(signed.signature).hex()


class LedgerSigner:
    """Signs ledger authorizations for a Paywire wallet with its signing secret (bytes, or hex
    as the settlement server printed it)."""

    def __init__(self, wallet_id: str, secret: Union[str, bytes]) -> None:
        self._wallet_id = wallet_id
        self._secret = bytes.fromhex(secret[2:] if secret.startswith("0x") else secret) if isinstance(secret, str) else bytes(secret)

    def identity(self) -> PayerIdentity:
        return {"type": "ledger", "walletId": self._wallet_id}

    def sign(self, request: SignRequest) -> str:
        return sign_request_with_wallet_secret(request, self._secret)

    def __repr__(self) -> str:
        return f"LedgerSigner({self._wallet_id})"
