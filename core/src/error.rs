//! The one error type of `paywire-core`, and the stable codes hosts match on.
//!
//! Every failure the core can report is a variant of [`Error`]. [`Error::code`] returns a
//! stable snake_case string that never changes meaning once released: bindings put it in
//! `.code`, the server puts it in `{"error": {"code": ...}}`, and tests assert it. Messages
//! (`Display`) are for people and may be reworded.
//!
//! # Codes
//!
//! | code | meaning |
//! | --- | --- |
//! | `amount_invalid` | not a decimal number in the accepted grammar |
//! | `amount_negative` | a negative amount where only non-negative ones make sense |
//! | `amount_overflow` | the amount does not fit (u128 atomic units, or a `Decimal`) |
//! | `amount_too_precise` | more fractional digits than the asset has decimals |
//! | `asset_invalid` | an asset definition is unusable (e.g. more than 28 decimals) |
//! | `asset_unknown` | no asset with that network and address is known |
//! | `pricing_no_route` | no price rule matches the request's method and path |
//! | `pricing_rule_invalid` | a price rule is inconsistent (unordered tiers, bad pattern, ...) |
//! | `pricing_fee_invalid` | a platform fee above 10 000 basis points |
//! | `path_ambiguous` | a request path whose spelling (dot segments, escapes) reaches another price rule than its canonical form |
//! | `policy_invalid` | a spending policy is inconsistent (zero velocity window, ...) |
//! | `policy_*` | a payment the policy denies; see [`crate::policy::DenyReason`] |
//! | `token_malformed` | the token is not in the `pw1` format |
//! | `token_signature_invalid` | the MAC chain does not verify |
//! | `token_unknown_kid` | no key (or only a retired one) under the token's key id |
//! | `token_expired` | `now` is at or past the (narrowest) expiry |
//! | `token_not_yet_valid` | `now` is before the token's issue time or a not-before caveat |
//! | `token_scope_mismatch` | the request's method or resource is outside the scope |
//! | `token_uses_exhausted` | the token has been used as many times as it allows |
//! | `token_caveat_widens` | an attenuation tried to widen the token; attenuation only narrows |
//! | `token_claims_invalid` | claims that cannot be issued (expiry before issue, empty id, ...) |
//! | `token_key_invalid` | a key ring entry that cannot be used (short key, duplicate kid, ...) |
//! | `idempotency_key_invalid` | not 1–255 printable ASCII characters |
//! | `idempotency_key_reused` | the key was used before for a different request |
//! | `idempotency_in_progress` | the first request under this key has not finished |
//! | `idempotency_not_started` | `complete` for a key that is not in progress |
//! | `idempotency_store_full` | the bounded store holds only in-progress records |
//! | `header_too_large` | an x402 header longer than the configured limit |
//! | `header_malformed` | not standard base64 of UTF-8 |
//! | `invalid_payload` | JSON that does not have the x402 shape (also the x402 reason code) |
//! | `payment_rejected` | a provider refused a signed payment; its 402 names the reason (host clients) |
//! | `facilitator_unavailable` | the facilitator was unreachable or answered garbage; nothing was settled (host paywalls) |
//! | `invalid_argument` | a binding's argument of the wrong type or range (e.g. a fractional `now`) |
//! | `invalid_x402_version` | an `x402Version` other than 1 or 2 (also the x402 reason code) |
//! | `network_invalid` | not a CAIP-2 chain id, nor a known v1 network name |
//! | `network_unknown` | a syntactically valid network this table does not know |
//! | `payment_requirements_mismatch` | the payload matches none of the offered requirements |
//! | `payment_identifier_invalid` | a `payment-identifier` id outside 16–128 of `[A-Za-z0-9_-]` |
//! | `wallet_secret_invalid` | a ledger wallet secret shorter than 16 bytes or not hex |
//! | `evm_address_invalid` | not `0x` followed by 40 hex digits |
//! | `evm_address_checksum_invalid` | a mixed-case address whose EIP-55 checksum is wrong |
//! | `evm_private_key_invalid` | not a secp256k1 private key (32 bytes, 1 ≤ k < n) |
//! | `webhook_signature_malformed` | a `Paywire-Signature` header not in the `t=…,v1=…` format |
//! | `webhook_signature_invalid` | no `v1=` entry is the body's MAC under the endpoint's secret |
//! | `webhook_timestamp_outside_tolerance` | a webhook signed too long ago (or too far ahead) |
//! | x402 reason codes | a payment that does not verify; see [`crate::protocol::Reason`] |

