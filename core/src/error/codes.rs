//! The one table of codes: every stable code the core reports, each written once, with its
//! class and what it means.
//!
//! Three families share the table, each in its own section:
//!
//! - **errors**: the codes of [`Error`]'s own variants. `Error::code`, `Error::class`,
//!   `Error::reason`, [`ErrorClass::of_code`] and [`ERROR_CODES`] are produced from it; a
//!   variant without a row does not compile.
//! - **denials**: why a spending policy refuses a payment ([`DenyReason`], `policy_*`),
//!   carried by [`Error::PolicyDenied`].
//! - **reasons**: the x402 reason codes of a payment that does not verify or settle
//!   ([`Reason`]), carried by [`Error::PaymentInvalid`]. Paywire emits the codes of the
//!   official TypeScript and Go facilitators, so clients built on Coinbase's SDKs read them
//!   unchanged. The ledger scheme deliberately reuses the EVM `exact` codes: it has the same
//!   authorization fields and check order, and a client that understands one understands both.
//!
//! [`TABLE`] lists every row with its family, class and meaning; `cargo run -p paywire-vectors`
//! writes the README's code list from it.

use super::{Error, ErrorClass};

/// Which section of the table a code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// A variant of [`Error`] with a code of its own.
    Error,
    /// A policy denial ([`DenyReason`]), carried by [`Error::PolicyDenied`].
    Policy,
    /// An x402 reason ([`Reason`]), carried by [`Error::PaymentInvalid`].
    Reason,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The stable snake_case code.
    pub code: &'static str,
    /// Its section.
    pub family: Family,
    /// The class a host treats it as ([`ErrorClass::of_code`] of the code).
    pub class: ErrorClass,
    /// What it means, in one line.
    pub doc: &'static str,
}

