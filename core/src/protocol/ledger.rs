//! The Paywire ledger scheme: `exact` on network `paywire:<ledger-id>`.
//!
//! The authorization has EIP-3009's fields (`from` is a Paywire wallet id) and is signed with
//! HMAC-SHA256 under the wallet's signing secret, which the wallet and the settlement server
//! share (the custodial model). The checks run in the EVM scheme's order and answer its reason
//! codes, so a client that handles one handles both.
//!
//! # Signed message
//!
//! The MAC input is the ASCII tag `paywire-ledger-exact-v1` followed by eight fields, each as a
//! 4-byte big-endian length and its bytes: network, asset, from, to, value (decimal), validAfter
//! (decimal), validBefore (decimal), nonce (the 32 raw bytes). Length prefixes make the encoding
//! unambiguous whatever the strings contain; network and asset play the EIP-712 domain's part,
//! so a signature for one ledger or asset is worthless on another.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::Reason;
use crate::error::{Error, Result};
use crate::protocol::exact::{check_exact_scheme, check_not_zero, check_terms};
pub use crate::protocol::exact::{format_nonce, parse_nonce, VALID_BEFORE_GRACE_SECONDS};
use crate::protocol::exact::{ExactAuthorization, ExactPayload};
use crate::protocol::types::{AnyRequirements, PaymentPayload};

pub use crate::network::{
    is_ledger_network, ANY_LEDGER_NETWORK, LEDGER_NAMESPACE, LEDGER_NAMESPACE_PREFIX,
};
/// The shortest wallet secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;
/// How far back v1 clients date `validAfter`, to absorb clock skew.
pub const V1_VALID_AFTER_SKEW_SECONDS: u64 = 600;

const DOMAIN_TAG: &[u8] = b"paywire-ledger-exact-v1";

/// A wallet's signing secret. Redacted in `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct WalletSecret {
    bytes: Zeroizing<Vec<u8>>,
}

impl WalletSecret {
    /// A secret of at least [`MIN_SECRET_LEN`] bytes, or [`Error::WalletSecretInvalid`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < MIN_SECRET_LEN {
            return Err(Error::WalletSecretInvalid(format!(
                "a wallet secret needs at least {MIN_SECRET_LEN} bytes, got {}",
                bytes.len()
            )));
        }
        Ok(WalletSecret {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// A secret from hex text (with or without `0x`).
    pub fn from_hex(text: &str) -> Result<Self> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let bytes = Zeroizing::new(hex::decode(digits).map_err(|_| {
            Error::WalletSecretInvalid("a wallet secret in hex must be hex digits".into())
        })?);
        WalletSecret::from_bytes(&bytes)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; the length floor is enforced at construction.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.bytes).expect("HMAC takes any key length")
    }
}

impl fmt::Debug for WalletSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WalletSecret(<redacted>)")
    }
}

/// The exact bytes the wallet secret authenticates (see the module documentation).
pub fn signing_input(
    network: &str,
    asset: &str,
    authorization: &ExactAuthorization,
) -> Result<Vec<u8>> {
    let nonce = parse_nonce(&authorization.nonce)?;
    let value = authorization.value.to_string();
    let valid_after = authorization.valid_after.to_string();
    let valid_before = authorization.valid_before.to_string();
    let fields: [&[u8]; 8] = [
        network.as_bytes(),
        asset.as_bytes(),
        authorization.from.as_bytes(),
        authorization.to.as_bytes(),
        value.as_bytes(),
        valid_after.as_bytes(),
        valid_before.as_bytes(),
        &nonce,
    ];
    let mut input =
        Vec::with_capacity(DOMAIN_TAG.len() + fields.iter().map(|f| 4 + f.len()).sum::<usize>());
    input.extend_from_slice(DOMAIN_TAG);
    for field in fields {
        let len = u32::try_from(field.len())
            .map_err(|_| Error::InvalidPayload("authorization field too long".into()))?;
        input.extend_from_slice(&len.to_be_bytes());
        input.extend_from_slice(field);
    }
    Ok(input)
}