use crate::denial::DenyReason;
use crate::reason::Reason;

/// A `Result` whose error is the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `paywire-core`. Match on [`Error::code`] across languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not an amount in the accepted grammar.
    #[error("invalid amount: {0}")]
    AmountInvalid(String),
    /// A negative amount.
    #[error("amount must not be negative")]
    AmountNegative,
    /// The amount does not fit the representation.
    #[error("amount overflows its representation")]
    AmountOverflow,
    /// More fractional digits than the asset's decimals.
    #[error("amount has more than {decimals} fractional digits")]
    AmountTooPrecise {
        /// The asset's number of decimals.
        decimals: u8,
    },
    /// An unusable asset definition.
    #[error("invalid asset: {0}")]
    AssetInvalid(String),
    /// An asset this registry does not know.
    #[error("unknown asset {asset} on {network}")]
    AssetUnknown {
        /// The network the asset was looked up on.
        network: String,
        /// The asset address or code.
        asset: String,
    },
    /// No price rule matches.
    #[error("no price rule matches {method} {path}")]
    PricingNoRoute {
        /// The request's HTTP method.
        method: String,
        /// The request's path.
        path: String,
    },
    /// An inconsistent price rule.
    #[error("invalid price rule: {0}")]
    PricingRuleInvalid(String),
    /// A path that reaches one rule as written and another in canonical form.
    #[error(
        "the path {0:?} reaches another price rule once its dot segments and escapes are resolved"
    )]
    PathAmbiguous(String),
    /// A platform fee above 100 %.
    #[error("platform fee {0} bps exceeds 10000")]
    PricingFeeInvalid(u32),
    /// An inconsistent spending policy.
    #[error("invalid policy: {0}")]
    PolicyInvalid(String),
    /// The spending policy denies the payment.
    #[error("payment denied by policy: {0}")]
    PolicyDenied(DenyReason),
    /// The token is not in the expected format.
    #[error("malformed token: {0}")]
    TokenMalformed(String),
    /// The token's MAC chain does not verify.
    #[error("token signature is invalid")]
    TokenSignatureInvalid,
    /// No (unretired) key under the token's key id.
    #[error("unknown token key id {0:?}")]
    TokenUnknownKid(String),
    /// The token has expired.
    #[error("token expired at {expired_at}")]
    TokenExpired {
        /// Unix seconds at which it stopped being valid.
        expired_at: u64,
    },
    /// The token is not valid yet.
    #[error("token not valid before {valid_from}")]
    TokenNotYetValid {
        /// Unix seconds from which it is valid.
        valid_from: u64,
    },
    /// The request is outside the token's scope.
    #[error("token does not cover this request: {0}")]
    TokenScopeMismatch(String),
    /// The token's uses are spent.
    #[error("token used {used} of {max_uses} times")]
    TokenUsesExhausted {
        /// Uses so far.
        used: u64,
        /// Uses allowed.
        max_uses: u64,
    },
    /// An attenuation that would widen the token.
    #[error("caveat would widen the token: {0}")]
    TokenCaveatWidens(String),
    /// Claims that cannot be issued.
    #[error("invalid token claims: {0}")]
    TokenClaimsInvalid(String),
    /// An unusable key ring entry.
    #[error("invalid token key: {0}")]
    TokenKeyInvalid(String),
    /// An idempotency key outside 1–255 printable ASCII characters.
    #[error("invalid idempotency key: {0}")]
    IdempotencyKeyInvalid(String),
    /// The key was used for a different request.
    #[error("idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    /// The first request under this key is still running.
    #[error("a request with this idempotency key is still in progress")]
    IdempotencyInProgress,
    /// `complete` without a matching `begin`.
    #[error("no request in progress under this idempotency key")]
    IdempotencyNotStarted,
    /// The bounded in-memory store is full of in-progress records.
    #[error("idempotency store is full ({capacity} records in progress)")]
    IdempotencyStoreFull {
        /// The store's capacity.
        capacity: usize,
    },
    /// A header above the size limit.
    #[error("header is {len} bytes, the limit is {limit}")]
    HeaderTooLarge {
        /// The header's length in bytes.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A header that is not standard base64 of UTF-8.
    #[error("malformed header: {0}")]
    HeaderMalformed(String),
    /// JSON without the x402 shape.
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// A provider refused a signed payment (a host's paying client reports this; the
    /// provider's 402 names the reason).
    #[error("payment rejected: {0}")]
    PaymentRejected(String),
    /// The facilitator could not be reached or gave no usable answer; nothing was settled.
    #[error("facilitator unavailable: {0}")]
    FacilitatorUnavailable(String),
    /// A binding's argument of the wrong type or out of range (a time that is not a whole
    /// number of seconds, an object where a string belongs, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An unsupported `x402Version`.
    #[error("unsupported x402Version {0}")]
    InvalidX402Version(u64),
    /// Not a CAIP-2 chain id or v1 network name.
    #[error("invalid network {0:?}")]
    NetworkInvalid(String),
    /// A network the table does not know.
    #[error("unknown network {0:?}")]
    NetworkUnknown(String),
    /// The payment matches none of the offered requirements.
    #[error("payment does not match any offered requirements")]
    PaymentRequirementsMismatch,
    /// A `payment-identifier` outside the extension's grammar.
    #[error("invalid payment identifier: {0}")]
    PaymentIdentifierInvalid(String),
    /// An unusable ledger wallet secret.
    #[error("invalid wallet secret: {0}")]
    WalletSecretInvalid(String),
    /// Not an EVM address.
    #[error("invalid EVM address {0:?}")]
    EvmAddressInvalid(String),
    /// A mixed-case address with a wrong EIP-55 checksum.
    #[error("EVM address {0:?} has a wrong EIP-55 checksum")]
    EvmAddressChecksumInvalid(String),
    /// Not a usable secp256k1 private key.
    #[error("invalid private key: {0}")]
    EvmPrivateKeyInvalid(String),
    /// A webhook signature header not in the `t=…,v1=…` format.
    #[error("malformed webhook signature: {0}")]
    WebhookSignatureMalformed(String),
    /// A webhook whose body is not what its sender signed with the endpoint's secret.
    #[error("webhook signature does not match the body")]
    WebhookSignatureInvalid,
    /// A webhook signed outside the receiver's tolerance window.
    #[error("webhook signed at {timestamp}, now is {now}, tolerance {tolerance_seconds} s")]
    WebhookTimestampOutsideTolerance {
        /// The signed timestamp.
        timestamp: u64,
        /// The receiver's clock.
        now: u64,
        /// The allowed difference.
        tolerance_seconds: u64,
    },
    /// A payment that does not verify, with its x402 reason.
    #[error("payment invalid ({reason}): {message}")]
    PaymentInvalid {
        /// The x402 reason code.
        reason: Reason,
        /// What exactly failed.
        message: String,
    },
}