/// Produces, from the three sections: the [`Reason`] and [`DenyReason`] enums with their
/// codes, the codes and classes of [`Error`]'s variants, [`ErrorClass::of_code`],
/// [`ERROR_CODES`] and [`TABLE`].
macro_rules! code_table {
    (
        errors {
            $( $error:ident => $error_code:expr, $class:ident, $error_doc:literal; )*
        }
        denials {
            $( $denial:ident => $denial_code:literal, $denial_doc:literal; )*
        }
        reasons {
            $( $reason:ident => $reason_code:literal, $reason_doc:literal; )*
        }
    ) => {
        /// Why a policy refuses a payment. Each reason has a stable `policy_*` code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(into = "&'static str", try_from = "String")]
        #[non_exhaustive]
        pub enum DenyReason {
            $( #[doc = $denial_doc] $denial, )*
        }

        impl DenyReason {
            /// Every reason, in evaluation order.
            pub const ALL: &'static [DenyReason] = &[$(DenyReason::$denial),*];

            /// The stable code.
            pub const fn code(self) -> &'static str {
                match self {
                    $( DenyReason::$denial => $denial_code, )*
                }
            }
        }

        /// A reason code, as carried in `invalidReason` and `errorReason`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $( #[doc = $reason_doc] $reason, )*
            /// A code this table does not know, kept verbatim.
            Other(String),
        }

        impl Reason {
            /// Every code this table knows.
            pub const KNOWN: &'static [&'static str] = &[$($reason_code),*];

            /// The wire code.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Reason::$reason => $reason_code, )*
                    Reason::Other(code) => code,
                }
            }

            /// Parses any code; unknown ones become [`Reason::Other`].
            pub fn parse(code: &str) -> Reason {
                match code {
                    $( $reason_code => Reason::$reason, )*
                    other => Reason::Other(other.to_string()),
                }
            }
        }

        /// Every code as a constant named after the variant that carries it, one module per
        /// section: for matching a code a host received (`code::policy::DailyLimitExceeded`)
        /// without spelling the string a second time.
        #[allow(non_upper_case_globals)]
        pub mod code {
            /// The codes of [`Error`](super::Error)'s own variants.
            pub mod error {
                $( #[doc = $error_doc] pub const $error: &str = $error_code; )*
            }
            /// The policy denial codes ([`DenyReason`](super::DenyReason)).
            pub mod policy {
                $( #[doc = $denial_doc] pub const $denial: &str = $denial_code; )*
            }
            /// The x402 reason codes ([`Reason`](super::Reason)).
            pub mod reason {
                $( #[doc = $reason_doc] pub const $reason: &str = $reason_code; )*
            }
        }

        impl Error {
            /// The stable snake_case code of this error: the table's row of its variant, or
            /// the code of the denial or payment reason it carries.
            pub fn code(&self) -> &str {
                match self {
                    Error::PolicyDenied(denial) => denial.code(),
                    Error::PaymentInvalid { reason, .. } => reason.as_str(),
                    $( Error::$error { .. } => $error_code, )*
                }
            }

            /// The class of this error (see [`ErrorClass`]).
            pub fn class(&self) -> ErrorClass {
                match self {
                    Error::PolicyDenied(_) => ErrorClass::PolicyDenied,
                    Error::PaymentInvalid { .. } => ErrorClass::PaymentInvalid,
                    $( Error::$error { .. } => ErrorClass::$class, )*
                }
            }
        }

        impl ErrorClass {
            /// The class of an error known only by its code (a flow's refusal carries the
            /// code): a policy denial code, one of [`ERROR_CODES`], or an x402 payment reason.
            /// An unknown code is `InvalidInput`.
            pub fn of_code(code: &str) -> ErrorClass {
                if DenyReason::ALL.iter().any(|denial| denial.code() == code) {
                    return ErrorClass::PolicyDenied;
                }
                $( if code == $error_code { return ErrorClass::$class; } )*
                if Reason::KNOWN.contains(&code) {
                    return ErrorClass::PaymentInvalid;
                }
                ErrorClass::InvalidInput
            }
        }

        /// Every code of [`Error`]'s own variants: the codes [`Error::code`] returns beside
        /// the policy and x402 reason families ([`DenyReason::ALL`], [`Reason::KNOWN`]).
        pub const ERROR_CODES: &[&str] = &[$($error_code),*];

        /// Every row of the table, section by section.
        pub const TABLE: &[Code] = &[
            $( Code { code: $error_code, family: Family::Error, class: ErrorClass::$class, doc: $error_doc }, )*
            $( Code { code: $denial_code, family: Family::Policy, class: ErrorClass::PolicyDenied, doc: $denial_doc }, )*
            $( Code { code: $reason_code, family: Family::Reason, class: ErrorClass::PaymentInvalid, doc: $reason_doc }, )*
        ];
    };
}

code_table! {
    errors {
        AmountInvalid => "amount_invalid", InvalidInput, "Not a decimal number in the accepted grammar.";
        AmountNegative => "amount_negative", InvalidInput, "A negative amount where only non-negative ones make sense.";
        AmountOverflow => "amount_overflow", InvalidInput, "The amount does not fit (u128 atomic units, or a `Decimal`).";
        AmountTooPrecise => "amount_too_precise", InvalidInput, "More fractional digits than the asset has decimals.";
        AssetInvalid => "asset_invalid", InvalidInput, "An asset definition is unusable (e.g. more than 28 decimals).";
        AssetUnknown => "asset_unknown", InvalidInput, "No asset with that network and address is known.";
        PricingNoRoute => "pricing_no_route", NotFound, "No price rule matches the request's method and path.";
        PricingRuleInvalid => "pricing_rule_invalid", InvalidInput, "A price rule is inconsistent (unordered tiers, bad pattern, ...).";
        PricingFeeInvalid => "pricing_fee_invalid", InvalidInput, "A platform fee above 10 000 basis points.";
        PathAmbiguous => "path_ambiguous", InvalidInput, "A request path whose spelling (dot segments, escapes) reaches another price rule than its canonical form.";
        PolicyInvalid => "policy_invalid", InvalidInput, "A spending policy is inconsistent (zero velocity window, ...).";
        TokenMalformed => "token_malformed", TokenMalformed, "The token is not in the `pw1` format.";
        TokenSignatureInvalid => "token_signature_invalid", TokenRejected, "The MAC chain does not verify.";
        TokenUnknownKid => "token_unknown_kid", TokenRejected, "No key (or only a retired one) under the token's key id.";
        TokenExpired => "token_expired", TokenRejected, "`now` is at or past the (narrowest) expiry.";
        TokenNotYetValid => "token_not_yet_valid", TokenRejected, "`now` is before the token's issue time or a not-before caveat.";
        TokenScopeMismatch => "token_scope_mismatch", TokenRejected, "The request's method, resource or price rule is outside the scope.";
        TokenUsesExhausted => "token_uses_exhausted", TokenRejected, "The token has been used as many times as it allows.";
        TokenCaveatWidens => "token_caveat_widens", InvalidInput, "An attenuation tried to widen the token; attenuation only narrows.";
        TokenClaimsInvalid => "token_claims_invalid", InvalidInput, "Claims that cannot be issued (expiry before issue, empty id, ...).";
        TokenKeyInvalid => "token_key_invalid", InvalidInput, "A key ring entry that cannot be used (short key, duplicate kid, ...).";
        IdempotencyKeyInvalid => "idempotency_key_invalid", InvalidInput, "Not 1–255 printable ASCII characters.";
        IdempotencyKeyReused => "idempotency_key_reused", Conflict, "The key was used before for a different request.";
        IdempotencyInProgress => "idempotency_in_progress", Conflict, "The first request under this key has not finished.";
        IdempotencyNotStarted => "idempotency_not_started", Conflict, "`complete` for a key that is not in progress.";
        IdempotencyStoreFull => "idempotency_store_full", Unavailable, "The bounded store holds only in-progress records.";
        HeaderTooLarge => "header_too_large", InvalidInput, "An x402 header longer than the configured limit.";
        HeaderMalformed => "header_malformed", InvalidInput, "Not standard base64 of UTF-8.";
        InvalidPayload => crate::error::code::reason::InvalidPayload, InvalidInput, "JSON that does not have the x402 shape (also the x402 reason code).";
        PaymentRejected => "payment_rejected", PaymentInvalid, "A provider refused a signed payment; its 402 names the reason (host clients).";
        FacilitatorUnavailable => "facilitator_unavailable", Unavailable, "The facilitator was unreachable or answered garbage; nothing was settled (host paywalls).";
        PaymentAlreadyDelivered => "payment_already_delivered", PaymentInvalid, "A payment presented again after a paywall delivered its answer twice (once, and one re-send of a lost answer); not charged again (host paywalls).";
        InvalidArgument => "invalid_argument", InvalidInput, "A binding's argument of the wrong type or range (e.g. a fractional `now`).";
        InvalidX402Version => crate::error::code::reason::InvalidX402Version, InvalidInput, "An `x402Version` other than 1 or 2 (also the x402 reason code).";
        NetworkInvalid => "network_invalid", InvalidInput, "Not a CAIP-2 chain id, nor a known v1 network name.";
        NetworkUnknown => "network_unknown", InvalidInput, "A syntactically valid network this table does not know.";
        PaymentRequirementsMismatch => "payment_requirements_mismatch", InvalidInput, "The payload matches none of the offered requirements.";
        PaymentIdentifierInvalid => "payment_identifier_invalid", InvalidInput, "A `payment-identifier` id outside 16–128 of `[A-Za-z0-9_-]`.";
        WalletSecretInvalid => "wallet_secret_invalid", InvalidInput, "A ledger wallet secret shorter than 16 bytes or not hex.";
        EvmAddressInvalid => "evm_address_invalid", InvalidInput, "Not `0x` followed by 40 hex digits.";
        EvmAddressChecksumInvalid => "evm_address_checksum_invalid", InvalidInput, "A mixed-case address whose EIP-55 checksum is wrong.";
        EvmPrivateKeyInvalid => "evm_private_key_invalid", InvalidInput, "Not a secp256k1 private key (32 bytes, 1 ≤ k < n).";
        WebhookSignatureMalformed => "webhook_signature_malformed", InvalidInput, "A `Paywire-Signature` header not in the `t=…,v1=…` format.";
        WebhookSignatureInvalid => "webhook_signature_invalid", InvalidInput, "No `v1=` entry is the body's MAC under the endpoint's secret.";
        WebhookTimestampOutsideTolerance => "webhook_timestamp_outside_tolerance", InvalidInput, "A webhook signed too long ago (or too far ahead).";
    }
    denials {
        AmountInvalid => "policy_amount_invalid", "The amount is negative or unrepresentable.";
        NetworkNotAllowed => "policy_network_not_allowed", "The network is not in `allowedNetworks`.";
        AssetNotAllowed => "policy_asset_not_allowed", "The asset is not in `allowedAssets`.";
        AssetUnknown => "policy_asset_unknown", "The asset's decimals are unknown, so its value cannot be judged.";
        PayeeNotAllowed => "policy_payee_not_allowed", "The recipient is not in `allowedPayees`.";
        HostNotAllowed => "policy_host_not_allowed", "The resource's host is not in `allowedHosts`.";
        MaxPerRequestExceeded => "policy_max_per_request_exceeded", "Above `maxPerRequest`.";
        VelocityExceeded => "policy_velocity_exceeded", "More than `velocity.maxPayments` in `velocity.windowSeconds`.";
        DailyLimitExceeded => "policy_daily_limit_exceeded", "The day's spending would pass `dailyLimit`.";
        MonthlyLimitExceeded => "policy_monthly_limit_exceeded", "The month's spending would pass `monthlyLimit`.";
        NoOptions => "policy_no_options", "The 402 offered no options at all.";
        ApprovalDenied => "policy_approval_denied", "A payment needed approval and the approver said no (raised by hosts).";
    }
    reasons {
        InsufficientFunds => "insufficient_funds", "The payer cannot cover the amount.";
        InvalidExactEvmScheme => "invalid_exact_evm_scheme", "The payload or requirements are not `exact`.";
        InvalidExactEvmNetworkMismatch => "invalid_exact_evm_network_mismatch", "The payload's network differs from the requirements'.";
        InvalidExactEvmMissingEip712Domain => "invalid_exact_evm_missing_eip712_domain", "`extra.name` or `extra.version` is missing.";
        InvalidExactEvmSignature => "invalid_exact_evm_signature", "The signature does not recover to `authorization.from`.";
        InvalidExactEvmRecipientMismatch => "invalid_exact_evm_recipient_mismatch", "`authorization.to` is not `payTo`.";
        InvalidExactEvmPayloadAuthorizationValidBefore => "invalid_exact_evm_payload_authorization_valid_before", "The authorization expires in less than 6 seconds.";
        InvalidExactEvmPayloadAuthorizationValidAfter => "invalid_exact_evm_payload_authorization_valid_after", "The authorization is not valid yet.";
        InvalidExactEvmPayloadAuthorizationValue => "invalid_exact_evm_payload_authorization_value", "A zero value: not a payment (the x402 specification's code).";
        InvalidExactEvmPayloadAuthorizationValueMismatch => "invalid_exact_evm_payload_authorization_value_mismatch", "`authorization.value` differs from the required amount.";
        InvalidExactEvmPayloadUndeployedSmartWallet => "invalid_exact_evm_payload_undeployed_smart_wallet", "A smart-wallet signature from a wallet that is not deployed.";
        InvalidExactEvmTransactionFailed => "invalid_exact_evm_transaction_failed", "The settlement transaction failed.";
        InvalidExactEvmNonceAlreadyUsed => "invalid_exact_evm_nonce_already_used", "The `(from, nonce)` authorization was used before.";
        InvalidExactEvmInsufficientBalance => "invalid_exact_evm_insufficient_balance", "The payer's balance is below the amount.";
        InvalidExactEvmTokenNameMismatch => "invalid_exact_evm_token_name_mismatch", "`extra.name` is not the token's EIP-712 name.";
        InvalidExactEvmTokenVersionMismatch => "invalid_exact_evm_token_version_mismatch", "`extra.version` is not the token's EIP-712 version.";
        InvalidExactEvmTransactionSimulationFailed => "invalid_exact_evm_transaction_simulation_failed", "Simulating the transfer failed.";
        InvalidExactEvmEip3009NotSupported => "invalid_exact_evm_eip3009_not_supported", "The asset has no EIP-712 domain: not an EIP-3009 token.";
        InvalidExactEvmEip6492FactoryNotAllowed => "invalid_exact_evm_eip6492_factory_not_allowed", "The wallet is not deployed and its ERC-6492 factory is not one the facilitator calls.";
        InvalidNetwork => "invalid_network", "The network is not supported.";
        InvalidPayload => "invalid_payload", "The payload is malformed.";
        InvalidPaymentRequirements => "invalid_payment_requirements", "The requirements are malformed.";
        InvalidScheme => "invalid_scheme", "The scheme is not supported.";
        UnsupportedScheme => "unsupported_scheme", "No facilitator mechanism for this scheme and network.";
        InvalidX402Version => "invalid_x402_version", "An `x402Version` other than 1 or 2.";
        InvalidTransactionState => "invalid_transaction_state", "The transaction is in an unexpected state.";
        UnexpectedVerifyError => "unexpected_verify_error", "Verification failed unexpectedly.";
        UnexpectedSettleError => "unexpected_settle_error", "Settlement failed unexpectedly.";
        SettlementPending => "settlement_pending", "Settlement was submitted but its outcome is not known yet; never a failure.";
        DuplicateSettlement => "duplicate_settlement", "This payment was settled before.";
        BalanceOverflow => "balance_overflow", "Settling would take a balance past what the ledger can hold; nothing was written.";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_and_unique_across_the_families() {
        let mut seen = std::collections::HashSet::new();
        for row in TABLE {
            assert!(
                row.code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()),
                "{}",
                row.code
            );
            // The two codes an error shares with a reason are the only ones listed twice.
            let shared = ERROR_CODES.contains(&row.code) && Reason::KNOWN.contains(&row.code);
            assert!(
                seen.insert(row.code) || shared,
                "duplicate code {}",
                row.code
            );
            assert!(!row.doc.is_empty(), "{} has no meaning", row.code);
        }
        assert_eq!(
            TABLE.len(),
            ERROR_CODES.len() + DenyReason::ALL.len() + Reason::KNOWN.len()
        );
    }

    #[test]
    fn each_row_is_the_class_its_code_has() {
        for row in TABLE.iter().filter(|row| row.family != Family::Reason) {
            assert_eq!(ErrorClass::of_code(row.code), row.class, "{}", row.code);
        }
        for reason in Reason::KNOWN {
            let class = ErrorClass::of_code(reason);
            // An error's own code wins over the reason it shares a spelling with.
            let own = TABLE
                .iter()
                .find(|row| row.family == Family::Error && row.code == *reason);
            assert_eq!(
                class,
                own.map_or(ErrorClass::PaymentInvalid, |row| row.class),
                "{reason}"
            );
        }
    }

    #[test]
    fn known_reasons_round_trip_and_unknown_ones_are_kept() {
        for code in Reason::KNOWN {
            let reason = Reason::parse(code);
            assert!(!matches!(reason, Reason::Other(_)), "{code}");
            assert_eq!(reason.as_str(), *code);
        }
        let other = Reason::parse("invalid_format");
        assert_eq!(other, Reason::Other("invalid_format".into()));
        assert_eq!(serde_json::to_string(&other).unwrap(), "\"invalid_format\"");
    }

    #[test]
    fn denials_round_trip_through_their_codes() {
        for denial in DenyReason::ALL {
            assert_eq!(DenyReason::try_from(denial.code()), Ok(*denial));
            assert_eq!(ErrorClass::of_code(denial.code()), ErrorClass::PolicyDenied);
        }
        assert!(DenyReason::try_from("policy_unheard_of").is_err());
    }
}
