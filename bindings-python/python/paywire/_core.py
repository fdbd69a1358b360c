"""The core's API in Python: the same functions and classes as @paywire/wasm and @paywire/node,
in snake_case, taking and returning dicts shaped as `paywire.types` declares. The uniffi layer
(`paywire._ffi`) carries objects as JSON text; this module turns them into dicts and every
failure into the `PaywireError` subclass of its class."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Union, cast

from . import _ffi
from ._exports import *  # noqa: F403 - the free functions, generated from exports.toml
from ._marshal import _bytes, _call, _json, _number, _optional_json, _optional_number, _parsed
from .errors import InvalidArgumentError, error_for
from .types import (
    Asset,
    Caveat,
    Claims,
    ClientAction,
    ClientConfig,
    ClientEvent,
    Decision,
    ExactAuthorization,
    ExactPayload,
    FacilitatorRequest,
    JsonObject,
    PaymentIntent,
    PaymentOption,
    PaymentPayload,
    PaymentRequired,
    PaymentRequirements,
    PaymentRequirementsV1,
    PaywallAction,
    PaywallConfig,
    PaywallEvent,
    PolicyJson,
    PriceRule,
    PricebookJson,
    Quote,
    QuoteRequest,
    ResourceInfo,
    Selection,
    SettleResponse,
    SignRequest,
    UsageJson,
    VerifiedToken,
    VerifyResponse,
)

AnyRequirements = Union[PaymentRequirements, PaymentRequirementsV1]


def _error_class_of(code: str) -> str:
    """The class (`policy_denied`, `token_rejected`, ...) of an error known by its code."""
    return _ffi.error_class_of(code)


def raise_refusal(code: str, message: str, details: Optional[Any] = None) -> None:
    """Raises a flow's refusal as the `PaywireError` subclass of its code's class."""
    raise error_for(code, _error_class_of(code), message, details)


# ---- pricing ----


class Pricebook:
    """Price rules in one scale, and the platform fee."""

    def __init__(self, pricebook: PricebookJson) -> None:
        self._book = _call(lambda: _ffi.Pricebook(_json(pricebook, "pricebook")))

    def quote(self, request: QuoteRequest) -> Quote:
        """Prices a request."""
        return cast(Quote, _parsed(_call(lambda: self._book.quote(_json(request, "quote request")))))

    def route(self, method: str, path: str) -> Optional[int]:
        """The index of the rule pricing `method path`, or None."""
        return _call(lambda: self._book.route(method, path))

    def rule(self, index: int) -> Optional[PriceRule]:
        """Rule `index`, or None."""
        found = _call(lambda: self._book.rule(_number(index, "index")))
        return None if found is None else cast(PriceRule, _parsed(found))

    def to_json(self) -> PricebookJson:
        """The pricebook as JSON."""
        return cast(PricebookJson, _parsed(_call(self._book.to_json)))


# ---- policy ----

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


class Usage:
    """The spending so far (persist it between payments with `to_json` / `Usage.from_json`)."""

    def __init__(self, inner: Optional[Any] = None) -> None:
        self._usage = inner if isinstance(inner, _ffi.Usage) else _ffi.Usage()

    @staticmethod
    def from_json(usage: UsageJson) -> "Usage":
        """Usage from its JSON."""
        return Usage(_call(lambda: _ffi.Usage.from_json(_json(usage, "usage"))))

    def to_json(self) -> UsageJson:
        """The usage as JSON."""
        return cast(UsageJson, _parsed(_call(self._usage.to_json)))


def _usage_of(usage: Any) -> Any:
    if not isinstance(usage, Usage):
        raise InvalidArgumentError("invalid_argument", "usage must be a Usage")
    return usage._usage


class Policy:
    """A spending policy."""

    def __init__(self, policy: PolicyJson) -> None:
        self._policy = _call(lambda: _ffi.Policy(_json(policy, "policy")))

    def evaluate(self, intent: PaymentIntent, usage: Usage, now: int) -> Decision:
        """Judges one payment."""
        code = _call(lambda: self._policy.evaluate_packed(_pack_intent(intent), _usage_of(usage), _number(now, "now")))
        if code == 0:
            return {"decision": "allow"}
        if code == 1:
            return {"decision": "needsApproval"}
        return cast(Decision, {"decision": "deny", "reason": _DENY_REASONS[code - 2]})

    def select(self, payment_required_: PaymentRequired, usage: Usage, now: int) -> Selection:
        """What to pay from a 402, or why nothing."""
        return cast(Selection, _parsed(_call(lambda: self._policy.select(_json(payment_required_, "payment_required"), _usage_of(usage), _number(now, "now")))))

    def record(self, usage: Usage, amount: str, now: int) -> None:
        """Records a payment of `amount` whole units into `usage`."""
        _call(lambda: self._policy.record(_usage_of(usage), amount, _number(now, "now")))

    def to_json(self) -> PolicyJson:
        """The policy as JSON."""
        return cast(PolicyJson, _parsed(_call(self._policy.to_json)))


# ---- tokens ----


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


class KeyRing:
    """HMAC-SHA256 keys by key id: one signs, all verify."""

    def __init__(self, kid: str, secret: bytes) -> None:
        self._ring = _call(lambda: _ffi.KeyRing(kid, _bytes(secret, "secret")))

    def add_verifying_key(self, kid: str, secret: bytes) -> None:
        """Adds a key that verifies but does not sign."""
        _call(lambda: self._ring.add_verifying_key(kid, _bytes(secret, "secret")))

    def rotate(self, kid: str, secret: bytes) -> None:
        """Makes `kid` the signing key (adding it with `secret`)."""
        _call(lambda: self._ring.rotate(kid, _bytes(secret, "secret")))

    def retire(self, kid: str) -> None:
        """Removes a verifying key."""
        _call(lambda: self._ring.retire(kid))

    @property
    def signing_kid(self) -> str:
        """The id of the key that signs."""
        return self._ring.signing_kid()

    def issue(self, claims: Claims) -> str:
        """Signs claims into a token."""
        return _call(lambda: self._ring.issue(_json(claims, "claims")))

    def verify(self, token: str, method: str, resource: str, now: int, uses: int) -> VerifiedToken:
        """Verifies a token for `method resource` at `now`, after `uses` earlier uses."""
        for value, name in ((token, "token"), (method, "method"), (resource, "resource")):
            if not isinstance(value, str):
                raise InvalidArgumentError("invalid_argument", f"{name} must be a string")
            if _SEPARATOR in value:
                raise InvalidArgumentError("invalid_argument", f"{name} holds a control character")
        packed = _SEPARATOR.join((token, method, resource))
        return _unflatten_verified(_call(lambda: self._ring.verify_packed(packed, _number(now, "now"), _number(uses, "uses"))))


def _ring_of(keys: Any) -> Any:
    if not isinstance(keys, KeyRing):
        raise InvalidArgumentError("invalid_argument", "keys must be a KeyRing")
    return keys._ring


# ---- idempotency ----


class MemoryStore:
    """A bounded in-memory idempotency store deciding by Stripe's contract."""

    def __init__(self, capacity: int, retention_seconds: Optional[int] = None, lease_seconds: Optional[int] = None) -> None:
        self._store = _call(lambda: _ffi.MemoryStore(_number(capacity, "capacity"), _optional_number(retention_seconds, "retention_seconds"), _optional_number(lease_seconds, "lease_seconds")))

    def begin(self, key: str, fingerprint_: str, now: int) -> Dict[str, Any]:
        """Begins a request: `{"action": "proceed"}` or `{"action": "replay", "status", "body"}`."""
        return cast(Dict[str, Any], _parsed(_call(lambda: self._store.begin(key, fingerprint_, _number(now, "now")))))

    def complete(self, key: str, fingerprint_: str, status: int, body: str, now: int) -> None:
        """Stores a request's outcome."""
        _call(lambda: self._store.complete(key, fingerprint_, _number(status, "status"), body, _number(now, "now")))

    def abandon(self, key: str, fingerprint_: str) -> None:
        """Releases a key whose request failed before any outcome."""
        _call(lambda: self._store.abandon(key, fingerprint_))

    def sweep(self, now: int) -> None:
        """Forgets what expired by `now`."""
        _call(lambda: self._store.sweep(_number(now, "now")))

    @property
    def size(self) -> int:
        """How many keys it holds."""
        return self._store.size()