/// What kind of failure an error is — what a host does about it (an HTTP server maps each
/// class to one status, in one table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The input is malformed or out of range (an amount, a header, a configuration).
    InvalidInput,
    /// A payment that does not verify; [`Error::reason`] is its x402 reason.
    PaymentInvalid,
    /// The spending policy refuses.
    PolicyDenied,
    /// A token that is not in the token format at all.
    TokenMalformed,
    /// A well-formed token that does not authorize the request.
    TokenRejected,
    /// The request conflicts with an earlier one (idempotency).
    Conflict,
    /// Nothing answers to the request (no price rule matches it).
    NotFound,
    /// A service the operation needs is unavailable or full; retrying later may work.
    Unavailable,
}

impl ErrorClass {
    /// The class's stable snake_case name (`invalid_input`, `payment_invalid`, ...), as
    /// bindings name their exception types by it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::InvalidInput => "invalid_input",
            ErrorClass::PaymentInvalid => "payment_invalid",
            ErrorClass::PolicyDenied => "policy_denied",
            ErrorClass::TokenMalformed => "token_malformed",
            ErrorClass::TokenRejected => "token_rejected",
            ErrorClass::Conflict => "conflict",
            ErrorClass::NotFound => "not_found",
            ErrorClass::Unavailable => "unavailable",
        }
    }

    /// The class of an error known only by its code (a flow's refusal carries the code): a
    /// policy denial code, an x402 payment reason, or one of [`ERROR_CODES`]. An unknown code
    /// is `InvalidInput`.
    pub fn of_code(code: &str) -> ErrorClass {
        if DenyReason::ALL.iter().any(|r| r.code() == code) {
            return ErrorClass::PolicyDenied;
        }
        match code {
            "payment_rejected" => ErrorClass::PaymentInvalid,
            "token_malformed" => ErrorClass::TokenMalformed,
            "token_signature_invalid"
            | "token_unknown_kid"
            | "token_expired"
            | "token_not_yet_valid"
            | "token_scope_mismatch"
            | "token_uses_exhausted" => ErrorClass::TokenRejected,
            "idempotency_key_reused" | "idempotency_in_progress" | "idempotency_not_started" => {
                ErrorClass::Conflict
            }
            "pricing_no_route" => ErrorClass::NotFound,
            "idempotency_store_full" | "facilitator_unavailable" => ErrorClass::Unavailable,
            "invalid_payload" | "invalid_x402_version" => ErrorClass::InvalidInput,
            code if ERROR_CODES.contains(&code) => ErrorClass::InvalidInput,
            code if Reason::KNOWN.contains(&code) => ErrorClass::PaymentInvalid,
            _ => ErrorClass::InvalidInput,
        }
    }
}

