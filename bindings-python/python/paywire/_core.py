"""The core's API in Python: the same functions and classes as @paywire/wasm and @paywire/node,
in snake_case, taking and returning dicts shaped as `paywire.types` declares. The uniffi layer
(`paywire._ffi`) carries objects as JSON text; this module turns them into dicts and every
failure into the `PaywireError` subclass of its class."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional, TypeVar, Union, cast

from . import _ffi
from .errors import InvalidArgumentError, PaywireError, error_for
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

T = TypeVar("T")
AnyRequirements = Union[PaymentRequirements, PaymentRequirementsV1]


def _call(work: Callable[[], T]) -> T:
    """Runs an `_ffi` call, raising its failure as the `PaywireError` of its class; a value of
    the wrong Python type (refused by uniffi) is `invalid_argument`."""
    try:
        return work()
    except _ffi.FfiError.Failed as failure:
        raise error_for(failure.code, failure._class, failure.message) from None
    except (TypeError, ValueError, OverflowError) as wrong:
        if isinstance(wrong, PaywireError):
            raise
        raise InvalidArgumentError("invalid_argument", str(wrong)) from None


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidArgumentError("invalid_argument", f"{what}: not JSON ({error})") from None


def _optional_json(value: Any, what: str) -> Optional[str]:
    return None if value is None else _json(value, what)


def _parsed(text: str) -> Any:
    return json.loads(text)


def _number(value: Any, what: str) -> float:
    # bool is an int in Python; it is not a count.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError("invalid_argument", f"{what} must be a number")
    return float(value)


def _optional_number(value: Any, what: str) -> Optional[float]:
    return None if value is None else _number(value, what)


def _bytes(value: Any, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise InvalidArgumentError("invalid_argument", f"{what} must be bytes")


def _error_class_of(code: str) -> str:
    """The class (`policy_denied`, `token_rejected`, ...) of an error known by its code."""
    return _ffi.error_class_of(code)


def raise_refusal(code: str, message: str, details: Optional[Any] = None) -> None:
    """Raises a flow's refusal as the `PaywireError` subclass of its code's class."""
    raise error_for(code, _error_class_of(code), message, details)


# ---- money ----


def parse_price(price: str, decimals: int) -> str:
    """Atomic units of a price (`"$0.01"`, `"0.01"`) in an asset with `decimals`."""
    return _call(lambda: _ffi.parse_price(price, _number(decimals, "decimals")))


def parse_atomic(text: str) -> str:
    """An atomic amount (a base-10 integer below 2^128), checked and normalized."""
    return _call(lambda: _ffi.parse_atomic(text))


def to_decimal(atomic_amount: str, decimals: int) -> str:
    """Atomic units as a whole-unit decimal string."""
    return _call(lambda: _ffi.to_decimal(atomic_amount, _number(decimals, "decimals")))


def from_decimal(decimal: str, decimals: int) -> str:
    """A whole-unit decimal string as atomic units; more precision than `decimals` is an error."""
    return _call(lambda: _ffi.from_decimal(decimal, _number(decimals, "decimals")))


def format_amount(atomic_amount: str, decimals: int) -> str:
    """Atomic units formatted for people, trailing zeros dropped."""
    return _call(lambda: _ffi.format_amount(atomic_amount, _number(decimals, "decimals")))


def rescale_amount(atomic_amount: str, from_decimals: int, to_decimals: int) -> str:
    """An amount in other decimals, rounding up when precision is lost."""
    return _call(lambda: _ffi.rescale_amount(atomic_amount, _number(from_decimals, "from_decimals"), _number(to_decimals, "to_decimals")))


def find_asset(network: str, address: str) -> Optional[Asset]:
    """The built-in asset at `address` on `network`, or None."""
    found = _call(lambda: _ffi.find_asset(network, address))
    return None if found is None else cast(Asset, _parsed(found))


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


def payment_required(
    quote: Quote,
    options: List[PaymentOption],
    resource: ResourceInfo,
    x402_version: Optional[int] = None,
    error: Optional[str] = None,
    extensions: Optional[JsonObject] = None,
) -> PaymentRequired:
    """The 402 offering `quote` in each payment option (v2 by default)."""
    return cast(PaymentRequired, _parsed(_call(lambda: _ffi.payment_required(
        _json(quote, "quote"), _json(options, "payment options"), _json(resource, "resource"),
        _optional_number(x402_version, "x402_version"), error, _optional_json(extensions, "extensions"),
    ))))


def offer_payment_identifier(required: bool) -> JsonObject:
    """The `payment-identifier` extension a 402 offers."""
    return cast(JsonObject, _parsed(_call(lambda: _ffi.offer_payment_identifier(required))))


def split_fee(gross: str, fee_bps: int) -> Dict[str, str]:
    """`{"fee", "net"}` of a gross atomic amount at `fee_bps` basis points."""
    return cast(Dict[str, str], _parsed(_call(lambda: _ffi.split_fee(gross, _number(fee_bps, "fee_bps")))))


def path_matches(pattern: str, path: str) -> bool:
    """Whether a path pattern (`/v1/weather/:city`) matches a path."""
    return _call(lambda: _ffi.path_matches(pattern, path))


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


def primary_reason(selection: Selection) -> Optional[str]:
    """The code of the reason a selection refused every option, or None."""
    return _call(lambda: _ffi.primary_reason(_json(selection, "selection")))


def host_of(url: str) -> Optional[str]:
    """The host of a URL, as allow-lists compare it, or None."""
    return _call(lambda: _ffi.host_of(url))


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


def attenuate_token(token: str, caveat: Caveat) -> str:
    """A token with a caveat appended (no key needed; it can only narrow)."""
    return _call(lambda: _ffi.attenuate_token(token, _json(caveat, "caveat")))


def inspect_token(token: str) -> VerifiedToken:
    """A token's effective claims, read WITHOUT verifying its MAC."""
    return cast(VerifiedToken, _parsed(_call(lambda: _ffi.inspect_token(token))))


