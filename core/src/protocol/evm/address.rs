//! 20-byte EVM addresses: parsing (EIP-55 checksums enforced in mixed case), EIP-55 printing,
//! and Keccak-256.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha3::{Digest, Keccak256};

use crate::error::truncate_for_message;
use crate::error::{Error, Result};

/// Keccak-256 (Ethereum's hash, not NIST SHA3-256).
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

/// An EVM address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address([u8; 20]);

impl Address {
    /// The address with these bytes.
    pub const fn from_bytes(bytes: [u8; 20]) -> Self {
        Address(bytes)
    }

    /// The 20 bytes.
    pub const fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Parses `0x` + 40 hex digits. All-lowercase and all-uppercase forms carry no checksum and
    /// are accepted; a mixed-case form must be the exact EIP-55 checksum, else
    /// [`Error::EvmAddressChecksumInvalid`] (a typo in a checksummed address is caught).
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = || Error::EvmAddressInvalid(truncate_for_message(text).to_string());
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .ok_or_else(invalid)?;
        if digits.len() != 40 {
            return Err(invalid());
        }
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| invalid())?;
        let address = Address(bytes);
        let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
        let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
        if has_lower && has_upper && address.checksum_digits() != digits {
            return Err(Error::EvmAddressChecksumInvalid(
                truncate_for_message(text).to_string(),
            ));
        }
        Ok(address)
    }

    /// The 40 hex digits with EIP-55 capitalization.
    fn checksum_digits(&self) -> String {
        let lower = hex::encode(self.0);
        let hash = keccak256(lower.as_bytes());
        lower
            .char_indices()
            .map(|(i, c)| {
                let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
                if c.is_ascii_alphabetic() && nibble >= 8 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }

    /// `0x` + the EIP-55 checksummed digits.
    pub fn to_checksum(&self) -> String {
        format!("0x{}", self.checksum_digits())
    }

    /// The address as a 32-byte ABI word (left-padded with zeros).
    pub fn to_word(&self) -> [u8; 32] {
        let mut word = [0u8; 32];
        word[12..].copy_from_slice(&self.0);
        word
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.to_checksum())
    }
}

impl FromStr for Address {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Address::parse(text)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_checksum())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Address::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    #[test]
    fn keccak_of_empty_input() {
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn eip55_examples_round_trip() {
        // The test vectors of EIP-55 itself.
        for checksummed in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "0xde709f2102306220921060314715629080e2fb77",
        ] {
            let address = Address::parse(checksummed).unwrap();
            assert_eq!(address.to_checksum(), checksummed);
        }
    }

    #[test]
    fn unchecksummed_forms_are_accepted() {
        let lower = Address::parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").unwrap();
        let upper = Address::parse("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED").unwrap();
        assert_eq!(lower, upper);
        assert_eq!(
            lower.to_checksum(),
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        );
    }

    #[test]
    fn a_wrong_checksum_is_refused() {
        assert_eq!(
            Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")
                .unwrap_err()
                .code(),
            code::error::EvmAddressChecksumInvalid
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "0x",
            "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea",
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedaa",
            "0xzaaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        ] {
            assert_eq!(
                Address::parse(bad).unwrap_err().code(),
                code::error::EvmAddressInvalid,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn words_are_left_padded() {
        let word = Address::from_bytes([0xab; 20]).to_word();
        assert_eq!(&word[..12], &[0u8; 12]);
        assert_eq!(&word[12..], &[0xab; 20]);
    }
}