/// Signs an authorization for `asset` on ledger `network`: `0x` + 64 hex digits.
pub fn sign_authorization(
    secret: &WalletSecret,
    network: &str,
    asset: &str,
    authorization: &ExactAuthorization,
) -> Result<String> {
    let mut mac = secret.mac();
    mac.update(&signing_input(network, asset, authorization)?);
    Ok(format!("0x{}", hex::encode(mac.finalize().into_bytes())))
}

/// The authorization a wallet signs for `requirements`: `to` = `payTo`, `value` = the amount,
/// `validBefore` = now + `maxTimeoutSeconds`, and `validAfter` as the official clients choose it
/// (v2: `0`; v1: ten minutes before now).
pub fn build_authorization(
    requirements: &AnyRequirements,
    wallet_id: &str,
    nonce: &[u8; 32],
    now: u64,
) -> ExactAuthorization {
    let valid_after = match requirements {
        AnyRequirements::V1(_) => now.saturating_sub(V1_VALID_AFTER_SKEW_SECONDS),
        AnyRequirements::V2(_) => 0,
    };
    ExactAuthorization {
        from: wallet_id.to_string(),
        to: requirements.pay_to().to_string(),
        value: requirements.amount(),
        valid_after,
        valid_before: now.saturating_add(requirements.max_timeout_seconds()),
        nonce: format_nonce(nonce),
    }
}

/// Builds and signs the `exact` payload for `requirements` from a ledger wallet.
pub fn sign_payment(
    requirements: &AnyRequirements,
    wallet_id: &str,
    secret: &WalletSecret,
    nonce: &[u8; 32],
    now: u64,
) -> Result<ExactPayload> {
    if !is_ledger_network(requirements.network()) {
        return Err(Error::payment_invalid(
            Reason::InvalidNetwork,
            "the ledger scheme pays only on paywire:<ledger-id> networks",
        ));
    }
    check_not_zero(requirements.amount())?;
    let authorization = build_authorization(requirements, wallet_id, nonce, now);
    let signature = sign_authorization(
        secret,
        requirements.network(),
        requirements.asset(),
        &authorization,
    )?;
    Ok(ExactPayload {
        signature,
        authorization,
    })
}

/// A ledger payment that verified: who pays, and what they authorized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLedgerPayment {
    /// The paying wallet id.
    pub payer: String,
    /// The authorization, checked.
    pub authorization: ExactAuthorization,
    /// The nonce as bytes, for the `(from, nonce)` uniqueness the settler enforces.
    pub nonce: [u8; 32],
}

