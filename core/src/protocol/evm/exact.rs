//! The `exact` scheme on EVM networks: EIP-3009 `transferWithAuthorization`, signed as EIP-712
//! typed data — verified exactly as the official TypeScript and Go facilitators verify it, and
//! signed for agents as the official clients sign it.
//!
//! On-chain steps (simulation, balance, nonce state, ERC-1271/6492 smart wallets) are the
//! settler's; here is everything that needs no chain.

use crate::error::Reason;
use crate::error::{Error, Result};
use crate::network;
use crate::protocol::evm::address::Address;
use crate::protocol::evm::eip712::{Eip712Domain, TransferWithAuthorization};
use crate::protocol::evm::signature::{EvmSignature, PrivateKey, SIGNATURE_LEN};
use crate::protocol::exact::{check_exact_scheme, check_not_zero, check_terms};
use crate::protocol::exact::{format_nonce, parse_nonce, ExactAuthorization, ExactPayload};
use crate::protocol::ledger::V1_VALID_AFTER_SKEW_SECONDS;
use crate::protocol::types::{AnyRequirements, PaymentPayload};

/// An EVM payment that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvmPayment {
    /// The payer (`authorization.from`, recovered from the signature).
    pub payer: Address,
    /// The authorization, typed.
    pub authorization: TransferWithAuthorization,
    /// The signature, normalized (`v` as 27/28).
    pub signature: EvmSignature,
    /// The domain it was signed under.
    pub domain: Eip712Domain,
}

/// The EIP-712 domain of the token a requirement names: `extra.name`, `extra.version`, the
/// network's chain id and the `asset` contract.
///
/// Errors: `invalid_exact_evm_missing_eip712_domain` without a string `name` and `version`;
/// `invalid_exact_evm_network_mismatch` for a network that is not EVM;
/// `invalid_payment_requirements` for an asset that is not an address.
pub fn domain_for(requirements: &AnyRequirements) -> Result<Eip712Domain> {
    let (name, version) = eip712_name_version(requirements)?;
    let chain_id = chain_id_of(requirements.network())?;
    let contract = Address::parse(requirements.asset()).map_err(|_| {
        Error::payment_invalid(
            Reason::InvalidPaymentRequirements,
            "asset is not an EVM token address",
        )
    })?;
    Ok(Eip712Domain::new(name, version, chain_id, contract))
}

fn eip712_name_version(requirements: &AnyRequirements) -> Result<(&str, &str)> {
    let extra = requirements.extra();
    let field = |key: &str| extra.and_then(|e| e.get(key)).and_then(|v| v.as_str());
    match (field("name"), field("version")) {
        (Some(name), Some(version)) => Ok((name, version)),
        _ => Err(Error::payment_invalid(
            Reason::InvalidExactEvmMissingEip712Domain,
            "requirements.extra needs the token's EIP-712 name and version",
        )),
    }
}

fn chain_id_of(network_name: &str) -> Result<u64> {
    network::evm_chain_id(network_name).map_err(|_| {
        Error::payment_invalid(
            Reason::InvalidExactEvmNetworkMismatch,
            format!(
                "{} is not an EVM network",
                crate::error::truncate_for_message(network_name)
            ),
        )
    })
}

fn invalid_payload(message: &str) -> Error {
    Error::payment_invalid(Reason::InvalidPayload, message)
}

/// Verifies an EVM `exact` payment against the requirements it was matched to, at `now`.
///
/// Checks, in the official facilitators' order, each with its reason code: scheme
/// (`invalid_exact_evm_scheme`), EIP-712 domain in `extra` (`…_missing_eip712_domain`),
/// network (`…_network_mismatch`), signature (`invalid_exact_evm_signature`; longer than
/// 65 bytes: `…_payload_undeployed_smart_wallet`), recipient (`…_recipient_mismatch`),
/// `validBefore ≥ now + 6` (`…_payload_authorization_valid_before`), `validAfter ≤ now`
/// (`…_valid_after`), value equal to the amount (`…_value_mismatch`, also for v1).
pub fn verify_payment(
    payment: &PaymentPayload,
    requirements: &AnyRequirements,
    now: u64,
) -> Result<VerifiedEvmPayment> {
    check_exact_scheme(payment, requirements)?;
    eip712_name_version(requirements)?;
    if payment.network() != requirements.network() {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmNetworkMismatch,
            "the payment is for another network",
        ));
    }
    let domain = domain_for(requirements)?;
    let exact = ExactPayload::from_object(payment.payload())?;
    let signature = decode_signature(&exact.signature)?;
    let authorization = typed_authorization(&exact.authorization)?;
    let signer = signature.recover(&domain.signing_digest(&authorization))?;
    if signer != authorization.from {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmSignature,
            "the signature is not from authorization.from",
        ));
    }
    check_recipient_and_terms(&authorization, requirements, now)?;
    Ok(VerifiedEvmPayment {
        payer: authorization.from,
        authorization,
        signature,
        domain,
    })
}

