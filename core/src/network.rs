//! Network identifiers: CAIP-2 chain ids (v2), the legacy v1 network names, and Paywire ledger
//! networks (`paywire:<ledger-id>`). On the ground floor: money and the protocol both name
//! networks, and neither is below the other.
//!
//! v2 names networks with CAIP-2 (`eip155:84532`); v1 used short names (`base-sepolia`). The
//! table of v1 EVM names is the one Coinbase's SDKs sign with (`EVM_NETWORK_CHAIN_ID_MAP` in
//! `@x402/evm`), plus the two Solana names; lookups are case-insensitive, as theirs are.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::truncate_for_message;
use crate::error::{Error, Result};

/// The CAIP-2 namespace of Paywire ledgers.
pub const LEDGER_NAMESPACE: &str = "paywire";
/// `paywire:`, the prefix of every ledger network.
pub const LEDGER_NAMESPACE_PREFIX: &str = "paywire:";
/// The network pattern standing for every ledger in asset tables.
pub const ANY_LEDGER_NETWORK: &str = "paywire:*";

/// Whether `network` is a Paywire ledger network (`paywire:<ledger-id>`).
pub fn is_ledger_network(network: &str) -> bool {
    network
        .strip_prefix(LEDGER_NAMESPACE_PREFIX)
        .is_some_and(|id| ChainId::parse(network).is_ok() && !id.is_empty())
}

/// The v1 EVM network names and their chain ids.
pub const V1_EVM_NETWORKS: &[(&str, u64)] = &[
    ("ethereum", 1),
    ("sepolia", 11_155_111),
    ("abstract", 2741),
    ("abstract-testnet", 11_124),
    ("base-sepolia", 84_532),
    ("base", 8453),
    ("avalanche-fuji", 43_113),
    ("avalanche", 43_114),
    ("iotex", 4689),
    ("sei", 1329),
    ("sei-testnet", 1328),
    ("polygon", 137),
    ("polygon-amoy", 80_002),
    ("peaq", 3338),
    ("story", 1514),
    ("educhain", 41_923),
    ("skale-base-sepolia", 324_705_682),
    ("megaeth", 4326),
    ("monad", 143),
    ("stable", 988),
    ("stable-testnet", 2201),
];

/// The v1 Solana network names and their CAIP-2 ids.
pub const V1_SOLANA_NETWORKS: &[(&str, &str)] = &[
    ("solana", "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"),
    ("solana-devnet", "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1"),
];

/// A CAIP-2 chain id: `namespace:reference`.
///
/// Namespace: 3–8 characters of `[-a-z0-9]`; reference: 1–32 characters of `[-_a-zA-Z0-9]`,
/// as CAIP-2 specifies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId {
    text: String,
    colon: usize,
}

impl ChainId {
    /// Parses a CAIP-2 chain id, or [`Error::NetworkInvalid`].
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = || Error::NetworkInvalid(truncate_for_message(text).to_string());
        let (namespace, reference) = text.split_once(':').ok_or_else(invalid)?;
        let namespace_ok = (3..=8).contains(&namespace.len())
            && namespace
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let reference_ok = (1..=32).contains(&reference.len())
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !namespace_ok || !reference_ok {
            return Err(invalid());
        }
        Ok(ChainId {
            text: text.to_string(),
            colon: namespace.len(),
        })
    }

    /// `eip155` in `eip155:8453`.
    pub fn namespace(&self) -> &str {
        &self.text[..self.colon]
    }

    /// `8453` in `eip155:8453`.
    pub fn reference(&self) -> &str {
        &self.text[self.colon + 1..]
    }

    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The EVM chain id of an `eip155:<decimal>` network, or `None` for other namespaces.
    pub fn evm_chain_id(&self) -> Option<u64> {
        if self.namespace() != "eip155" {
            return None;
        }
        let reference = self.reference();
        // A chain id is a plain decimal; reject "+1" and leading zeros that would alias ids.
        let canonical = reference.bytes().all(|b| b.is_ascii_digit())
            && !(reference.len() > 1 && reference.starts_with('0'));
        if canonical {
            reference.parse().ok()
        } else {
            None
        }
    }

    /// The v1 name of this network, if it has one.
    pub fn v1_name(&self) -> Option<&'static str> {
        if let Some(chain_id) = self.evm_chain_id() {
            return V1_EVM_NETWORKS
                .iter()
                .find(|(_, id)| *id == chain_id)
                .map(|(name, _)| *name);
        }
        V1_SOLANA_NETWORKS
            .iter()
            .find(|(_, caip2)| *caip2 == self.text)
            .map(|(name, _)| *name)
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for ChainId {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        ChainId::parse(text)
    }
}

