//! The ledger's identity: its asset, the platform's own wallets, how balances are keyed, and
//! the conversion of core amounts to the database's BIGINT.

use paywire_core::money::{Asset, AssetRegistry};

use crate::base::error::ApiError;

/// The asset code of the Paywire ledger, and its decimals.
pub const LEDGER_ASSET: &str = "USD";
/// Decimals of [`LEDGER_ASSET`].
pub const LEDGER_DECIMALS: u8 = 6;
/// The platform's fee wallet.
pub const PLATFORM_WALLET: &str = "wal_platform";
/// The wallet deposits are booked against, so that a deposit's postings also sum to zero.
pub const DEPOSITS_WALLET: &str = "wal_deposits";
/// The clearing wallet of payouts in flight: created, not yet paid or failed.
pub const PAYOUTS_WALLET: &str = "wal_payouts";

/// The asset key balances are kept under: the ledger's code, or `<caip2>/erc20:<address>` for
/// a devnet EVM token (addresses lower-cased so checksums do not split balances).
pub fn asset_key(network: &str, asset: &str) -> String {
    if paywire_core::network::is_ledger_network(network) {
        asset.to_string()
    } else {
        format!("{network}/erc20:{}", asset.to_ascii_lowercase())
    }
}

/// The asset a balance key stands for (the inverse of [`asset_key`]), for formatting amounts
/// with the asset's own decimals; `None` for a key no table knows.
pub fn asset_of_key(ledger_network: &str, key: &str) -> Option<Asset> {
    if key == LEDGER_ASSET {
        return Some(ledger_asset(ledger_network));
    }
    let (network, address) = key.split_once("/erc20:")?;
    AssetRegistry::with_defaults()
        .find(network, address)
        .cloned()
}

/// The ledger's asset on `ledger_network`.
pub fn ledger_asset(ledger_network: &str) -> Asset {
    Asset::new(ledger_network, LEDGER_ASSET, LEDGER_ASSET, LEDGER_DECIMALS)
        .expect("6 decimals is a valid asset")
}

/// Converts core amounts to the database's BIGINT, refusing what does not fit.
pub fn to_db_amount(amount: paywire_core::Amount) -> Result<i64, ApiError> {
    i64::try_from(amount.atomic()).map_err(|_| ApiError::Core(paywire_core::Error::AmountOverflow))
}

/// The path of a URL (or the text itself when it is already a path).
pub fn url_path(url: &str) -> &str {
    match url.find("://") {
        Some(scheme) => {
            let rest = &url[scheme + 3..];
            rest.find('/').map_or("/", |slash| &rest[slash..])
        }
        None => url,
    }
}

/// Devnet EVM networks: EIP-3009 payments verified for real, settled against ledger balances.
pub const DEVNET_NETWORKS: &[&str] = &["eip155:84532"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_keys_round_trip() {
        assert_eq!(asset_key("paywire:main", "USD"), "USD");
        let key = asset_key("eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e");
        assert_eq!(
            key,
            "eip155:84532/erc20:0x036cbd53842c5426634e7929541ec2318f3dcf7e"
        );
        assert_eq!(asset_of_key("paywire:main", &key).unwrap().decimals, 6);
        assert_eq!(
            asset_of_key("paywire:main", "USD").unwrap().network,
            "paywire:main"
        );
        assert!(asset_of_key("paywire:main", "EUR").is_none());
        assert_eq!(url_path("https://a.com/v1/x?y"), "/v1/x?y");
        assert_eq!(url_path("https://a.com"), "/");
    }
}
