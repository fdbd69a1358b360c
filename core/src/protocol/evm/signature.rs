//! secp256k1 signatures as EIP-3009 uses them: 65-byte `r ‖ s ‖ v`, recovery of the signer's
//! address, and private keys that sign deterministically (RFC 6979).

use std::fmt;

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::scalar::IsHigh;
use zeroize::Zeroizing;

use crate::error::Reason;
use crate::error::{Error, Result};
use crate::protocol::evm::address::{keccak256, Address};

/// The length of an EOA signature: `r` (32) ‖ `s` (32) ‖ `v` (1).
pub const SIGNATURE_LEN: usize = 65;

fn invalid_signature(message: &str) -> Error {
    Error::payment_invalid(Reason::InvalidExactEvmSignature, message)
}

/// A well-formed, non-malleable ECDSA signature with its recovery id.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EvmSignature {
    signature: Signature,
    recovery: RecoveryId,
}

impl fmt::Debug for EvmSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EvmSignature(0x{})", hex::encode(self.to_bytes()))
    }
}

impl EvmSignature {
    /// Parses 65 bytes `r ‖ s ‖ v` with `v` as 27/28 or 0/1.
    ///
    /// Refused, as the USDC contract's `ECRecover` refuses them: a zero or out-of-range `r` or
    /// `s`, a high `s` (the malleable twin of a valid signature), any other `v`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != SIGNATURE_LEN {
            return Err(invalid_signature("an EOA signature is 65 bytes"));
        }
        let signature = Signature::from_slice(&bytes[..64])
            .map_err(|_| invalid_signature("r or s is out of range"))?;
        if bool::from(signature.s().is_high()) {
            return Err(invalid_signature(
                "s is in the upper half of the curve order (malleable)",
            ));
        }
        let is_y_odd = match bytes[64] {
            0 | 27 => false,
            1 | 28 => true,
            _ => return Err(invalid_signature("v must be 27, 28, 0 or 1")),
        };
        Ok(EvmSignature {
            signature,
            recovery: RecoveryId::new(is_y_odd, false),
        })
    }

    /// Parses `0x`-hex.
    pub fn from_hex(text: &str) -> Result<Self> {
        let digits = text
            .strip_prefix("0x")
            .ok_or_else(|| invalid_signature("a signature is 0x-prefixed hex"))?;
        let mut bytes = [0u8; SIGNATURE_LEN];
        hex::decode_to_slice(digits, &mut bytes)
            .map_err(|_| invalid_signature("a signature is 65 bytes of hex"))?;
        EvmSignature::from_bytes(&bytes)
    }

    /// `r ‖ s ‖ v` with `v` as 27/28, as wallets and viem produce it.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        let mut bytes = [0u8; SIGNATURE_LEN];
        bytes[..64].copy_from_slice(&self.signature.to_bytes());
        bytes[64] = 27 + u8::from(self.recovery.is_y_odd());
        bytes
    }

    /// `0x` + 130 hex digits.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.to_bytes()))
    }

    /// The address that signed `digest` (one public-key recovery, no separate verification:
    /// recovery succeeding for the claimed address is the verification).
    ///
    /// With the `secp256k1` feature (native builds) the recovery runs in libsecp256k1, about
    /// twice as fast as the pure-Rust `k256` used otherwise (and for wasm); both give the same
    /// answers on every vector.
    pub fn recover(&self, digest: &[u8; 32]) -> Result<Address> {
        #[cfg(feature = "secp256k1")]
        {
            self.recover_libsecp256k1(digest)
        }
        #[cfg(not(feature = "secp256k1"))]
        {
            self.recover_k256(digest)
        }
    }

    /// Recovery in pure Rust (`k256`).
    pub fn recover_k256(&self, digest: &[u8; 32]) -> Result<Address> {
        let key = VerifyingKey::recover_from_prehash(digest, &self.signature, self.recovery)
            .map_err(|_| invalid_signature("no public key recovers from this signature"))?;
        Ok(address_of(&key))
    }

    /// Recovery in libsecp256k1 (the `secp256k1` crate).
    #[cfg(feature = "secp256k1")]
    pub fn recover_libsecp256k1(&self, digest: &[u8; 32]) -> Result<Address> {
        use secp256k1::ecdsa::{RecoverableSignature, RecoveryId as Id};
        let id = Id::try_from(i32::from(self.recovery.is_y_odd()))
            .map_err(|_| invalid_signature("v must be 27, 28, 0 or 1"))?;
        let signature = RecoverableSignature::from_compact(&self.signature.to_bytes(), id)
            .map_err(|_| invalid_signature("r or s is out of range"))?;
        let key = secp256k1::SECP256K1
            .recover_ecdsa(secp256k1::Message::from_digest(*digest), &signature)
            .map_err(|_| invalid_signature("no public key recovers from this signature"))?;
        let hash = keccak256(&key.serialize_uncompressed()[1..]);
        let mut bytes = [0u8; 20];
        bytes.copy_from_slice(&hash[12..]);
        Ok(Address::from_bytes(bytes))
    }
}

/// The address of a public key: the last 20 bytes of keccak256 of its uncompressed point.
fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_sec1_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    let mut bytes = [0u8; 20];
    bytes.copy_from_slice(&hash[12..]);
    Address::from_bytes(bytes)
}

/// A secp256k1 private key. Redacted in `Debug`; its scalar is zeroized on drop.
#[derive(Clone)]
pub struct PrivateKey {
    key: SigningKey,
    address: Address,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, <redacted>)", self.address)
    }
}