impl Error {
    /// The class of this error (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::PolicyDenied(_) => ErrorClass::PolicyDenied,
            Error::PaymentInvalid { .. } | Error::PaymentRejected(_) => ErrorClass::PaymentInvalid,
            Error::TokenMalformed(_) => ErrorClass::TokenMalformed,
            Error::TokenSignatureInvalid
            | Error::TokenUnknownKid(_)
            | Error::TokenExpired { .. }
            | Error::TokenNotYetValid { .. }
            | Error::TokenScopeMismatch(_)
            | Error::TokenUsesExhausted { .. } => ErrorClass::TokenRejected,
            Error::IdempotencyKeyReused
            | Error::IdempotencyInProgress
            | Error::IdempotencyNotStarted => ErrorClass::Conflict,
            Error::PricingNoRoute { .. } => ErrorClass::NotFound,
            Error::IdempotencyStoreFull { .. } | Error::FacilitatorUnavailable(_) => {
                ErrorClass::Unavailable
            }
            Error::AmountInvalid(_)
            | Error::AmountNegative
            | Error::AmountOverflow
            | Error::AmountTooPrecise { .. }
            | Error::AssetInvalid(_)
            | Error::AssetUnknown { .. }
            | Error::PricingRuleInvalid(_)
            | Error::PricingFeeInvalid(_)
            | Error::PathAmbiguous(_)
            | Error::PolicyInvalid(_)
            | Error::TokenCaveatWidens(_)
            | Error::TokenClaimsInvalid(_)
            | Error::TokenKeyInvalid(_)
            | Error::IdempotencyKeyInvalid(_)
            | Error::HeaderTooLarge { .. }
            | Error::HeaderMalformed(_)
            | Error::InvalidPayload(_)
            | Error::InvalidArgument(_)
            | Error::InvalidX402Version(_)
            | Error::NetworkInvalid(_)
            | Error::NetworkUnknown(_)
            | Error::PaymentRequirementsMismatch
            | Error::PaymentIdentifierInvalid(_)
            | Error::WalletSecretInvalid(_)
            | Error::EvmAddressInvalid(_)
            | Error::EvmAddressChecksumInvalid(_)
            | Error::EvmPrivateKeyInvalid(_)
            | Error::WebhookSignatureMalformed(_)
            | Error::WebhookSignatureInvalid
            | Error::WebhookTimestampOutsideTolerance { .. } => ErrorClass::InvalidInput,
        }
    }

    /// The x402 reason a facilitator answers this error with (`invalidReason`,
    /// `errorReason`): a payment's own reason, the spec's code where one exists, else this
    /// error's code, kept verbatim (clients accept any string).
    pub fn reason(&self) -> Reason {
        match self {
            Error::PaymentInvalid { reason, .. } => reason.clone(),
            Error::InvalidPayload(_) => Reason::InvalidPayload,
            Error::InvalidX402Version(_) => Reason::InvalidX402Version,
            other => Reason::Other(other.code().to_string()),
        }
    }

    /// The stable snake_case code of this error. See the module documentation for the list.
    pub fn code(&self) -> &str {
        match self {
            Error::AmountInvalid(_) => "amount_invalid",
            Error::AmountNegative => "amount_negative",
            Error::AmountOverflow => "amount_overflow",
            Error::AmountTooPrecise { .. } => "amount_too_precise",
            Error::AssetInvalid(_) => "asset_invalid",
            Error::AssetUnknown { .. } => "asset_unknown",
            Error::PricingNoRoute { .. } => "pricing_no_route",
            Error::PricingRuleInvalid(_) => "pricing_rule_invalid",
            Error::PricingFeeInvalid(_) => "pricing_fee_invalid",
            Error::PathAmbiguous(_) => "path_ambiguous",
            Error::PolicyInvalid(_) => "policy_invalid",
            Error::PolicyDenied(reason) => reason.code(),
            Error::TokenMalformed(_) => "token_malformed",
            Error::TokenSignatureInvalid => "token_signature_invalid",
            Error::TokenUnknownKid(_) => "token_unknown_kid",
            Error::TokenExpired { .. } => "token_expired",
            Error::TokenNotYetValid { .. } => "token_not_yet_valid",
            Error::TokenScopeMismatch(_) => "token_scope_mismatch",
            Error::TokenUsesExhausted { .. } => "token_uses_exhausted",
            Error::TokenCaveatWidens(_) => "token_caveat_widens",
            Error::TokenClaimsInvalid(_) => "token_claims_invalid",
            Error::TokenKeyInvalid(_) => "token_key_invalid",
            Error::IdempotencyKeyInvalid(_) => "idempotency_key_invalid",
            Error::IdempotencyKeyReused => "idempotency_key_reused",
            Error::IdempotencyInProgress => "idempotency_in_progress",
            Error::IdempotencyNotStarted => "idempotency_not_started",
            Error::IdempotencyStoreFull { .. } => "idempotency_store_full",
            Error::HeaderTooLarge { .. } => "header_too_large",
            Error::HeaderMalformed(_) => "header_malformed",
            Error::InvalidPayload(_) => "invalid_payload",
            Error::InvalidArgument(_) => "invalid_argument",
            Error::PaymentRejected(_) => "payment_rejected",
            Error::FacilitatorUnavailable(_) => "facilitator_unavailable",
            Error::InvalidX402Version(_) => "invalid_x402_version",
            Error::NetworkInvalid(_) => "network_invalid",
            Error::NetworkUnknown(_) => "network_unknown",
            Error::PaymentRequirementsMismatch => "payment_requirements_mismatch",
            Error::PaymentIdentifierInvalid(_) => "payment_identifier_invalid",
            Error::WalletSecretInvalid(_) => "wallet_secret_invalid",
            Error::EvmAddressInvalid(_) => "evm_address_invalid",
            Error::EvmAddressChecksumInvalid(_) => "evm_address_checksum_invalid",
            Error::EvmPrivateKeyInvalid(_) => "evm_private_key_invalid",
            Error::WebhookSignatureMalformed(_) => "webhook_signature_malformed",
            Error::WebhookSignatureInvalid => "webhook_signature_invalid",
            Error::WebhookTimestampOutsideTolerance { .. } => "webhook_timestamp_outside_tolerance",
            Error::PaymentInvalid { reason, .. } => reason.as_str(),
        }
    }

    /// A payment-verification failure with its x402 reason code.
    pub fn payment_invalid(reason: Reason, message: impl Into<String>) -> Self {
        Error::PaymentInvalid {
            reason,
            message: message.into(),
        }
    }
}

