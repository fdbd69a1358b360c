//! What a payer signs: the `exact` authorization for the option the client flow chose, with
//! everything a signer needs — the EIP-712 typed data and its digest for an EVM key (a local
//! key, a browser wallet, a KMS), the exact bytes the wallet secret authenticates for a
//! Paywire ledger wallet. The flow builds the request; whoever holds the key signs it; the flow
//! checks what comes back before it sends anything.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::Reason;
use crate::error::{Error, Result};
use crate::protocol::evm::{self, EvmSignature, PrivateKey};
use crate::protocol::exact::{check_not_zero, format_nonce, ExactAuthorization, PayerKind};
use crate::protocol::ledger::{self, WalletSecret};
use crate::protocol::AnyRequirements;

/// A signature the flow needs.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignRequest {
    /// Which kind of key signs.
    pub payer: PayerKind,
    /// The network of the payment.
    pub network: String,
    /// The asset (token contract, or ledger asset code).
    pub asset: String,
    /// The authorization to sign.
    pub authorization: ExactAuthorization,
    /// EVM: the EIP-712 typed data (`{domain, types, primaryType, message}`), as
    /// `signTypedData` takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typed_data: Option<Value>,
    /// EVM: the 32-byte EIP-712 digest, `0x`-hex, for signers that sign digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl SignRequest {
    /// The request for paying `requirements` as `from` (an EVM address or a ledger wallet id),
    /// with a one-time `nonce`, at `now`. Zero amounts are refused.
    pub fn build(
        requirements: &AnyRequirements,
        payer: PayerKind,
        from: &str,
        nonce: &[u8; 32],
        now: u64,
    ) -> Result<Self> {
        check_not_zero(requirements.amount())?;
        match payer {
            PayerKind::Evm => {
                let address = evm::Address::parse(from)?;
                let domain = evm::domain_for(requirements)?;
                let transfer = evm::build_authorization(requirements, address, nonce, now)?;
                let digest = domain.signing_digest(&transfer);
                let authorization = ExactAuthorization {
                    from: transfer.from.to_checksum(),
                    to: transfer.to.to_checksum(),
                    value: transfer.value,
                    valid_after: transfer.valid_after,
                    valid_before: transfer.valid_before,
                    nonce: format_nonce(&transfer.nonce),
                };
                let typed_data = json!({
                    "domain": {
                        "name": domain.name,
                        "version": domain.version,
                        "chainId": domain.chain_id,
                        "verifyingContract": domain.verifying_contract.to_checksum(),
                    },
                    "types": {"TransferWithAuthorization": [
                        {"name": "from", "type": "address"},
                        {"name": "to", "type": "address"},
                        {"name": "value", "type": "uint256"},
                        {"name": "validAfter", "type": "uint256"},
                        {"name": "validBefore", "type": "uint256"},
                        {"name": "nonce", "type": "bytes32"},
                    ]},
                    "primaryType": "TransferWithAuthorization",
                    "message": {
                        "from": authorization.from,
                        "to": authorization.to,
                        "value": authorization.value.to_string(),
                        "validAfter": authorization.valid_after.to_string(),
                        "validBefore": authorization.valid_before.to_string(),
                        "nonce": authorization.nonce,
                    },
                });
                Ok(SignRequest {
                    payer,
                    network: requirements.network().to_string(),
                    asset: requirements.asset().to_string(),
                    authorization,
                    typed_data: Some(typed_data),
                    digest: Some(format!("0x{}", hex::encode(digest))),
                })
            }
            PayerKind::Ledger => {
                if !crate::network::is_ledger_network(requirements.network()) {
                    return Err(Error::payment_invalid(
                        Reason::InvalidNetwork,
                        "the ledger scheme pays only on paywire:<ledger-id> networks",
                    ));
                }
                Ok(SignRequest {
                    payer,
                    network: requirements.network().to_string(),
                    asset: requirements.asset().to_string(),
                    authorization: ledger::build_authorization(requirements, from, nonce, now),
                    typed_data: None,
                    digest: None,
                })
            }
        }
    }

    /// Signs with a local EVM key: 65 bytes `r‖s‖v`, `0x`-hex (RFC 6979, deterministic).
    pub fn sign_evm(&self, key: &PrivateKey) -> Result<String> {
        let digest = self.evm_digest()?;
        Ok(key.sign_digest(&digest).to_hex())
    }

    /// Signs with a ledger wallet's secret: the HMAC-SHA256 of the ledger scheme.
    pub fn sign_ledger(&self, secret: &WalletSecret) -> Result<String> {
        ledger::sign_authorization(secret, &self.network, &self.asset, &self.authorization)
    }

    fn evm_digest(&self) -> Result<[u8; 32]> {
        let digest = self.digest.as_deref().ok_or_else(|| {
            Error::InvalidArgument("this request is not for an EVM signer".into())
        })?;
        super::bytes_of::<32>(digest, "digest")
    }

    /// Checks a signature a signer returned before it is sent: for EVM, that it recovers to
    /// `authorization.from` (a wrong key or a confused wallet is caught here, not by the
    /// facilitator); for the ledger, that it is 32 bytes of hex.
    pub fn check_signature(&self, signature: &str) -> Result<()> {
        match self.payer {
            PayerKind::Evm => {
                let signature = EvmSignature::from_hex(signature)?;
                let signer = signature.recover(&self.evm_digest()?)?;
                if signer.to_checksum() != self.authorization.from {
                    return Err(Error::payment_invalid(
                        Reason::InvalidExactEvmSignature,
                        format!(
                            "the signer returned a signature by {}, not by {}",
                            signer.to_checksum(),
                            self.authorization.from
                        ),
                    ));
                }
                Ok(())
            }
            PayerKind::Ledger => super::bytes_of::<32>(signature, "signature")
                .map(|_| ())
                .map_err(|_| {
                    Error::payment_invalid(
                        Reason::InvalidExactEvmSignature,
                        "a ledger signature is 32 bytes of 0x-hex",
                    )
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn requirements(amount: &str) -> AnyRequirements {
        AnyRequirements::from_json_value(json!({"scheme": "exact", "network": "eip155:84532",
            "amount": amount, "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "maxTimeoutSeconds": 60,
            "extra": {"name": "USDC", "version": "2"}}))
        .unwrap()
    }

    #[test]
    fn an_evm_request_signs_and_checks_like_sign_payment() {
        let key = PrivateKey::from_hex(KEY).unwrap();
        let from = key.address().to_checksum();
        let request = SignRequest::build(
            &requirements("10000"),
            PayerKind::Evm,
            &from,
            &[7; 32],
            1_000,
        )
        .unwrap();
        let signature = request.sign_evm(&key).unwrap();
        let direct = evm::sign_payment(&requirements("10000"), &key, &[7; 32], 1_000).unwrap();
        assert_eq!(signature, direct.signature);
        assert_eq!(request.authorization, direct.authorization);
        request.check_signature(&signature).unwrap();
        let other = PrivateKey::from_bytes(&[9; 32]).unwrap();
        assert_eq!(
            request
                .check_signature(&request.sign_evm(&other).unwrap())
                .unwrap_err()
                .code(),
            code::reason::InvalidExactEvmSignature
        );
        assert_eq!(
            request.typed_data.as_ref().unwrap()["message"]["value"],
            "10000"
        );
        assert_eq!(
            SignRequest::build(&requirements("0"), PayerKind::Evm, &from, &[7; 32], 1_000)
                .unwrap_err()
                .code(),
            code::reason::InvalidExactEvmPayloadAuthorizationValue
        );
    }
}