impl PrivateKey {
    /// A key from its 32 bytes; zero or ≥ the curve order is [`Error::EvmPrivateKeyInvalid`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let key = SigningKey::from_slice(bytes)
            .map_err(|_| Error::EvmPrivateKeyInvalid("a private key is 32 bytes in 1..n".into()))?;
        let address = address_of(key.verifying_key());
        Ok(PrivateKey { key, address })
    }

    /// A key from `0x`-hex (the prefix is optional).
    pub fn from_hex(text: &str) -> Result<Self> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let bytes =
            Zeroizing::new(hex::decode(digits).map_err(|_| {
                Error::EvmPrivateKeyInvalid("a private key is 64 hex digits".into())
            })?);
        PrivateKey::from_bytes(&bytes)
    }

    /// The key's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest with an RFC 6979 deterministic nonce; `s` is normalized low.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> EvmSignature {
        let (signature, recovery) = self.key.sign_prehash_recoverable(digest);
        EvmSignature {
            signature,
            recovery,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::code;
    #[cfg(feature = "secp256k1")]
    #[test]
    fn both_backends_recover_the_same_address() {
        use sha2::{Digest, Sha256};
        for i in 0u32..300 {
            let seed: [u8; 32] = Sha256::digest(i.to_be_bytes()).into();
            let key = PrivateKey::from_bytes(&seed).unwrap();
            let digest: [u8; 32] = Sha256::digest(seed).into();
            let signature = key.sign_digest(&digest);
            let pure = signature.recover_k256(&digest).unwrap();
            assert_eq!(pure, key.address());
            assert_eq!(
                signature.recover_libsecp256k1(&digest).unwrap(),
                pure,
                "key {i}"
            );
            // Another digest recovers another address, identically in both.
            let other: [u8; 32] = Sha256::digest(digest).into();
            assert_eq!(
                signature.recover_libsecp256k1(&other).ok(),
                signature.recover_k256(&other).ok(),
                "key {i}, other digest"
            );
        }
    }

    use super::*;

    // The well-known first Hardhat/Anvil development key.
    const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const DEV_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    #[test]
    fn private_keys_know_their_address() {
        let key = PrivateKey::from_hex(DEV_KEY).unwrap();
        assert_eq!(key.address().to_checksum(), DEV_ADDRESS);
    }

    #[test]
    fn sign_then_recover_is_the_signer() {
        let key = PrivateKey::from_hex(DEV_KEY).unwrap();
        let digest = keccak256(b"paywire");
        let signature = key.sign_digest(&digest);
        assert_eq!(signature.recover(&digest).unwrap(), key.address());
        let again = EvmSignature::from_hex(&signature.to_hex()).unwrap();
        assert_eq!(again, signature);
        assert!(matches!(signature.to_bytes()[64], 27 | 28));
    }

    #[test]
    fn v_as_zero_or_one_is_the_same_signature() {
        let key = PrivateKey::from_hex(DEV_KEY).unwrap();
        let digest = keccak256(b"v forms");
        let mut bytes = key.sign_digest(&digest).to_bytes();
        bytes[64] -= 27;
        assert_eq!(
            EvmSignature::from_bytes(&bytes)
                .unwrap()
                .recover(&digest)
                .unwrap(),
            key.address()
        );
        bytes[64] = 2;
        assert_eq!(
            EvmSignature::from_bytes(&bytes).unwrap_err().code(),
            code::reason::InvalidExactEvmSignature
        );
    }

    #[test]
    fn the_high_s_twin_is_refused() {
        let key = PrivateKey::from_hex(DEV_KEY).unwrap();
        let digest = keccak256(b"malleability");
        let low = key.sign_digest(&digest).to_bytes();
        // s' = n - s with the opposite v recovers the same key, so it must be refused.
        let n = hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            .unwrap();
        let mut high_s = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let diff = i16::from(n[i]) - i16::from(low[32 + i]) - borrow;
            high_s[i] = diff.rem_euclid(256) as u8;
            borrow = i16::from(diff < 0);
        }
        let mut twin = low;
        twin[32..64].copy_from_slice(&high_s);
        twin[64] = if low[64] == 27 { 28 } else { 27 };
        assert_eq!(
            EvmSignature::from_bytes(&twin).unwrap_err().code(),
            code::reason::InvalidExactEvmSignature
        );
    }

    #[test]
    fn malformed_signatures_are_refused() {
        for bad in [&[0u8; 64][..], &[0u8; 66][..], &[0u8; 65][..]] {
            assert_eq!(
                EvmSignature::from_bytes(bad).unwrap_err().code(),
                code::reason::InvalidExactEvmSignature
            );
        }
        assert!(EvmSignature::from_hex("1234").is_err());
        assert!(EvmSignature::from_hex("0x12zz").is_err());
    }

    #[test]
    fn invalid_private_keys_are_refused_and_keys_are_redacted() {
        assert_eq!(
            PrivateKey::from_bytes(&[0u8; 32]).unwrap_err().code(),
            code::error::EvmPrivateKeyInvalid
        );
        assert_eq!(
            PrivateKey::from_bytes(&[0xff; 32]).unwrap_err().code(),
            code::error::EvmPrivateKeyInvalid
        );
        assert_eq!(
            PrivateKey::from_hex("0xnope").unwrap_err().code(),
            code::error::EvmPrivateKeyInvalid
        );
        let debug = format!("{:?}", PrivateKey::from_hex(DEV_KEY).unwrap());
        assert!(debug.contains(DEV_ADDRESS) && debug.contains("redacted"));
        assert!(!debug.contains("ac0974bec39a17e36ba4"));
    }
}