/// How the signature of a payment to be settled on a chain is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerProof {
    /// An EOA signature that recovered to `authorization.from`: nothing is left to check.
    Recovered,
    /// Not an EOA signature of `from`: the payment is valid only if `from` is a deployed
    /// contract wallet whose ERC-1271 `isValidSignature(digest, signature)` answers
    /// `0x1626ba7e`. The settler asks the chain; without code at `from`, or with any other
    /// answer, the payment is refused with `invalid_exact_evm_signature`.
    ContractWallet {
        /// The EIP-712 digest the wallet is asked about.
        digest: [u8; 32],
    },
    /// An ERC-6492 signature (it ends with [`ERC6492_MAGIC`]): a contract wallet that may not
    /// be deployed yet, with the factory call that deploys it. The settler checks it with
    /// ERC-6492's validation (deploying in a simulation only), and deploys the wallet before
    /// the transfer — only through factories it allows, since the factory call is the payer's
    /// to choose and the settler's key makes it.
    CounterfactualWallet {
        /// The EIP-712 digest the wallet is asked about.
        digest: [u8; 32],
    },
}

/// An EVM payment whose terms verified, to be settled by a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEvmPayment {
    /// `authorization.from`: the payer, an EOA or a contract wallet.
    pub payer: Address,
    /// The authorization, typed.
    pub authorization: TransferWithAuthorization,
    /// The signature as sent (65 bytes for an EOA; any length for a contract wallet).
    pub signature: Vec<u8>,
    /// What is left to confirm the signer.
    pub proof: SignerProof,
    /// The domain it was signed under.
    pub domain: Eip712Domain,
}

/// ERC-6492's magic suffix: a signature from a wallet that is not deployed yet, wrapped with
/// the factory call that would deploy it.
pub const ERC6492_MAGIC: [u8; 32] = [
    0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92,
    0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92,
];

/// The longest signature a payment may carry for a chain, in bytes. A smart wallet's
/// signature (a passkey's WebAuthn assertion, ERC-6492's factory call around it) is a few
/// hundred bytes to about 2 KB; anything longer would only make the facilitator forward the
/// caller's bytes in an `eth_call` (a 30 KB signature made a 60 KB call).
pub const MAX_CHAIN_SIGNATURE_LEN: usize = 4096;

/// Verifies an EVM `exact` payment for settlement on a chain: every check of
/// [`verify_payment`], in the same order and with the same codes, except that a signature
/// which is not `from`'s EOA signature is not refused here but left to the chain:
/// [`SignerProof::ContractWallet`] (ERC-1271) or, for a signature ending with ERC-6492's
/// magic suffix, [`SignerProof::CounterfactualWallet`].
pub fn verify_payment_for_chain(
    payment: &PaymentPayload,
    requirements: &AnyRequirements,
    now: u64,
) -> Result<ChainEvmPayment> {
    check_exact_scheme(payment, requirements)?;
    eip712_name_version(requirements)?;
    if payment.network() != requirements.network() {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmNetworkMismatch,
            "the payment is for another network",
        ));
    }
    let domain = domain_for(requirements)?;
    let exact = ExactPayload::from_object(payment.payload())?;
    let signature = exact
        .signature
        .strip_prefix("0x")
        .and_then(|digits| hex::decode(digits).ok())
        .filter(|bytes| !bytes.is_empty())
        .ok_or_else(|| {
            Error::payment_invalid(
                Reason::InvalidExactEvmSignature,
                "the signature is not 0x-hex",
            )
        })?;
    if signature.len() > MAX_CHAIN_SIGNATURE_LEN {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmSignature,
            format!("the signature is longer than {MAX_CHAIN_SIGNATURE_LEN} bytes"),
        ));
    }
    let authorization = typed_authorization(&exact.authorization)?;
    let digest = domain.signing_digest(&authorization);
    let recovered = EvmSignature::from_bytes(&signature)
        .and_then(|eoa| eoa.recover(&digest))
        .ok();
    let proof = if signature.len() > ERC6492_MAGIC.len() && signature.ends_with(&ERC6492_MAGIC) {
        SignerProof::CounterfactualWallet { digest }
    } else if recovered == Some(authorization.from) {
        SignerProof::Recovered
    } else {
        SignerProof::ContractWallet { digest }
    };
    check_recipient_and_terms(&authorization, requirements, now)?;
    Ok(ChainEvmPayment {
        payer: authorization.from,
        authorization,
        signature,
        proof,
        domain,
    })
}