impl From<DenyReason> for Error {
    fn from(reason: DenyReason) -> Self {
        Error::PolicyDenied(reason)
    }
}

/// Keeps error messages bounded when a caller hands us a megabyte of garbage: at most 64
/// characters of `text`.
pub(crate) fn truncate_for_message(text: &str) -> &str {
    match text.char_indices().nth(64) {
        Some((index, _)) => &text[..index],
        None => text,
    }
}

/// Every fixed code [`Error::code`] can return, excluding the policy and x402 reason families,
/// which are listed by [`DenyReason::ALL`] and [`Reason::KNOWN`]. Kept in step with the module
/// documentation by a test.
pub const ERROR_CODES: &[&str] = &[
    "amount_invalid",
    "amount_negative",
    "amount_overflow",
    "amount_too_precise",
    "asset_invalid",
    "asset_unknown",
    "pricing_no_route",
    "pricing_rule_invalid",
    "pricing_fee_invalid",
    "path_ambiguous",
    "policy_invalid",
    "token_malformed",
    "token_signature_invalid",
    "token_unknown_kid",
    "token_expired",
    "token_not_yet_valid",
    "token_scope_mismatch",
    "token_uses_exhausted",
    "token_caveat_widens",
    "token_claims_invalid",
    "token_key_invalid",
    "idempotency_key_invalid",
    "idempotency_key_reused",
    "idempotency_in_progress",
    "idempotency_not_started",
    "idempotency_store_full",
    "header_too_large",
    "header_malformed",
    "invalid_payload",
    "invalid_argument",
    "payment_rejected",
    "facilitator_unavailable",
    "invalid_x402_version",
    "network_invalid",
    "network_unknown",
    "payment_requirements_mismatch",
    "payment_identifier_invalid",
    "wallet_secret_invalid",
    "evm_address_invalid",
    "evm_address_checksum_invalid",
    "evm_private_key_invalid",
    "webhook_signature_malformed",
    "webhook_signature_invalid",
    "webhook_timestamp_outside_tolerance",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_code_is_documented_in_the_module_table() {
        let doc = include_str!("error.rs");
        for code in ERROR_CODES {
            assert!(
                doc.contains(&format!("//! | `{code}` |")),
                "{code} is missing from the documented code table"
            );
        }
    }

    #[test]
    fn the_class_of_a_code_is_the_class_of_its_error() {
        let samples = [
            Error::AmountInvalid("x".into()),
            Error::AmountOverflow,
            Error::PricingNoRoute {
                method: "GET".into(),
                path: "/".into(),
            },
            Error::PolicyInvalid("x".into()),
            Error::PolicyDenied(DenyReason::DailyLimitExceeded),
            Error::TokenMalformed("x".into()),
            Error::TokenSignatureInvalid,
            Error::TokenExpired { expired_at: 1 },
            Error::TokenCaveatWidens("x".into()),
            Error::IdempotencyKeyReused,
            Error::IdempotencyStoreFull { capacity: 1 },
            Error::HeaderMalformed("x".into()),
            Error::InvalidPayload("x".into()),
            Error::InvalidArgument("x".into()),
            Error::PaymentRejected("x".into()),
            Error::FacilitatorUnavailable("x".into()),
            Error::InvalidX402Version(3),
            Error::payment_invalid(Reason::InvalidExactEvmSignature, "x"),
        ];
        for error in samples {
            assert_eq!(
                ErrorClass::of_code(error.code()),
                error.class(),
                "{}",
                error.code()
            );
        }
        assert_eq!(
            ErrorClass::of_code("policy_host_not_allowed").as_str(),
            "policy_denied"
        );
        assert_eq!(
            ErrorClass::of_code("something_new"),
            ErrorClass::InvalidInput
        );
    }

    #[test]
    fn codes_are_snake_case_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ERROR_CODES {
            assert!(code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()));
            assert!(seen.insert(code), "duplicate code {code}");
        }
    }

    #[test]
    fn classes_and_reasons() {
        assert_eq!(
            Error::PolicyDenied(DenyReason::DailyLimitExceeded).class(),
            ErrorClass::PolicyDenied
        );
        assert_eq!(
            Error::TokenExpired { expired_at: 1 }.class(),
            ErrorClass::TokenRejected
        );
        assert_eq!(
            Error::TokenMalformed("x".into()).class(),
            ErrorClass::TokenMalformed
        );
        assert_eq!(Error::IdempotencyKeyReused.class(), ErrorClass::Conflict);
        assert_eq!(Error::AmountOverflow.class(), ErrorClass::InvalidInput);
        let invalid = Error::payment_invalid(Reason::InvalidExactEvmSignature, "x");
        assert_eq!(
            (invalid.class(), invalid.reason()),
            (ErrorClass::PaymentInvalid, Reason::InvalidExactEvmSignature)
        );
        assert_eq!(
            Error::InvalidPayload("x".into()).reason(),
            Reason::InvalidPayload
        );
        assert_eq!(
            Error::PaymentIdentifierInvalid("x".into())
                .reason()
                .as_str(),
            "payment_identifier_invalid"
        );
    }

    #[test]
    fn policy_denial_and_payment_reasons_surface_their_own_codes() {
        assert_eq!(
            Error::PolicyDenied(DenyReason::DailyLimitExceeded).code(),
            "policy_daily_limit_exceeded"
        );
        assert_eq!(
            Error::payment_invalid(Reason::InvalidExactEvmSignature, "x").code(),
            "invalid_exact_evm_signature"
        );
    }
}
