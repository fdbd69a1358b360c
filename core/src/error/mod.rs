//! The one error type of `paywire-core`, and the stable codes hosts match on.
//!
//! Every failure the core can report is a variant of [`Error`]. [`Error::code`] returns a
//! stable snake_case string that never changes meaning once released: bindings put it in
//! `.code`, the server puts it in `{"error": {"code": ...}}`, and tests assert it. Messages
//! (`Display`) are for people and may be reworded.
//!
//! Every code, its class and its meaning are rows of one table, [`codes`]: `code`, `class`
//! and `reason` below are produced from it, and so is the README's list of codes.

pub mod codes;
pub mod denial;
pub mod reason;

pub use codes::{code, Code, Family, ERROR_CODES, TABLE};
pub use denial::DenyReason;
pub use reason::Reason;

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
    /// A payment presented again after its answer was delivered as often as a paywall allows.
    #[error("payment already delivered: {0}")]
    PaymentAlreadyDelivered(String),
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
            ErrorClass::TokenMalformed => code::error::TokenMalformed,
            ErrorClass::TokenRejected => "token_rejected",
            ErrorClass::Conflict => "conflict",
            ErrorClass::NotFound => "not_found",
            ErrorClass::Unavailable => "unavailable",
        }
    }
}

impl Error {
    /// The x402 reason a facilitator answers this error with (`invalidReason`,
    /// `errorReason`): a payment's own reason, the spec's code where one exists, else this
    /// error's code, kept verbatim (clients accept any string).
    pub fn reason(&self) -> Reason {
        match self {
            Error::PaymentInvalid { reason, .. } => reason.clone(),
            // `invalid_payload` and `invalid_x402_version` are reasons too; any other code is
            // kept verbatim.
            other => Reason::parse(other.code()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
            Error::PaymentAlreadyDelivered("x".into()),
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
            ErrorClass::of_code(DenyReason::HostNotAllowed.code()).as_str(),
            "policy_denied"
        );
        assert_eq!(
            ErrorClass::of_code("something_new"),
            ErrorClass::InvalidInput
        );
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
        // An error whose code is also a reason answers with that reason; others keep their own
        // code verbatim.
        assert_eq!(
            Error::InvalidPayload("x".into()).reason(),
            Reason::InvalidPayload
        );
        assert_eq!(
            Error::InvalidX402Version(3).reason(),
            Reason::InvalidX402Version
        );
        let identifier = Error::PaymentIdentifierInvalid("x".into());
        assert_eq!(
            identifier.reason(),
            Reason::Other(identifier.code().to_string())
        );
    }

    #[test]
    fn policy_denial_and_payment_reasons_surface_their_own_codes() {
        assert_eq!(
            Error::PolicyDenied(DenyReason::DailyLimitExceeded).code(),
            DenyReason::DailyLimitExceeded.code()
        );
        assert_eq!(
            Error::payment_invalid(Reason::InvalidExactEvmSignature, "x").code(),
            Reason::InvalidExactEvmSignature.as_str()
        );
        assert_eq!(
            Error::InvalidPayload("x".into()).code(),
            Reason::InvalidPayload.as_str()
        );
    }
}
