//! # paywire-node
//!
//! Paywire's core as a native Node addon: one line per export over
//! [`paywire_bindings_common`], which checks arguments and carries objects as JSON text, the
//! same for every binding. `@paywire/node`'s JavaScript entry (`ts/engine.ts`) turns JSON
//! text into objects and errors into `PaywireError`s, and gives the addon the exact API of
//! `@paywire/wasm`.
//!
//! Errors are thrown with `code` set to the core's stable code (`amount_invalid`,
//! `token_expired`, …); a value of the wrong JavaScript type is refused by napi itself, which
//! the entry reports as `invalid_argument`.
#![deny(unsafe_code)]

use napi::bindgen_prelude::{Either, Uint8Array};
use napi_derive::napi;
use paywire_bindings_common as common;

pub mod classes;

/// What every export returns: a value, or an error whose `code` is the core's.
pub type Result<T> = napi::Result<T, String>;

/// A core error as a thrown JavaScript error with the core's code.
pub(crate) fn thrown(error: paywire_core::Error) -> napi::Error<String> {
    napi::Error::new(error.code().to_string(), error.to_string())
}

/// Maps a core result's error with [`thrown`].
pub(crate) trait OrThrow<T> {
    /// The value, or the coded error.
    fn or_throw(self) -> Result<T>;
}

impl<T> OrThrow<T> for common::Result<T> {
    fn or_throw(self) -> Result<T> {
        self.map_err(thrown)
    }
}

// ---- money ----

/// Atomic units of a price (`"$0.01"`) in an asset with `decimals`.
#[napi]
pub fn parse_price(price: String, decimals: f64) -> Result<String> {
    common::money::parse_price(&price, decimals).or_throw()
}

/// An atomic amount, checked and normalized.
#[napi]
pub fn parse_atomic(text: String) -> Result<String> {
    common::money::parse_atomic(&text).or_throw()
}

/// Atomic units as a whole-unit decimal string.
#[napi]
pub fn to_decimal(atomic_amount: String, decimals: f64) -> Result<String> {
    common::money::to_decimal(&atomic_amount, decimals).or_throw()
}

/// A whole-unit decimal string as atomic units.
#[napi]
pub fn from_decimal(decimal: String, decimals: f64) -> Result<String> {
    common::money::from_decimal(&decimal, decimals).or_throw()
}

/// Atomic units formatted for people.
#[napi]
pub fn format_amount(atomic_amount: String, decimals: f64) -> Result<String> {
    common::money::format_amount(&atomic_amount, decimals).or_throw()
}

/// An amount in other decimals, rounded up.
#[napi]
pub fn rescale_amount(
    atomic_amount: String,
    from_decimals: f64,
    to_decimals: f64,
) -> Result<String> {
    common::money::rescale_amount(&atomic_amount, from_decimals, to_decimals).or_throw()
}

/// A built-in asset (JSON), if any.
#[napi]
pub fn find_asset(network: String, address: String) -> Result<Option<String>> {
    common::money::find_asset(&network, &address).or_throw()
}

// ---- pricing ----

/// A 402 (JSON) offering a quote (JSON) in payment options (JSON).
#[napi]
pub fn payment_required(
    quote: String,
    options: String,
    resource: String,
    x402_version: Option<f64>,
    error: Option<String>,
    extensions: Option<String>,
) -> Result<String> {
    common::pricing::payment_required(
        &quote,
        &options,
        &resource,
        x402_version,
        error,
        extensions.as_deref(),
    )
    .or_throw()
}

/// The `payment-identifier` extension offer (JSON).
#[napi]
pub fn offer_payment_identifier(required: bool) -> Result<String> {
    common::pricing::offer_payment_identifier(required).or_throw()
}

/// `{fee, net}` (JSON) of a gross amount.
#[napi]
pub fn split_fee(gross: String, fee_bps: f64) -> Result<String> {
    common::pricing::split_fee(&gross, fee_bps).or_throw()
}

/// Whether a path pattern matches a path.
#[napi]
pub fn path_matches(pattern: String, path: String) -> Result<bool> {
    common::pricing::path_matches(&pattern, &path).or_throw()
}

// ---- policy ----

/// The code of a selection's (JSON) refusal, if it refused.
#[napi]
pub fn primary_reason(selection: String) -> Result<Option<String>> {
    common::policy::primary_reason(&selection).or_throw()
}

/// The host of a URL, as allow-lists compare it.
#[napi]
pub fn host_of(url: String) -> Option<String> {
    common::policy::host_of(&url)
}

// ---- tokens ----

/// A token with a caveat (JSON) appended.
#[napi]
pub fn attenuate_token(token: String, caveat: String) -> Result<String> {
    common::token::attenuate_token(&token, &caveat).or_throw()
}