def resource_in_scope(prefix: str, resource: str) -> bool:
    """Whether a scope's resource prefix covers a resource URL."""
    return _call(lambda: _ffi.resource_in_scope(prefix, resource))


def bundle_scope(resource: str, pattern: str) -> str:
    """The scope prefix of a token sold for `resource` on a route `pattern`."""
    return _call(lambda: _ffi.bundle_scope(resource, pattern))


def scope_allows(scope: Mapping[str, Any], method: str, resource: str) -> bool:
    """Whether a scope (`{"resource", "methods"}`) covers `method` on `resource`."""
    return _call(lambda: _ffi.scope_allows(_json(scope, "scope"), method, resource))


def bundle_claims(bundle: Mapping[str, Any], rule: PriceRule, id: str, issuer: str, payer: str, resource: str, now: int) -> Claims:
    """The claims of the token a bundle sells with a payment."""
    return cast(Claims, _parsed(_call(lambda: _ffi.bundle_claims(_json(bundle, "bundle"), _json(rule, "rule"), id, issuer, payer, resource, _number(now, "now")))))


def token_hash(token: str) -> str:
    """The SHA-256 of a token (hex), which a store keeps instead of the token."""
    return _call(lambda: _ffi.token_hash(token))


# ---- idempotency ----


def validate_idempotency_key(key: str) -> str:
    """An idempotency key, checked and returned."""
    return _call(lambda: _ffi.validate_idempotency_key(key))


def _body_bytes(body: Union[str, bytes, bytearray, memoryview, None]) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise InvalidArgumentError("invalid_argument", "body must be str, bytes or None")


def fingerprint(method: str, path: str, body: Union[str, bytes, None]) -> str:
    """The fingerprint of a request's method, path and body (text or bytes)."""
    data = _body_bytes(body)
    return _call(lambda: _ffi.fingerprint(method, path, data))


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


# ---- protocol ----


def encode_header(value: Any) -> str:
    """Any JSON value as an x402 header value (base64 of its JSON)."""
    return _call(lambda: _ffi.encode_header(_json(value, "header value")))


def decode_payment_required(header_value: str, limit_bytes: Optional[int] = None) -> PaymentRequired:
    """A `PAYMENT-REQUIRED` header's 402."""
    return cast(PaymentRequired, _parsed(_call(lambda: _ffi.decode_payment_required(header_value, _optional_number(limit_bytes, "limit_bytes")))))


def decode_payment_payload(header_value: str, limit_bytes: Optional[int] = None) -> PaymentPayload:
    """A `PAYMENT-SIGNATURE` / `X-PAYMENT` header's payment."""
    return cast(PaymentPayload, _parsed(_call(lambda: _ffi.decode_payment_payload(header_value, _optional_number(limit_bytes, "limit_bytes")))))


