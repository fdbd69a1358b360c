"""What the generated wrappers (`paywire._exports`, from bindings-common/exports.toml) leave to
be written by hand: the two hot calls (`Policy.evaluate`, `KeyRing.verify`), which cross
`paywire._ffi` as one string each way, and `verify_evm_payment`, which sends its two objects as
one string. The uniffi layer converts each string argument, so fewer strings is faster."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union, cast

from . import _exports, _ffi
from ._exports import ClientFlow, McpClientFlow, McpPaywall, McpPaywallFlow, Paywall, PaywallFlow, Usage
from ._marshal import _call, _json, _native_of, _number, _parsed
from .errors import InvalidArgumentError, error_for
from .types import (
    Decision,
    PaymentIntent,
    PaymentPayload,
    PaymentRequirements,
    PaymentRequirementsV1,
    VerifiedToken,
)

__all__ = ["ClientFlow", "KeyRing", "McpClientFlow", "McpPaywall", "McpPaywallFlow", "Paywall", "PaywallFlow", "Policy", "raise_refusal", "verify_evm_payment"]

AnyRequirements = Union[PaymentRequirements, PaymentRequirementsV1]


def _error_class_of(code: str) -> str:
    """The class (`policy_denied`, `token_rejected`, ...) of an error known by its code."""
    return _ffi.error_class_of(code)


def raise_refusal(code: str, message: str, details: Optional[Any] = None) -> None:
    """Raises a flow's refusal as the `PaywireError` subclass of its code's class."""
    raise error_for(code, _error_class_of(code), message, details)


# ---- the hot calls ----

_DENY_REASONS: List[str] = _ffi.deny_reasons()
_SEPARATOR = "\x1f"
_INTENT_FIELDS = ("amount", "network", "asset", "payTo", "resource")


def _pack_intent(intent: PaymentIntent) -> str:
    if not isinstance(intent, dict):
        raise InvalidArgumentError("invalid_argument", "payment intent must be a dict")
    last = 4 if intent.get("resource") is None else 5
    fields = []
    for name in _INTENT_FIELDS[:last]:
        field = intent.get(name)
        if not isinstance(field, str):
            problem = f"missing field {name}" if field is None else f"{name} must be a string"
            raise InvalidArgumentError("invalid_argument", f"payment intent: {problem}")
        if _SEPARATOR in field:
            raise InvalidArgumentError("invalid_argument", f"payment intent: {name} holds a control character")
        fields.append(field)
    return _SEPARATOR.join(fields)


class Policy(_exports.Policy):
    """A spending policy: limits per request, day and month, allow-lists, a velocity limit and
    an approval threshold (all optional)."""

    def evaluate(self, intent: PaymentIntent, usage: Usage, now: int) -> Decision:
        """Judges one payment."""
        code = _call(lambda: self._inner.evaluate_packed(_pack_intent(intent), _native_of(usage, Usage, "usage"), _number(now, "now")))
        if code == 0:
            return {"decision": "allow"}
        if code == 1:
            return {"decision": "needsApproval"}
        return cast(Decision, {"decision": "deny", "reason": _DENY_REASONS[code - 2]})


def _unflatten_verified(flat: str) -> VerifiedToken:
    fields: List[str] = []
    at = 0
    ascii_only = flat.isascii()
    while ascii_only and at < len(flat):
        colon = flat.index(":", at)
        end = colon + 1 + int(flat[at:colon])
        fields.append(flat[colon + 1:end])
        at = end
    while at < len(flat):
        colon = flat.index(":", at)
        # Lengths count UTF-16 units (the JavaScript engines' unit); Python counts code points.
        length = int(flat[at:colon])
        end = colon + 1
        units = 0
        while units < length:
            units += 2 if ord(flat[end]) > 0xFFFF else 1
            end += 1
        fields.append(flat[colon + 1:end])
        at = end
    return {
        "kid": fields[0],
        "claims": {
            "id": fields[2],
            "iss": fields[3],
            "sub": fields[4],
            "scope": {"resource": fields[9], "methods": fields[10:], "route": None if fields[8] == "" else fields[8]},
            "iat": int(fields[5]),
            "exp": int(fields[6]),
            "maxUses": None if fields[7] == "" else int(fields[7]),
        },
        "caveats": int(fields[1]),
    }


class KeyRing(_exports.KeyRing):
    """HMAC-SHA256 keys by key id: one signs, all verify."""

    def verify(self, token: str, method: str, resource: str, now: int, uses: int) -> VerifiedToken:
        """Verifies a token for `method resource` at `now`, after `uses` earlier uses."""
        for value, name in ((token, "token"), (method, "method"), (resource, "resource")):
            if not isinstance(value, str):
                raise InvalidArgumentError("invalid_argument", f"{name} must be a string")
            if _SEPARATOR in value:
                raise InvalidArgumentError("invalid_argument", f"{name} holds a control character")
        packed = _SEPARATOR.join((token, method, resource))
        return _unflatten_verified(_call(lambda: self._inner.verify_packed(packed, _number(now, "now"), _number(uses, "uses"))))


# ---- schemes ----


def verify_evm_payment(payment: PaymentPayload, requirements: AnyRequirements, now: int) -> Dict[str, str]:
    """Verifies an EIP-3009 payment: `{"payer", "value", "signature"}`."""
    # One string for both: uniffi converts each string argument in Python.
    pair = _json([payment, requirements], "payment and requirements")
    return cast(Dict[str, str], _parsed(_call(lambda: _ffi.verify_evm_payment_pair(pair, _number(now, "now")))))