/// A token's effective claims (JSON), unverified.
#[napi]
pub fn inspect_token(token: String) -> Result<String> {
    common::token::inspect_token(&token).or_throw()
}

/// Whether a scope prefix covers a resource.
#[napi]
pub fn resource_in_scope(prefix: String, resource: String) -> bool {
    common::token::resource_in_scope(&prefix, &resource)
}

/// The scope prefix of a bundle token.
#[napi]
pub fn bundle_scope(resource: String, pattern: String) -> String {
    common::token::bundle_scope(&resource, &pattern)
}

/// Whether a scope (JSON) covers `method resource`.
#[napi]
pub fn scope_allows(scope: String, method: String, resource: String) -> Result<bool> {
    common::token::scope_allows(&scope, &method, &resource).or_throw()
}

/// The claims (JSON) a bundle (JSON) sells on a rule (JSON).
#[napi]
pub fn bundle_claims(
    bundle: String,
    rule: String,
    id: String,
    issuer: String,
    payer: String,
    resource: String,
    now: f64,
) -> Result<String> {
    common::token::bundle_claims(&bundle, &rule, &id, &issuer, &payer, &resource, now).or_throw()
}

/// The SHA-256 of a token (hex).
#[napi]
pub fn token_hash(token: String) -> String {
    common::token::token_hash(&token)
}

// ---- idempotency ----

/// An idempotency key, checked.
#[napi]
pub fn validate_idempotency_key(key: String) -> Result<String> {
    common::idempotency::validate_idempotency_key(&key).or_throw()
}

/// A request's fingerprint (hex); the body as UTF-8 text or bytes.
#[napi]
pub fn fingerprint(
    method: String,
    path: String,
    body: Option<Either<String, Uint8Array>>,
) -> String {
    let body: &[u8] = match &body {
        Some(Either::A(text)) => text.as_bytes(),
        Some(Either::B(bytes)) => bytes,
        None => b"",
    };
    common::idempotency::fingerprint(&method, &path, body)
}

// ---- protocol ----

/// A JSON value (text) as a header value.
#[napi]
pub fn encode_header(value: String) -> Result<String> {
    common::protocol::encode_header(&value).or_throw()
}

/// A `PAYMENT-REQUIRED` header's 402 (JSON).
#[napi]
pub fn decode_payment_required(header_value: String, limit_bytes: Option<f64>) -> Result<String> {
    common::protocol::decode_payment_required(&header_value, limit_bytes).or_throw()
}

/// A payment header's payment (JSON).
#[napi]
pub fn decode_payment_payload(header_value: String, limit_bytes: Option<f64>) -> Result<String> {
    common::protocol::decode_payment_payload(&header_value, limit_bytes).or_throw()
}

/// A `PAYMENT-RESPONSE` header's settlement (JSON).
#[napi]
pub fn decode_payment_response(header_value: String, limit_bytes: Option<f64>) -> Result<String> {
    common::protocol::decode_payment_response(&header_value, limit_bytes).or_throw()
}

/// A 402 (JSON), checked and normalized.
#[napi]
pub fn payment_required_from_json(value: String) -> Result<String> {
    common::protocol::payment_required_from_json(&value).or_throw()
}

/// A payment (JSON), checked and normalized.
#[napi]
pub fn payment_payload_from_json(value: String) -> Result<String> {
    common::protocol::payment_payload_from_json(&value).or_throw()
}

/// A network name resolved (JSON).
#[napi]
pub fn resolve_network(name: String) -> Result<String> {
    common::protocol::resolve_network(&name).or_throw()
}

/// Whether two names are one network.
#[napi]
pub fn same_network(a: String, b: String) -> bool {
    common::protocol::same_network(&a, &b)
}

/// Whether accepted requirements match offered ones (JSON both).
#[napi]
pub fn requirements_match(accepted: String, offered: String) -> Result<bool> {
    common::protocol::requirements_match(&accepted, &offered).or_throw()
}

/// Which offer (JSON array) a payment (JSON) pays.
#[napi]
pub fn find_match(offers: String, payment: String) -> Result<u32> {
    common::protocol::find_match(&offers, &payment).or_throw()
}

/// The `/verify` and `/settle` body (JSON).
#[napi]
pub fn facilitator_request(payment: String, requirements: String) -> Result<String> {
    common::protocol::facilitator_request(&payment, &requirements).or_throw()
}

/// A `/verify` answer (JSON), checked.
#[napi]
pub fn parse_verify_response(body: String) -> Result<String> {
    common::protocol::parse_verify_response(&body).or_throw()
}

/// A `/settle` answer (JSON), checked.
#[napi]
pub fn parse_settle_response(body: String) -> Result<String> {
    common::protocol::parse_settle_response(&body).or_throw()
}

/// The options a payer of `kind` can sign.
#[napi]
pub fn payable_indexes(payment_required: String, kind: String) -> Result<Vec<u32>> {
    common::protocol::payable_indexes(&payment_required, &kind).or_throw()
}

