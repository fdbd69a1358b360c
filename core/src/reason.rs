//! x402 reason codes: what a facilitator says when a payment does not verify or settle.
//!
//! Paywire emits the codes of the official TypeScript and Go facilitators, so clients built on
//! Coinbase's SDKs read them unchanged, and accepts any string when parsing (other SDKs use
//! other sets). The Paywire ledger scheme deliberately reuses the EVM `exact` codes: it has the
//! same authorization fields and check order, and a client that understands one understands both.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! reasons {
    ($($variant:ident => $code:literal, $doc:literal;)*) => {
        /// A reason code, as carried in `invalidReason` and `errorReason`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $(#[doc = $doc] $variant,)*
            /// A code this table does not know, kept verbatim.
            Other(String),
        }

        impl Reason {
            /// Every code this table knows.
            pub const KNOWN: &'static [&'static str] = &[$($code),*];

            /// The wire code.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Reason::$variant => $code,)*
                    Reason::Other(code) => code,
                }
            }

            /// Parses any code; unknown ones become [`Reason::Other`].
            pub fn parse(code: &str) -> Reason {
                match code {
                    $($code => Reason::$variant,)*
                    other => Reason::Other(other.to_string()),
                }
            }
        }
    };
}

reasons! {
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

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let code = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Ok(Reason::parse(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_round_trip_and_unknown_ones_are_kept() {
        for code in Reason::KNOWN {
            let reason = Reason::parse(code);
            assert!(!matches!(reason, Reason::Other(_)), "{code}");
            assert_eq!(reason.as_str(), *code);
        }
        let other = Reason::parse("invalid_format");
        assert_eq!(other, Reason::Other("invalid_format".into()));
        assert_eq!(serde_json::to_string(&other).unwrap(), "\"invalid_format\"");
    }
}