def decode_payment_response(header_value: str, limit_bytes: Optional[int] = None) -> SettleResponse:
    """A `PAYMENT-RESPONSE` header's settlement."""
    return cast(SettleResponse, _parsed(_call(lambda: _ffi.decode_payment_response(header_value, _optional_number(limit_bytes, "limit_bytes")))))


def payment_required_from_json(value: Any) -> PaymentRequired:
    """A 402 checked and normalized."""
    return cast(PaymentRequired, _parsed(_call(lambda: _ffi.payment_required_from_json(_json(value, "payment_required")))))


def payment_payload_from_json(value: Any) -> PaymentPayload:
    """A payment checked and normalized."""
    return cast(PaymentPayload, _parsed(_call(lambda: _ffi.payment_payload_from_json(_json(value, "payment_payload")))))


def resolve_network(name: str) -> Dict[str, Any]:
    """A network name (CAIP-2 or v1) resolved: caip2, namespace, reference, evmChainId, v1Name."""
    return cast(Dict[str, Any], _parsed(_call(lambda: _ffi.resolve_network(name))))


def same_network(a: str, b: str) -> bool:
    """Whether two network names are the same network."""
    return _call(lambda: _ffi.same_network(a, b))


def requirements_match(accepted: PaymentRequirements, offered: PaymentRequirements) -> bool:
    """Whether a payment's `accepted` requirements match offered ones."""
    return _call(lambda: _ffi.requirements_match(_json(accepted, "accepted"), _json(offered, "offered")))


def find_match(offers: List[AnyRequirements], payment: PaymentPayload) -> int:
    """Which of `offers` a payment pays."""
    return _call(lambda: _ffi.find_match(_json(offers, "offers"), _json(payment, "payment")))


def facilitator_request(payment: PaymentPayload, requirements: AnyRequirements) -> FacilitatorRequest:
    """The `/verify` and `/settle` body for a payment and its requirements."""
    return cast(FacilitatorRequest, _parsed(_call(lambda: _ffi.facilitator_request(_json(payment, "payment"), _json(requirements, "requirements")))))


def parse_verify_response(body: Any) -> VerifyResponse:
    """A facilitator's `/verify` answer, checked."""
    return cast(VerifyResponse, _parsed(_call(lambda: _ffi.parse_verify_response(_json(body, "verify response")))))


def parse_settle_response(body: Any) -> SettleResponse:
    """A facilitator's `/settle` answer, checked."""
    return cast(SettleResponse, _parsed(_call(lambda: _ffi.parse_settle_response(_json(body, "settle response")))))


def payable_indexes(payment_required_: PaymentRequired, kind: str) -> List[int]:
    """The indexes of a 402's options a payer of `kind` ("evm", "ledger") can sign."""
    return _call(lambda: _ffi.payable_indexes(_json(payment_required_, "payment_required"), kind))


def payment_identifier(extensions_value: Optional[JsonObject]) -> Optional[str]:
    """The payment identifier in extensions, or None."""
    return _call(lambda: _ffi.payment_identifier(_optional_json(extensions_value, "extensions")))


def with_payment_identifier(extensions_value: Optional[JsonObject], id: str) -> JsonObject:
    """Extensions with a payment identifier added."""
    return cast(JsonObject, _parsed(_call(lambda: _ffi.with_payment_identifier(_optional_json(extensions_value, "extensions"), id))))


# ---- schemes ----


def verify_evm_payment(payment: PaymentPayload, requirements: AnyRequirements, now: int) -> Dict[str, str]:
    """Verifies an EIP-3009 payment: `{"payer", "value", "signature"}`."""
    # One string for both: uniffi converts each string argument in Python.
    pair = _json([payment, requirements], "payment and requirements")
    return cast(Dict[str, str], _parsed(_call(lambda: _ffi.verify_evm_payment_pair(pair, _number(now, "now")))))


def sign_evm_payment(payment_required_: PaymentRequired, index: int, private_key: str, nonce: bytes, now: int) -> PaymentPayload:
    """A 402's option `index` paid with an EVM key."""
    return cast(PaymentPayload, _parsed(_call(lambda: _ffi.sign_evm_payment(_json(payment_required_, "payment_required"), _number(index, "index"), private_key, _bytes(nonce, "nonce"), _number(now, "now")))))