/// The checks after the signature, shared by both verifications: recipient
/// (`…_recipient_mismatch`), time window and exact value.
fn check_recipient_and_terms(
    authorization: &TransferWithAuthorization,
    requirements: &AnyRequirements,
    now: u64,
) -> Result<()> {
    let pay_to = Address::parse(requirements.pay_to()).map_err(|_| {
        Error::payment_invalid(
            Reason::InvalidPaymentRequirements,
            "payTo is not an EVM address",
        )
    })?;
    if authorization.to != pay_to {
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
    Ok(())
}

/// An EOA signature, or the reason a longer one cannot be checked without a chain.
fn decode_signature(text: &str) -> Result<EvmSignature> {
    let bytes = text
        .strip_prefix("0x")
        .and_then(|digits| hex::decode(digits).ok())
        .ok_or_else(|| {
            Error::payment_invalid(
                Reason::InvalidExactEvmSignature,
                "the signature is not 0x-hex",
            )
        })?;
    if bytes.len() > SIGNATURE_LEN {
        // ERC-1271 / ERC-6492 smart-wallet signatures need an on-chain call to check.
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmPayloadUndeployedSmartWallet,
            "smart-wallet signatures (ERC-1271/6492) are not supported without a chain",
        ));
    }
    EvmSignature::from_bytes(&bytes)
}

fn typed_authorization(authorization: &ExactAuthorization) -> Result<TransferWithAuthorization> {
    Ok(TransferWithAuthorization {
        from: Address::parse(&authorization.from)
            .map_err(|_| invalid_payload("authorization.from is not an address"))?,
        to: Address::parse(&authorization.to)
            .map_err(|_| invalid_payload("authorization.to is not an address"))?,
        value: authorization.value,
        valid_after: authorization.valid_after,
        valid_before: authorization.valid_before,
        nonce: parse_nonce(&authorization.nonce)?,
    })
}

/// The authorization an agent signs for `requirements`, as the official clients build it:
/// `to` = checksummed `payTo`, `value` = the amount, `validBefore` = now + `maxTimeoutSeconds`,
/// `validAfter` = `0` for v2 and ten minutes before now for v1.
pub fn build_authorization(
    requirements: &AnyRequirements,
    from: Address,
    nonce: &[u8; 32],
    now: u64,
) -> Result<TransferWithAuthorization> {
    let to = Address::parse(requirements.pay_to()).map_err(|_| {
        Error::payment_invalid(
            Reason::InvalidPaymentRequirements,
            "payTo is not an EVM address",
        )
    })?;
    let valid_after = match requirements {
        AnyRequirements::V1(_) => now.saturating_sub(V1_VALID_AFTER_SKEW_SECONDS),
        AnyRequirements::V2(_) => 0,
    };
    Ok(TransferWithAuthorization {
        from,
        to,
        value: requirements.amount(),
        valid_after,
        valid_before: now.saturating_add(requirements.max_timeout_seconds()),
        nonce: *nonce,
    })
}

/// Builds and signs the `exact` payload for `requirements` with `key`. The nonce (32 random
/// bytes) and `now` come from the caller.
pub fn sign_payment(
    requirements: &AnyRequirements,
    key: &PrivateKey,
    nonce: &[u8; 32],
    now: u64,
) -> Result<ExactPayload> {
    check_not_zero(requirements.amount())?;
    let domain = domain_for(requirements)?;
    let authorization = build_authorization(requirements, key.address(), nonce, now)?;
    let signature = key.sign_digest(&domain.signing_digest(&authorization));
    Ok(payload_of(&authorization, signature.to_hex()))
}

