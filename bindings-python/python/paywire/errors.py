"""Errors: every failure is a `PaywireError` with the core's stable `code`, raised as the
subclass of its class, so callers catch what they handle and match on `code` for the rest."""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class PaywireError(Exception):
    """A failure with a stable snake_case `code` (`policy_daily_limit_exceeded`,
    `token_expired`, `payment_rejected`, ...), a `message`, and structured `details` when there
    are any (a policy's rejections, a provider's 402)."""

    code: str
    message: str
    details: Optional[Any]

    def __init__(self, code: str, message: str, details: Optional[Any] = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


class InvalidArgumentError(PaywireError, ValueError):
    """The input is malformed or out of range: an amount, a header, a configuration, a value of
    the wrong type."""


class PaymentInvalidError(PaywireError):
    """A payment that does not verify; `code` is its x402 reason."""


class PaymentRejectedError(PaymentInvalidError):
    """The provider refused a payment this client made (`payment_rejected`); its 402 is in
    `details`."""


class PolicyDeniedError(PaywireError):
    """The spending policy refuses (`policy_*` codes); the rejections are in `details`."""


class TokenError(PaywireError):
    """An access token that does not work."""


class TokenMalformedError(TokenError):
    """Not a token at all."""


class TokenRejectedError(TokenError):
    """A well-formed token that does not authorize the request (expired, used up, out of
    scope, unknown key, bad signature)."""


class ConflictError(PaywireError):
    """The request conflicts with an earlier one (idempotency)."""


class NotFoundError(PaywireError):
    """Nothing answers to the request (no price rule matches)."""


class UnavailableError(PaywireError):
    """A service is unavailable or full (a facilitator down); retrying later may work."""


_BY_CLASS: Dict[str, Type[PaywireError]] = {
    "invalid_input": InvalidArgumentError,
    "payment_invalid": PaymentInvalidError,
    "policy_denied": PolicyDeniedError,
    "token_malformed": TokenMalformedError,
    "token_rejected": TokenRejectedError,
    "conflict": ConflictError,
    "not_found": NotFoundError,
    "unavailable": UnavailableError,
}


def error_for(code: str, error_class: str, message: str, details: Optional[Any] = None) -> PaywireError:
    """The exception for a core error: the subclass of its class (`payment_rejected` its own)."""
    if code == "payment_rejected":
        return PaymentRejectedError(code, message, details)
    return _BY_CLASS.get(error_class, PaywireError)(code, message, details)