impl Serialize for ChainId {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ChainId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        ChainId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The chain id of a v1 EVM network name (case-insensitive), if known.
pub fn v1_evm_chain_id(name: &str) -> Option<u64> {
    V1_EVM_NETWORKS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, id)| *id)
}

/// Resolves either form to CAIP-2: a string containing `:` must be a valid CAIP-2 id and passes
/// through; otherwise it must be a known v1 name.
///
/// Errors: [`Error::NetworkInvalid`] for bad CAIP-2 syntax, [`Error::NetworkUnknown`] for an
/// unknown v1 name.
pub fn resolve(network: &str) -> Result<ChainId> {
    if network.contains(':') {
        return ChainId::parse(network);
    }
    if let Some(chain_id) = v1_evm_chain_id(network) {
        return ChainId::parse(&format!("eip155:{chain_id}"));
    }
    if let Some((_, caip2)) = V1_SOLANA_NETWORKS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(network))
    {
        return ChainId::parse(caip2);
    }
    Err(Error::NetworkUnknown(
        truncate_for_message(network).to_string(),
    ))
}

/// The name a v1 message gives `network`: its v1 name when it has one (`base-sepolia` for
/// `eip155:84532`), else `network` as given. v1 clients read networks only by v1 name.
pub fn v1_form(network: &str) -> &str {
    if !network.contains(':') {
        return network;
    }
    ChainId::parse(network)
        .ok()
        .and_then(|id| id.v1_name())
        .unwrap_or(network)
}

/// Whether a v1 client can read `network`: a known v1 name. Coinbase's v1 clients parse every
/// option of a 402 against their closed list of names and give up on the first they cannot.
pub fn is_v1_name(network: &str) -> bool {
    !network.contains(':') && resolve(network).is_ok()
}

/// The CAIP-2 form of `network` when it is a known v1 name, borrowed when already CAIP-2-shaped,
/// `None` when it is neither. Cheap enough for lookups on hot paths.
pub fn to_caip2(network: &str) -> Option<Cow<'_, str>> {
    if network.contains(':') {
        return Some(Cow::Borrowed(network));
    }
    resolve(network).ok().map(|id| Cow::Owned(id.text))
}

/// Whether two network names denote the same network, in either form (`base` and
/// `eip155:8453` are the same). Allocation-free, for hot paths such as policy evaluation.
pub fn same_network(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.contains(':'), b.contains(':')) {
        (true, true) => false,
        (false, false) => match (v1_caip2(a), v1_caip2(b)) {
            (Some(x), Some(y)) => x.eq(&y),
            _ => false,
        },
        (false, true) => v1_caip2(a).is_some_and(|x| x.matches(b)),
        (true, false) => v1_caip2(b).is_some_and(|y| y.matches(a)),
    }
}

/// A v1 name's CAIP-2 identity without building a string.
#[derive(PartialEq, Eq)]
enum V1Identity {
    Evm(u64),
    Caip2(&'static str),
}

impl V1Identity {
    fn matches(&self, caip2: &str) -> bool {
        match self {
            V1Identity::Evm(id) => caip2.strip_prefix("eip155:").is_some_and(|reference| {
                !(reference.len() > 1 && reference.starts_with('0'))
                    && reference.bytes().all(|b| b.is_ascii_digit())
                    && reference.parse::<u64>().ok() == Some(*id)
            }),
            V1Identity::Caip2(known) => *known == caip2,
        }
    }
}

fn v1_caip2(name: &str) -> Option<V1Identity> {
    if let Some(id) = v1_evm_chain_id(name) {
        return Some(V1Identity::Evm(id));
    }
    V1_SOLANA_NETWORKS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, caip2)| V1Identity::Caip2(caip2))
}