/// Verifies a ledger payment against the requirements it was matched to, at `now`.
///
/// `secret_for` returns the signing secret of a wallet id, or `None` for an unknown wallet
/// (which fails as a bad signature, as an unknown EVM signer does). Checks, in the official
/// EVM facilitators' order: scheme, network, signature, recipient, `validBefore ≥ now + 6`,
/// `validAfter ≤ now`, value equal to the amount. Uniqueness of the nonce and the balance are
/// the settler's to check.
pub fn verify_payment(
    payment: &PaymentPayload,
    requirements: &AnyRequirements,
    now: u64,
    secret_for: impl FnOnce(&str) -> Option<WalletSecret>,
) -> Result<VerifiedLedgerPayment> {
    check_exact_scheme(payment, requirements)?;
    if payment.network() != requirements.network() || !is_ledger_network(requirements.network()) {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmNetworkMismatch,
            "the payment is not for this ledger network",
        ));
    }
    let exact = ExactPayload::from_object(payment.payload())?;
    let nonce = parse_nonce(&exact.authorization.nonce)?;
    let bad_signature = || {
        Error::payment_invalid(
            Reason::InvalidExactEvmSignature,
            "the signature does not verify under the wallet's secret",
        )
    };
    let secret = secret_for(&exact.authorization.from).ok_or_else(bad_signature)?;
    let signature = exact
        .signature
        .strip_prefix("0x")
        .and_then(|digits| hex::decode(digits).ok())
        .ok_or_else(bad_signature)?;
    let mut mac = secret.mac();
    mac.update(&signing_input(
        requirements.network(),
        requirements.asset(),
        &exact.authorization,
    )?);
    // verify_slice compares in constant time and rejects a wrong length.
    mac.verify_slice(&signature).map_err(|_| bad_signature())?;
    let authorization = exact.authorization;
    if authorization.to != requirements.pay_to() {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmRecipientMismatch,
            "authorization.to is not payTo",
        ));
    }
    check_terms(
        authorization.valid_after,
        authorization.valid_before,
        authorization.value,
        requirements.amount(),
        now,
    )?;
    Ok(VerifiedLedgerPayment {
        payer: authorization.from.clone(),
        authorization,
        nonce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use crate::money::Amount;
    use crate::protocol::types::{
        JsonObject, PaymentPayloadV2, PaymentRequirements, ResourceInfo, Version,
    };

    const SECRET: &[u8] = b"wallet-secret-0123456789";
    const NOW: u64 = 1_800_000_000;

    fn requirements() -> PaymentRequirements {
        PaymentRequirements {
            scheme: "exact".into(),
            network: "paywire:main".into(),
            amount: Amount::new(10_000),
            asset: "USD".into(),
            pay_to: "wallet_provider".into(),
            max_timeout_seconds: 60,
            extra: None,
            other: JsonObject::new(),
        }
    }

    fn secret() -> WalletSecret {
        WalletSecret::from_bytes(SECRET).unwrap()
    }

    fn payment(exact: &ExactPayload) -> PaymentPayload {
        PaymentPayload::V2(PaymentPayloadV2 {
            x402_version: Version,
            resource: Some(ResourceInfo::new("https://api.example.com/x")),
            accepted: requirements(),
            payload: exact.to_object(),
            extensions: None,
        })
    }

    fn signed() -> ExactPayload {
        sign_payment(
            &AnyRequirements::V2(requirements()),
            "wallet_agent",
            &secret(),
            &[7; 32],
            NOW,
        )
        .unwrap()
    }

    fn verify(exact: &ExactPayload, now: u64) -> Result<VerifiedLedgerPayment> {
        verify_payment(
            &payment(exact),
            &AnyRequirements::V2(requirements()),
            now,
            |id| (id == "wallet_agent").then(secret),
        )
    }

    fn resign(mut exact: ExactPayload, edit: impl FnOnce(&mut ExactAuthorization)) -> ExactPayload {
        edit(&mut exact.authorization);
        exact.signature =
            sign_authorization(&secret(), "paywire:main", "USD", &exact.authorization).unwrap();
        exact
    }

    #[test]
    fn a_signed_payment_verifies() {
        let exact = signed();
        assert_eq!(exact.authorization.valid_after, 0);
        assert_eq!(exact.authorization.valid_before, NOW + 60);
        let verified = verify(&exact, NOW).unwrap();
        assert_eq!(verified.payer, "wallet_agent");
        assert_eq!(verified.nonce, [7; 32]);
    }

    #[test]
    fn checks_run_in_the_evm_order_with_its_codes() {
        let code = |exact: &ExactPayload| verify(exact, NOW).unwrap_err().code().to_string();
        let mut tampered = signed();
        tampered.authorization.value = Amount::new(1);
        assert_eq!(
            code(&tampered),
            code::reason::InvalidExactEvmSignature,
            "a changed field breaks the MAC"
        );
        let wrong_to = resign(signed(), |a| a.to = "wallet_thief".into());
        assert_eq!(
            code(&wrong_to),
            code::reason::InvalidExactEvmRecipientMismatch
        );
        let expiring = resign(signed(), |a| a.valid_before = NOW + 5);
        assert_eq!(
            code(&expiring),
            code::reason::InvalidExactEvmPayloadAuthorizationValidBefore
        );
        let early = resign(signed(), |a| a.valid_after = NOW + 1);
        assert_eq!(
            code(&early),
            code::reason::InvalidExactEvmPayloadAuthorizationValidAfter
        );
        let cheap = resign(signed(), |a| a.value = Amount::new(9_999));
        assert_eq!(
            code(&cheap),
            code::reason::InvalidExactEvmPayloadAuthorizationValueMismatch
        );
        let generous = resign(signed(), |a| a.value = Amount::new(10_001));
        assert_eq!(
            code(&generous),
            code::reason::InvalidExactEvmPayloadAuthorizationValueMismatch
        );
        let stranger = resign(signed(), |a| a.from = "wallet_unknown".into());
        assert_eq!(code(&stranger), code::reason::InvalidExactEvmSignature);
        let mut garbage = signed();
        garbage.signature = "0xzz".into();
        assert_eq!(code(&garbage), code::reason::InvalidExactEvmSignature);
        let mut bad_nonce = signed();
        bad_nonce.authorization.nonce = "0x1234".into();
        assert_eq!(code(&bad_nonce), code::reason::InvalidPayload);
        // Recipient is checked before time, time before value: a payment wrong in all three
        // reports the recipient.
        let all_wrong = resign(signed(), |a| {
            a.to = "x".into();
            a.valid_before = 0;
            a.value = Amount::new(1);
        });
        assert_eq!(
            code(&all_wrong),
            code::reason::InvalidExactEvmRecipientMismatch
        );
    }

    #[test]
    fn network_and_asset_are_bound_into_the_signature() {
        let exact = signed();
        let mut other_ledger = requirements();
        other_ledger.network = "paywire:other".into();
        let mut p = payment(&exact);
        if let PaymentPayload::V2(p) = &mut p {
            p.accepted.network = "paywire:other".into();
        }
        let result = verify_payment(&p, &AnyRequirements::V2(other_ledger), NOW, |_| {
            Some(secret())
        });
        assert_eq!(
            result.unwrap_err().code(),
            code::reason::InvalidExactEvmSignature
        );
        let mut other_asset = requirements();
        other_asset.asset = "EUR".into();
        let result = verify_payment(
            &payment(&exact),
            &AnyRequirements::V2(other_asset),
            NOW,
            |_| Some(secret()),
        );
        assert_eq!(
            result.unwrap_err().code(),
            code::reason::InvalidExactEvmSignature
        );
    }

    #[test]
    fn scheme_and_network_mismatches_come_first() {
        let exact = signed();
        let mut upto = requirements();
        upto.scheme = "upto".into();
        let r = verify_payment(&payment(&exact), &AnyRequirements::V2(upto), NOW, |_| None);
        assert_eq!(r.unwrap_err().code(), code::reason::InvalidExactEvmScheme);
        let mut evm = requirements();
        evm.network = "eip155:8453".into();
        let r = verify_payment(&payment(&exact), &AnyRequirements::V2(evm), NOW, |_| None);
        assert_eq!(
            r.unwrap_err().code(),
            code::reason::InvalidExactEvmNetworkMismatch
        );
    }

    #[test]
    fn secrets_are_validated_and_redacted() {
        assert_eq!(
            WalletSecret::from_bytes(b"short").unwrap_err().code(),
            code::error::WalletSecretInvalid
        );
        assert_eq!(
            WalletSecret::from_hex("0xnothex").unwrap_err().code(),
            code::error::WalletSecretInvalid
        );
        let s = WalletSecret::from_hex("0x000102030405060708090a0b0c0d0e0f").unwrap();
        assert_eq!(format!("{s:?}"), "WalletSecret(<redacted>)");
    }

    #[test]
    fn the_signing_input_is_length_prefixed() {
        let mut a = signed().authorization;
        let mut b = a.clone();
        a.from = "ab".into();
        a.to = "c".into();
        b.from = "a".into();
        b.to = "bc".into();
        assert_ne!(
            signing_input("paywire:main", "USD", &a).unwrap(),
            signing_input("paywire:main", "USD", &b).unwrap()
        );
    }

    #[test]
    fn v1_authorizations_backdate_valid_after() {
        let v1: crate::protocol::PaymentRequirementsV1 = serde_json::from_value(serde_json::json!({
            "scheme":"exact","network":"paywire:main","maxAmountRequired":"5","resource":"https://x",
            "payTo":"wallet_provider","maxTimeoutSeconds":30,"asset":"USD"})).unwrap();
        let auth = build_authorization(&AnyRequirements::V1(v1), "w", &[0; 32], NOW);
        assert_eq!(auth.valid_after, NOW - 600);
        assert_eq!(auth.valid_before, NOW + 30);
    }

    #[test]
    fn ledger_networks_are_recognized() {
        assert!(is_ledger_network("paywire:main"));
        assert!(!is_ledger_network("paywire:"));
        assert!(!is_ledger_network("paywire:*"));
        assert!(!is_ledger_network("eip155:1"));
    }
}