# ---- schemes ----


def verify_evm_payment(payment: PaymentPayload, requirements: AnyRequirements, now: int) -> Dict[str, str]:
    """Verifies an EIP-3009 payment: `{"payer", "value", "signature"}`."""
    # One string for both: uniffi converts each string argument in Python.
    pair = _json([payment, requirements], "payment and requirements")
    return cast(Dict[str, str], _parsed(_call(lambda: _ffi.verify_evm_payment_pair(pair, _number(now, "now")))))


# ---- flows ----


class ClientFlow:
    """One paid request's client flow: feed events, take actions."""

    def __init__(self, config: ClientConfig, method: str, url: str) -> None:
        self._flow = _call(lambda: _ffi.ClientFlow(_json(config, "client config"), method, url))

    def feed(self, event: ClientEvent) -> ClientAction:
        """Feeds an event: the next action."""
        return cast(ClientAction, _parsed(_call(lambda: self._flow.feed(_json(event, "client event")))))


class PaywallFlow:
    """One request's state in a paywall."""

    def __init__(self) -> None:
        self._flow = _ffi.PaywallFlow()


class Paywall:
    """A provider's paywall: feed a request's events, take actions."""

    def __init__(self, config: PaywallConfig) -> None:
        self._paywall = _call(lambda: _ffi.Paywall(_json(config, "paywall config")))

    def feed(self, flow: PaywallFlow, event: PaywallEvent) -> PaywallAction:
        """Feeds an event to `flow`: the next action."""
        return self._feed(flow, event, None)

    def feed_with_keys(self, flow: PaywallFlow, event: PaywallEvent, keys: KeyRing) -> PaywallAction:
        """The same, with `keys` verifying presented tokens and signing sold ones."""
        return self._feed(flow, event, _ring_of(keys))

    def _feed(self, flow: PaywallFlow, event: PaywallEvent, ring: Any) -> PaywallAction:
        if not isinstance(flow, PaywallFlow):
            raise InvalidArgumentError("invalid_argument", "flow must be a PaywallFlow")
        return cast(PaywallAction, _parsed(_call(lambda: self._paywall.feed(flow._flow, _json(event, "paywall event"), ring))))