/// The EVM chain id of `network` in either form (`base` or `eip155:8453`).
pub fn evm_chain_id(network: &str) -> Result<u64> {
    let id = resolve(network)?;
    id.evm_chain_id()
        .ok_or_else(|| Error::NetworkInvalid(truncate_for_message(network).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    #[test]
    fn caip2_parts_are_split() {
        let id = ChainId::parse("eip155:84532").unwrap();
        assert_eq!(id.namespace(), "eip155");
        assert_eq!(id.reference(), "84532");
        assert_eq!(id.evm_chain_id(), Some(84532));
        assert_eq!(id.v1_name(), Some("base-sepolia"));
        let solana = ChainId::parse("solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1").unwrap();
        assert_eq!(solana.evm_chain_id(), None);
        assert_eq!(solana.v1_name(), Some("solana-devnet"));
    }

    #[test]
    fn caip2_syntax_is_enforced() {
        for bad in [
            "",
            ":",
            "eip155",
            "eip155:",
            ":1",
            "ab:1",
            "EIP155:1",
            "toolongnamespace:1",
            "eip155:1:2",
            "eip155:a/b",
            "eip155:123456789012345678901234567890123",
        ] {
            assert_eq!(
                ChainId::parse(bad).unwrap_err().code(),
                code::error::NetworkInvalid,
                "{bad:?}"
            );
        }
        assert!(ChainId::parse("paywire:main-ledger_1").is_ok());
    }

    #[test]
    fn non_canonical_evm_references_have_no_chain_id() {
        assert_eq!(ChainId::parse("eip155:0845").unwrap().evm_chain_id(), None);
        assert_eq!(ChainId::parse("eip155:abc").unwrap().evm_chain_id(), None);
        assert_eq!(ChainId::parse("eip155:0").unwrap().evm_chain_id(), Some(0));
    }

    #[test]
    fn v1_messages_name_networks_by_their_v1_names() {
        assert_eq!(v1_form("eip155:84532"), "base-sepolia");
        assert_eq!(v1_form("base"), "base");
        assert_eq!(v1_form("paywire:main"), "paywire:main");
        assert_eq!(v1_form("eip155:999999"), "eip155:999999");
        assert!(is_v1_name("base-sepolia"));
        assert!(!is_v1_name("eip155:84532"));
        assert!(!is_v1_name("paywire:main"));
        assert!(!is_v1_name("mainnet"));
    }

    #[test]
    fn v1_names_resolve_both_ways() {
        for (name, id) in V1_EVM_NETWORKS {
            let caip2 = resolve(name).unwrap();
            assert_eq!(caip2.evm_chain_id(), Some(*id));
            assert_eq!(caip2.v1_name(), Some(*name));
        }
        assert_eq!(resolve("Base-Sepolia").unwrap().as_str(), "eip155:84532");
        assert_eq!(
            resolve("solana").unwrap().as_str(),
            "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"
        );
        assert_eq!(
            resolve("mainnet").unwrap_err().code(),
            code::error::NetworkUnknown
        );
        assert_eq!(
            resolve("toString").unwrap_err().code(),
            code::error::NetworkUnknown
        );
        assert_eq!(evm_chain_id("base").unwrap(), 8453);
        assert_eq!(
            evm_chain_id("solana").unwrap_err().code(),
            code::error::NetworkInvalid
        );
    }

    #[test]
    fn same_network_compares_across_forms() {
        assert!(same_network("base", "eip155:8453"));
        assert!(same_network("eip155:8453", "BASE"));
        assert!(same_network("base", "base"));
        assert!(same_network(
            "solana-devnet",
            "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1"
        ));
        assert!(!same_network("base", "eip155:84532"));
        assert!(!same_network("base", "eip155:08453"));
        assert!(!same_network("base", "base-sepolia"));
        assert!(!same_network("eip155:1", "eip155:01"));
        assert!(!same_network("unknown", "eip155:1"));
        assert!(!same_network("unknown", "unknown2"));
    }
}