/// The payment identifier in extensions (JSON), if any.
#[napi]
pub fn payment_identifier(extensions_value: Option<String>) -> Result<Option<String>> {
    common::protocol::payment_identifier(extensions_value.as_deref()).or_throw()
}

/// Extensions (JSON) with a payment identifier.
#[napi]
pub fn with_payment_identifier(extensions_value: Option<String>, id: String) -> Result<String> {
    common::protocol::with_payment_identifier(extensions_value.as_deref(), &id).or_throw()
}

// ---- schemes ----

/// An EIP-3009 payment verified (JSON in, JSON out).
#[napi]
pub fn verify_evm_payment(payment: String, requirements: String, now: f64) -> Result<String> {
    common::schemes::verify_evm_payment(&payment, &requirements, now).or_throw()
}

/// A 402's option paid with an EVM key (JSON).
#[napi]
pub fn sign_evm_payment(
    payment_required: String,
    index: f64,
    private_key: String,
    nonce: Uint8Array,
    now: f64,
) -> Result<String> {
    common::schemes::sign_evm_payment(&payment_required, index, &private_key, &nonce, now)
        .or_throw()
}

/// An EIP-3009 authorization (JSON) signed with an EVM key.
#[napi]
pub fn sign_evm_authorization(
    requirements: String,
    private_key: String,
    nonce: Uint8Array,
    now: f64,
) -> Result<String> {
    common::schemes::sign_evm_authorization(&requirements, &private_key, &nonce, now).or_throw()
}

/// The checksummed address of a private key.
#[napi]
pub fn evm_address(private_key: String) -> Result<String> {
    common::schemes::evm_address(&private_key).or_throw()
}

/// An address, EIP-55 checksummed.
#[napi]
pub fn checksum_address(address: String) -> Result<String> {
    common::schemes::checksum_address(&address).or_throw()
}

/// EIP-712 hashes (JSON) of an authorization under a domain (JSON both).
#[napi]
pub fn eip712_hashes(domain: String, message: String) -> Result<String> {
    common::schemes::eip712_hashes(&domain, &message).or_throw()
}

/// A 402's option paid from a ledger wallet (JSON).
#[napi]
pub fn sign_ledger_payment(
    payment_required: String,
    index: f64,
    wallet_id: String,
    secret: Uint8Array,
    nonce: Uint8Array,
    now: f64,
) -> Result<String> {
    common::schemes::sign_ledger_payment(&payment_required, index, &wallet_id, &secret, &nonce, now)
        .or_throw()
}

/// A ledger authorization (JSON).
#[napi]
pub fn sign_ledger_authorization(
    requirements: String,
    wallet_id: String,
    secret: Uint8Array,
    nonce: Uint8Array,
    now: f64,
) -> Result<String> {
    common::schemes::sign_ledger_authorization(&requirements, &wallet_id, &secret, &nonce, now)
        .or_throw()
}

/// A ledger payment verified (JSON).
#[napi]
pub fn verify_ledger_payment(
    payment: String,
    requirements: String,
    now: f64,
    secrets: String,
) -> Result<String> {
    common::schemes::verify_ledger_payment(&payment, &requirements, now, &secrets).or_throw()
}

// ---- flows ----

/// A flow's signing request (JSON) signed with an EVM key.
#[napi]
pub fn sign_request_with_evm_key(request: String, private_key: String) -> Result<String> {
    common::flow::sign_request_with_evm_key(&request, &private_key).or_throw()
}

/// A flow's signing request (JSON) signed with a wallet secret.
#[napi]
pub fn sign_request_with_wallet_secret(request: String, secret: Uint8Array) -> Result<String> {
    common::flow::sign_request_with_wallet_secret(&request, &secret).or_throw()
}

// ---- webhooks ----

fn body_bytes(body: &Either<String, Uint8Array>) -> &[u8] {
    match body {
        Either::A(text) => text.as_bytes(),
        Either::B(bytes) => bytes,
    }
}

/// The `Paywire-Signature` value for a body sent at `timestamp` under `secret`.
#[napi]
pub fn sign_webhook(
    secret: String,
    timestamp: f64,
    body: Either<String, Uint8Array>,
) -> Result<String> {
    common::webhook::sign_webhook(&secret, timestamp, body_bytes(&body)).or_throw()
}

/// Checks a `Paywire-Signature` header against the raw body; the signed timestamp.
#[napi]
pub fn verify_webhook(
    header: String,
    secret: String,
    body: Either<String, Uint8Array>,
    now: f64,
    tolerance_seconds: Option<f64>,
) -> Result<f64> {
    common::webhook::verify_webhook(&header, &secret, body_bytes(&body), now, tolerance_seconds)
        .or_throw()
}