def sign_evm_authorization(requirements: AnyRequirements, private_key: str, nonce: bytes, now: int) -> ExactPayload:
    """The `exact` payload authorizing requirements with an EVM key."""
    return cast(ExactPayload, _parsed(_call(lambda: _ffi.sign_evm_authorization(_json(requirements, "requirements"), private_key, _bytes(nonce, "nonce"), _number(now, "now")))))


def evm_address(private_key: str) -> str:
    """The checksummed address of a private key."""
    return _call(lambda: _ffi.evm_address(private_key))


def checksum_address(address: str) -> str:
    """An address in its EIP-55 checksummed form."""
    return _call(lambda: _ffi.checksum_address(address))


def eip712_hashes(domain: Mapping[str, Any], message: ExactAuthorization) -> Dict[str, str]:
    """The EIP-712 hashes of an authorization: `{"domainSeparator", "structHash", "digest"}`."""
    return cast(Dict[str, str], _parsed(_call(lambda: _ffi.eip712_hashes(_json(domain, "domain"), _json(message, "message")))))


def sign_ledger_payment(payment_required_: PaymentRequired, index: int, wallet_id: str, secret: bytes, nonce: bytes, now: int) -> PaymentPayload:
    """A 402's option `index` paid from a ledger wallet."""
    return cast(PaymentPayload, _parsed(_call(lambda: _ffi.sign_ledger_payment(_json(payment_required_, "payment_required"), _number(index, "index"), wallet_id, _bytes(secret, "secret"), _bytes(nonce, "nonce"), _number(now, "now")))))


def sign_ledger_authorization(requirements: AnyRequirements, wallet_id: str, secret: bytes, nonce: bytes, now: int) -> ExactPayload:
    """The `exact` payload authorizing requirements from a ledger wallet."""
    return cast(ExactPayload, _parsed(_call(lambda: _ffi.sign_ledger_authorization(_json(requirements, "requirements"), wallet_id, _bytes(secret, "secret"), _bytes(nonce, "nonce"), _number(now, "now")))))


def verify_ledger_payment(payment: PaymentPayload, requirements: AnyRequirements, now: int, secrets: Mapping[str, str]) -> Dict[str, Any]:
    """Verifies a ledger payment with wallet secrets (hex) by wallet id."""
    return cast(Dict[str, Any], _parsed(_call(lambda: _ffi.verify_ledger_payment(_json(payment, "payment"), _json(requirements, "requirements"), _number(now, "now"), _json(secrets, "secrets")))))


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


def sign_request_with_evm_key(request: SignRequest, private_key: str) -> str:
    """A flow's signing request signed with an EVM key."""
    return _call(lambda: _ffi.sign_request_with_evm_key(_json(request, "sign request"), private_key))


def sign_request_with_wallet_secret(request: SignRequest, secret: bytes) -> str:
    """A flow's signing request signed with a ledger wallet's secret."""
    return _call(lambda: _ffi.sign_request_with_wallet_secret(_json(request, "sign request"), _bytes(secret, "secret")))


# ---- webhooks ----


def sign_webhook(secret: str, timestamp: int, body: Union[str, bytes]) -> str:
    """The `Paywire-Signature` value for `body` sent at `timestamp` (unix seconds) under the
    endpoint's `secret` (`whsec_...`)."""
    data = _body_bytes(body)
    return _call(lambda: _ffi.sign_webhook(secret, _number(timestamp, "timestamp"), data))


def verify_webhook(header: str, secret: str, body: Union[str, bytes], now: int, tolerance_seconds: Optional[int] = None) -> int:
    """Checks a delivery's `Paywire-Signature` header against the raw body received (before
    parsing it), with the endpoint's secret, at `now`, within `tolerance_seconds` (300 when
    omitted). Returns the signed timestamp; raises `InvalidArgumentError` with code
    `webhook_signature_invalid`, `webhook_timestamp_outside_tolerance` or
    `webhook_signature_malformed`."""
    data = _body_bytes(body)
    return int(_call(lambda: _ffi.verify_webhook(header, secret, data, _number(now, "now"),
                                                 _optional_number(tolerance_seconds, "tolerance_seconds"))))