/// The `exact` payload of a typed authorization and a signature of it (`0x`-hex): an EOA's,
/// or a smart wallet's (ERC-1271, ERC-6492), whose signing is the wallet's own business.
pub fn payload_of(authorization: &TransferWithAuthorization, signature: String) -> ExactPayload {
    ExactPayload {
        signature,
        authorization: ExactAuthorization {
            from: authorization.from.to_checksum(),
            to: authorization.to.to_checksum(),
            value: authorization.value,
            valid_after: authorization.valid_after,
            valid_before: authorization.valid_before,
            nonce: format_nonce(&authorization.nonce),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use crate::money::Amount;
    use crate::protocol::types::PaymentRequired;
    use serde_json::json;

    const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const USDC: &str = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
    const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
    const NOW: u64 = 1_795_262_400;

    fn required(version: u8) -> PaymentRequired {
        let value = if version == 2 {
            json!({"x402Version": 2, "resource": {"url": "https://api.example.com/x"},
                "accepts": [{"scheme": "exact", "network": "eip155:84532", "amount": "10000", "asset": USDC,
                    "payTo": PAY_TO, "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}}]})
        } else {
            json!({"x402Version": 1, "error": "", "accepts": [{"scheme": "exact", "network": "base-sepolia",
                "maxAmountRequired": "10000", "resource": "https://api.example.com/x", "description": "", "mimeType": "",
                "payTo": PAY_TO, "maxTimeoutSeconds": 60, "asset": USDC, "extra": {"name": "USDC", "version": "2"}}]})
        };
        PaymentRequired::from_json_value(value).unwrap()
    }

    fn key() -> PrivateKey {
        PrivateKey::from_hex(DEV_KEY).unwrap()
    }

    fn pay(required: &PaymentRequired, edit: impl FnOnce(&mut ExactPayload)) -> PaymentPayload {
        let requirements = required.requirements(0).unwrap();
        let mut exact = sign_payment(&requirements, &key(), &[7; 32], NOW).unwrap();
        edit(&mut exact);
        required.payment(0, exact.to_object()).unwrap()
    }

    fn resign(
        required: &PaymentRequired,
        edit: impl FnOnce(&mut TransferWithAuthorization),
    ) -> PaymentPayload {
        let requirements = required.requirements(0).unwrap();
        let domain = domain_for(&requirements).unwrap();
        let mut authorization =
            build_authorization(&requirements, key().address(), &[7; 32], NOW).unwrap();
        edit(&mut authorization);
        let signature = key().sign_digest(&domain.signing_digest(&authorization));
        let exact = payload_of(&authorization, signature.to_hex());
        required.payment(0, exact.to_object()).unwrap()
    }

    fn code(required: &PaymentRequired, payment: &PaymentPayload) -> String {
        verify_payment(payment, &required.requirements(0).unwrap(), NOW)
            .unwrap_err()
            .code()
            .to_string()
    }

    #[test]
    fn for_a_chain_an_eoa_signature_is_recovered_and_any_other_is_left_to_the_wallet() {
        let required = required(2);
        let requirements = required.requirements(0).unwrap();
        let payment = pay(&required, |_| {});
        let verified = verify_payment_for_chain(&payment, &requirements, NOW).unwrap();
        assert_eq!(verified.proof, SignerProof::Recovered);
        assert_eq!(verified.payer, key().address());
        // Signed by another key (a contract wallet's owner, say): the wallet at `from` decides.
        let other = PrivateKey::from_bytes(&[9; 32]).unwrap();
        let domain = domain_for(&requirements).unwrap();
        let mut exact = ExactPayload::from_object(payment.payload()).unwrap();
        let authorization = typed_authorization(&exact.authorization).unwrap();
        let digest = domain.signing_digest(&authorization);
        exact.signature = other.sign_digest(&digest).to_hex();
        let by_owner = required.payment(0, exact.to_object()).unwrap();
        let verified = verify_payment_for_chain(&by_owner, &requirements, NOW).unwrap();
        assert_eq!(verified.proof, SignerProof::ContractWallet { digest });
        assert_eq!(
            code(&required, &by_owner),
            code::reason::InvalidExactEvmSignature,
            "without a chain the same payment is refused"
        );
        // A long (contract) signature is left to the chain as well, a 6492 one as a
        // counterfactual wallet's.
        exact.signature = format!("0x{}", "ab".repeat(200));
        let long = required.payment(0, exact.to_object()).unwrap();
        assert!(matches!(
            verify_payment_for_chain(&long, &requirements, NOW)
                .unwrap()
                .proof,
            SignerProof::ContractWallet { .. }
        ));
        exact.signature = format!("0x{}{}", "ab".repeat(100), hex::encode(ERC6492_MAGIC));
        let counterfactual = required.payment(0, exact.to_object()).unwrap();
        assert_eq!(
            verify_payment_for_chain(&counterfactual, &requirements, NOW)
                .unwrap()
                .proof,
            SignerProof::CounterfactualWallet { digest }
        );
        assert_eq!(
            code(&required, &counterfactual),
            code::reason::InvalidExactEvmPayloadUndeployedSmartWallet,
            "without a chain it cannot be checked"
        );
        // Past the bound a signature is refused here: no chain call forwards it.
        for (len, proof_left_to_the_chain) in [
            (MAX_CHAIN_SIGNATURE_LEN, true),
            (MAX_CHAIN_SIGNATURE_LEN + 1, false),
        ] {
            exact.signature = format!("0x{}", "ab".repeat(len));
            let sized = required.payment(0, exact.to_object()).unwrap();
            let verified = verify_payment_for_chain(&sized, &requirements, NOW);
            assert_eq!(verified.is_ok(), proof_left_to_the_chain, "{len} bytes");
            if let Err(error) = verified {
                assert_eq!(error.code(), code::reason::InvalidExactEvmSignature);
            }
        }
        // The terms are still checked, whoever signed: a wrong recipient is refused.
        let wrong_to = resign(&required, |a| {
            a.to = Address::parse("0x0000000000000000000000000000000000000001").unwrap()
        });
        assert_eq!(
            verify_payment_for_chain(&wrong_to, &requirements, NOW)
                .unwrap_err()
                .code(),
            code::reason::InvalidExactEvmRecipientMismatch
        );
    }

    #[test]
    fn signed_payments_verify_in_both_versions() {
        for version in [1, 2] {
            let required = required(version);
            let payment = pay(&required, |_| {});
            let verified =
                verify_payment(&payment, &required.requirements(0).unwrap(), NOW).unwrap();
            assert_eq!(verified.payer, key().address());
            assert_eq!(verified.domain.chain_id, 84_532);
        }
    }

    #[test]
    fn clients_choose_time_windows_as_the_official_ones() {
        let v2 = pay(&required(2), |_| {});
        let exact = ExactPayload::from_object(v2.payload()).unwrap();
        assert_eq!(
            (
                exact.authorization.valid_after,
                exact.authorization.valid_before
            ),
            (0, NOW + 60)
        );
        let v1 = pay(&required(1), |_| {});
        let exact = ExactPayload::from_object(v1.payload()).unwrap();
        assert_eq!(
            (
                exact.authorization.valid_after,
                exact.authorization.valid_before
            ),
            (NOW - 600, NOW + 60)
        );
        assert_eq!(
            exact.authorization.to, PAY_TO,
            "to is the checksummed payTo"
        );
        assert_eq!(v1.header_name(), "X-PAYMENT");
        assert_eq!(v2.header_name(), "PAYMENT-SIGNATURE");
    }

    #[test]
    fn each_check_has_its_reason() {
        let r = required(2);
        assert_eq!(
            code(&r, &resign(&r, |a| a.to = Address::from_bytes([9; 20]))),
            code::reason::InvalidExactEvmRecipientMismatch
        );
        assert_eq!(
            code(&r, &resign(&r, |a| a.valid_before = NOW + 5)),
            code::reason::InvalidExactEvmPayloadAuthorizationValidBefore
        );
        assert_eq!(
            code(&r, &resign(&r, |a| a.valid_after = NOW + 1)),
            code::reason::InvalidExactEvmPayloadAuthorizationValidAfter
        );
        assert_eq!(
            code(&r, &resign(&r, |a| a.value = Amount::new(10_001))),
            code::reason::InvalidExactEvmPayloadAuthorizationValueMismatch
        );
        assert_eq!(
            code(&r, &pay(&r, |e| e.authorization.value = Amount::new(1))),
            code::reason::InvalidExactEvmSignature
        );
        assert_eq!(
            code(&r, &pay(&r, |e| e.authorization.from = PAY_TO.into())),
            code::reason::InvalidExactEvmSignature
        );
        assert_eq!(
            code(&r, &pay(&r, |e| e.signature.push_str("00"))),
            code::reason::InvalidExactEvmPayloadUndeployedSmartWallet
        );
        assert_eq!(
            code(&r, &pay(&r, |e| e.signature.truncate(10))),
            code::reason::InvalidExactEvmSignature
        );
        assert_eq!(
            code(&r, &pay(&r, |e| e.authorization.nonce = "0x12".into())),
            code::reason::InvalidPayload
        );
        assert_eq!(
            code(
                &r,
                &pay(&r, |e| e.authorization.from = "not an address".into())
            ),
            code::reason::InvalidPayload
        );
    }

    #[test]
    fn scheme_domain_and_network_are_checked_first_in_that_order() {
        let r = required(2);
        let payment = pay(&r, |_| {});
        let mut requirements = r.requirements(0).unwrap();
        if let AnyRequirements::V2(req) = &mut requirements {
            req.scheme = "upto".into();
            req.extra = None;
            req.network = "eip155:8453".into();
        }
        let code_for = |req: &AnyRequirements| {
            verify_payment(&payment, req, NOW)
                .unwrap_err()
                .code()
                .to_string()
        };
        assert_eq!(code_for(&requirements), code::reason::InvalidExactEvmScheme);
        if let AnyRequirements::V2(req) = &mut requirements {
            req.scheme = "exact".into();
        }
        assert_eq!(
            code_for(&requirements),
            code::reason::InvalidExactEvmMissingEip712Domain
        );
        if let AnyRequirements::V2(req) = &mut requirements {
            req.extra = Some(
                json!({"name": "USDC", "version": "2"})
                    .as_object()
                    .unwrap()
                    .clone(),
            );
        }
        assert_eq!(
            code_for(&requirements),
            code::reason::InvalidExactEvmNetworkMismatch
        );
    }

    #[test]
    fn a_wrong_domain_breaks_the_signature() {
        let r = required(2);
        let payment = pay(&r, |_| {});
        for (field, value) in [("name", json!("USD Coin")), ("version", json!("1"))] {
            let mut requirements = r.requirements(0).unwrap();
            if let AnyRequirements::V2(req) = &mut requirements {
                req.extra.as_mut().unwrap().insert(field.into(), value);
            }
            assert_eq!(
                verify_payment(&payment, &requirements, NOW)
                    .unwrap_err()
                    .code(),
                code::reason::InvalidExactEvmSignature
            );
        }
    }

    #[test]
    fn v1_names_and_caip2_reach_the_same_chain() {
        let v1 = required(1).requirements(0).unwrap();
        let v2 = required(2).requirements(0).unwrap();
        assert_eq!(domain_for(&v1).unwrap(), domain_for(&v2).unwrap());
    }

    #[test]
    fn non_evm_requirements_are_refused_when_signing() {
        let ledger: AnyRequirements = AnyRequirements::V2(serde_json::from_value(json!({"scheme": "exact",
            "network": "paywire:main", "amount": "1", "asset": "USD", "payTo": "w", "maxTimeoutSeconds": 60,
            "extra": {"name": "x", "version": "1"}})).unwrap());
        assert_eq!(
            sign_payment(&ledger, &key(), &[0; 32], NOW)
                .unwrap_err()
                .code(),
            code::reason::InvalidExactEvmNetworkMismatch
        );
        let mut no_domain = required(2).requirements(0).unwrap();
        if let AnyRequirements::V2(req) = &mut no_domain {
            req.extra = None;
        }
        assert_eq!(
            sign_payment(&no_domain, &key(), &[0; 32], NOW)
                .unwrap_err()
                .code(),
            code::reason::InvalidExactEvmMissingEip712Domain
        );
    }
}
