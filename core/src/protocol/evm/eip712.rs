//! EIP-712 hashing for EIP-3009's `TransferWithAuthorization`.
//!
//! `digest = keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash)`, with the domain
//! `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`. A
//! [`Eip712Domain`] computes its separator once at construction, so a verifier that keeps one
//! per token pays only for the struct hash and the digest per payment.

use crate::money::Amount;
use crate::protocol::evm::address::{keccak256, Address};

/// `keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")`.
pub const DOMAIN_TYPEHASH: [u8; 32] =
    hex_literal("8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f");

/// `keccak256("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")`.
pub const TRANSFER_WITH_AUTHORIZATION_TYPEHASH: [u8; 32] =
    hex_literal("7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267");

/// The type strings the typehashes are computed from (checked against the constants in tests).
pub const DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
/// See [`TRANSFER_WITH_AUTHORIZATION_TYPEHASH`].
pub const TRANSFER_WITH_AUTHORIZATION_TYPE: &str = "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)";

/// Decodes 64 hex digits at compile time.
const fn hex_literal(text: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("lowercase hex only"),
        }
    }
    let bytes = text.as_bytes();
    assert!(bytes.len() == 64, "64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(bytes[2 * i]) << 4 | nibble(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

/// An EIP-712 domain of an EIP-3009 token, with its separator computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip712Domain {
    /// The token's EIP-712 `name` (x402 `extra.name`), e.g. `USD Coin`.
    pub name: String,
    /// The token's EIP-712 `version` (x402 `extra.version`), e.g. `2`.
    pub version: String,
    /// The chain id.
    pub chain_id: u64,
    /// The token contract (x402 `asset`).
    pub verifying_contract: Address,
    separator: [u8; 32],
}

impl Eip712Domain {
    /// A domain, hashing its separator now.
    pub fn new(name: &str, version: &str, chain_id: u64, verifying_contract: Address) -> Self {
        let mut encoded = [0u8; 32 * 5];
        encoded[..32].copy_from_slice(&DOMAIN_TYPEHASH);
        encoded[32..64].copy_from_slice(&keccak256(name.as_bytes()));
        encoded[64..96].copy_from_slice(&keccak256(version.as_bytes()));
        encoded[96..128].copy_from_slice(&u256_word(u128::from(chain_id)));
        encoded[128..].copy_from_slice(&verifying_contract.to_word());
        Eip712Domain {
            name: name.to_string(),
            version: version.to_string(),
            chain_id,
            verifying_contract,
            separator: keccak256(&encoded),
        }
    }

    /// The domain separator.
    pub fn separator(&self) -> &[u8; 32] {
        &self.separator
    }

    /// The digest a holder signs to authorize `transfer` under this domain.
    pub fn signing_digest(&self, transfer: &TransferWithAuthorization) -> [u8; 32] {
        let mut message = [0u8; 2 + 32 + 32];
        message[0] = 0x19;
        message[1] = 0x01;
        message[2..34].copy_from_slice(&self.separator);
        message[34..].copy_from_slice(&transfer.struct_hash());
        keccak256(&message)
    }
}

/// EIP-3009's `TransferWithAuthorization` message, typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferWithAuthorization {
    /// The payer.
    pub from: Address,
    /// The recipient.
    pub to: Address,
    /// Atomic units (u128 covers every real token supply; x402 carries it as a string).
    pub value: Amount,
    /// Not valid before (unix seconds).
    pub valid_after: u64,
    /// Not valid from (unix seconds).
    pub valid_before: u64,
    /// The one-time nonce.
    pub nonce: [u8; 32],
}

impl TransferWithAuthorization {
    /// `hashStruct(message)`.
    pub fn struct_hash(&self) -> [u8; 32] {
        let mut encoded = [0u8; 32 * 7];
        encoded[..32].copy_from_slice(&TRANSFER_WITH_AUTHORIZATION_TYPEHASH);
        encoded[32..64].copy_from_slice(&self.from.to_word());
        encoded[64..96].copy_from_slice(&self.to.to_word());
        encoded[96..128].copy_from_slice(&u256_word(self.value.atomic()));
        encoded[128..160].copy_from_slice(&u256_word(u128::from(self.valid_after)));
        encoded[160..192].copy_from_slice(&u256_word(u128::from(self.valid_before)));
        encoded[192..].copy_from_slice(&self.nonce);
        keccak256(&encoded)
    }
}

/// A `uint256` ABI word holding `value`.
fn u256_word(value: u128) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[16..].copy_from_slice(&value.to_be_bytes());
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typehashes_match_their_type_strings() {
        assert_eq!(keccak256(DOMAIN_TYPE.as_bytes()), DOMAIN_TYPEHASH);
        assert_eq!(
            keccak256(TRANSFER_WITH_AUTHORIZATION_TYPE.as_bytes()),
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH
        );
    }

    #[test]
    fn usdc_domain_separators_are_pinned() {
        // The values x402's notes pin (and issue #3102 reproduces on-chain for Monad).
        let base_sepolia = Eip712Domain::new(
            "USDC",
            "2",
            84_532,
            Address::parse("0x036CbD53842c5426634e7929541eC2318f3dCF7e").unwrap(),
        );
        assert_eq!(
            hex::encode(base_sepolia.separator()),
            "71f17a3b2ff373b803d70a5a07c046c1a2bc8e89c09ef722fcb047abe94c9818"
        );
        let base = Eip712Domain::new(
            "USD Coin",
            "2",
            8453,
            Address::parse("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913").unwrap(),
        );
        assert_eq!(
            hex::encode(base.separator()),
            "02fa7265e7c5d81118673727957699e4d68f74cd74b7db77da710fe8a2c7834f"
        );
    }

    #[test]
    fn every_field_changes_the_digest() {
        let domain = Eip712Domain::new("USDC", "2", 84_532, Address::from_bytes([1; 20]));
        let base = TransferWithAuthorization {
            from: Address::from_bytes([2; 20]),
            to: Address::from_bytes([3; 20]),
            value: Amount::new(10_000),
            valid_after: 0,
            valid_before: 100,
            nonce: [4; 32],
        };
        let digest = domain.signing_digest(&base);
        let variants = [
            TransferWithAuthorization {
                from: Address::from_bytes([9; 20]),
                ..base
            },
            TransferWithAuthorization {
                to: Address::from_bytes([9; 20]),
                ..base
            },
            TransferWithAuthorization {
                value: Amount::new(10_001),
                ..base
            },
            TransferWithAuthorization {
                valid_after: 1,
                ..base
            },
            TransferWithAuthorization {
                valid_before: 101,
                ..base
            },
            TransferWithAuthorization {
                nonce: [5; 32],
                ..base
            },
        ];
        for variant in variants {
            assert_ne!(domain.signing_digest(&variant), digest, "{variant:?}");
        }
        let other_chain = Eip712Domain::new("USDC", "2", 8453, Address::from_bytes([1; 20]));
        assert_ne!(other_chain.signing_digest(&base), digest);
    }
}
