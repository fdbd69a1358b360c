//! The `exact` scheme: on EVM networks (EIP-3009 signed with EIP-712) and on Paywire ledgers
//! (the wallet's HMAC).

use std::collections::BTreeMap;

use paywire_core::protocol::evm::{
    self, Address, Eip712Domain, PrivateKey, TransferWithAuthorization,
};
use paywire_core::protocol::ledger::{self, WalletSecret};
use paywire_core::protocol::{parse_nonce, AnyRequirements, ExactAuthorization, ExactPayload};
use serde::Deserialize;

use crate::protocol::{payment_payload_of, payment_required_of, requirements_of};
use crate::{nonce32, parse, small_number, text, whole_number, Result};

/// Verifies an EIP-3009 payment against requirements (JSON each) at `now`:
/// `{payer, value, signature}` (JSON).
pub fn verify_evm_payment(payment: &str, requirements: &str, now: f64) -> Result<String> {
    let payment = payment_payload_of(payment)?;
    let requirements = requirements_of(requirements)?;
    let verified = evm::verify_payment(&payment, &requirements, whole_number(now, "now")?)?;
    text(&serde_json::json!({
        "payer": verified.payer.to_checksum(),
        "value": verified.authorization.value,
        "signature": verified.signature.to_hex(),
    }))
}

fn sign_evm(
    requirements: &AnyRequirements,
    private_key: &str,
    nonce: &[u8],
    now: f64,
) -> Result<ExactPayload> {
    let key = PrivateKey::from_hex(private_key)?;
    evm::sign_payment(
        requirements,
        &key,
        &nonce32(nonce)?,
        whole_number(now, "now")?,
    )
}

/// A 402's option `index` paid with an EVM key: the payment (JSON).
pub fn sign_evm_payment(
    payment_required: &str,
    index: f64,
    private_key: &str,
    nonce: &[u8],
    now: f64,
) -> Result<String> {
    let required = payment_required_of(payment_required)?;
    let index = small_number(index, "index", u64::from(u32::MAX))? as usize;
    let exact = sign_evm(&required.requirements(index)?, private_key, nonce, now)?;
    text(&required.payment(index, exact.to_object())?)
}

/// The `exact` payload (JSON) authorizing requirements (JSON) with an EVM key.
pub fn sign_evm_authorization(
    requirements: &str,
    private_key: &str,
    nonce: &[u8],
    now: f64,
) -> Result<String> {
    text(&sign_evm(
        &requirements_of(requirements)?,
        private_key,
        nonce,
        now,
    )?)
}

/// The checksummed address of a private key.
pub fn evm_address(private_key: &str) -> Result<String> {
    Ok(PrivateKey::from_hex(private_key)?.address().to_checksum())
}

/// An address in its EIP-55 checksummed form.
pub fn checksum_address(address: &str) -> Result<String> {
    Ok(Address::parse(address)?.to_checksum())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Domain {
    name: String,
    version: String,
    chain_id: u64,
    verifying_contract: Address,
}

/// The EIP-712 hashes of an authorization (JSON) under a token's domain (JSON):
/// `{domainSeparator, structHash, digest}` (JSON).
pub fn eip712_hashes(domain: &str, message: &str) -> Result<String> {
    let domain: Domain = parse(domain, "domain")?;
    let domain = Eip712Domain::new(
        &domain.name,
        &domain.version,
        domain.chain_id,
        domain.verifying_contract,
    );
    let message: ExactAuthorization = parse(message, "message")?;
    let transfer = TransferWithAuthorization {
        from: Address::parse(&message.from)?,
        to: Address::parse(&message.to)?,
        value: message.value,
        valid_after: message.valid_after,
        valid_before: message.valid_before,
        nonce: parse_nonce(&message.nonce)?,
    };
    let hex = |bytes: &[u8; 32]| format!("0x{}", hex::encode(bytes));
    text(&serde_json::json!({
        "domainSeparator": hex(domain.separator()),
        "structHash": hex(&transfer.struct_hash()),
        "digest": hex(&domain.signing_digest(&transfer)),
    }))
}

fn sign_ledger(
    requirements: &AnyRequirements,
    wallet_id: &str,
    secret: &[u8],
    nonce: &[u8],
    now: f64,
) -> Result<ExactPayload> {
    let secret = WalletSecret::from_bytes(secret)?;
    ledger::sign_payment(
        requirements,
        wallet_id,
        &secret,
        &nonce32(nonce)?,
        whole_number(now, "now")?,
    )
}

/// A 402's option `index` paid from a ledger wallet: the payment (JSON).
pub fn sign_ledger_payment(
    payment_required: &str,
    index: f64,
    wallet_id: &str,
    secret: &[u8],
    nonce: &[u8],
    now: f64,
) -> Result<String> {
    let required = payment_required_of(payment_required)?;
    let index = small_number(index, "index", u64::from(u32::MAX))? as usize;
    let exact = sign_ledger(
        &required.requirements(index)?,
        wallet_id,
        secret,
        nonce,
        now,
    )?;
    text(&required.payment(index, exact.to_object())?)
}

/// The `exact` payload (JSON) authorizing requirements (JSON) from a ledger wallet.
pub fn sign_ledger_authorization(
    requirements: &str,
    wallet_id: &str,
    secret: &[u8],
    nonce: &[u8],
    now: f64,
) -> Result<String> {
    text(&sign_ledger(
        &requirements_of(requirements)?,
        wallet_id,
        secret,
        nonce,
        now,
    )?)
}

/// Verifies a ledger payment against requirements (JSON each) at `now`, with wallet secrets
/// by id (JSON object of hex): `{payer, value, authorization}` (JSON).
pub fn verify_ledger_payment(
    payment: &str,
    requirements: &str,
    now: f64,
    secrets: &str,
) -> Result<String> {
    let payment = payment_payload_of(payment)?;
    let requirements = requirements_of(requirements)?;
    let secrets: BTreeMap<String, String> = parse(secrets, "secrets")?;
    let verified =
        ledger::verify_payment(&payment, &requirements, whole_number(now, "now")?, |id| {
            secrets
                .get(id)
                .and_then(|hex| WalletSecret::from_hex(hex).ok())
        })?;
    text(&serde_json::json!({
        "payer": verified.payer,
        "value": verified.authorization.value,
        "authorization": verified.authorization,
    }))
}

/// [`verify_evm_payment`] with the payment and its requirements as one JSON array
/// `[payment, requirements]`, for hosts whose every string argument costs a conversion
/// (uniffi's Python: ~16 µs each).
pub fn verify_evm_payment_pair(pair: &str, now: f64) -> Result<String> {
    let [payment, requirements]: [serde_json::Value; 2] =
        serde_json::from_value(crate::json(pair, "payment and requirements")?).map_err(|_| {
            paywire_core::Error::InvalidArgument("expected [payment, requirements]".into())
        })?;
    let payment = paywire_core::protocol::PaymentPayload::from_json_value(payment)?;
    let requirements = AnyRequirements::from_json_value(requirements)?;
    let verified = evm::verify_payment(&payment, &requirements, whole_number(now, "now")?)?;
    text(&serde_json::json!({
        "payer": verified.payer.to_checksum(),
        "value": verified.authorization.value,
        "signature": verified.signature.to_hex(),
    }))
}
