//! Amounts and assets: exact conversions between prices, decimals and atomic units.

use paywire_core::money::{Amount, Asset, AssetRegistry};
use paywire_core::Error;
use rust_decimal::Decimal;

use crate::{small_number, text, Result};

/// An asset of `decimals` decimals; conversions depend on nothing else about it.
fn scale(decimals: f64) -> Result<Asset> {
    // The core judges the scale (`asset_invalid` above its maximum); only the type is ours.
    let decimals = small_number(decimals, "decimals", u64::from(u8::MAX))? as u8;
    Asset::new(
        "eip155:1",
        "0x0000000000000000000000000000000000000000",
        "UNIT",
        decimals,
    )
}

/// A price (`"$0.01"`, `"0.01"`) in atomic units of an asset with `decimals`.
pub fn parse_price(price: &str, decimals: f64) -> Result<String> {
    Ok(scale(decimals)?.parse_price(price)?.to_string())
}

/// An atomic amount (a base-10 integer below 2^128), normalized.
pub fn parse_atomic(text: &str) -> Result<String> {
    Ok(Amount::parse_atomic(text)?.to_string())
}

/// Atomic units as a whole-unit decimal string.
pub fn to_decimal(atomic: &str, decimals: f64) -> Result<String> {
    let asset = scale(decimals)?;
    Ok(asset.to_decimal(Amount::parse_atomic(atomic)?)?.to_string())
}

/// A whole-unit decimal string as atomic units; more precision than `decimals` is an error.
pub fn from_decimal(decimal: &str, decimals: f64) -> Result<String> {
    let asset = scale(decimals)?;
    let value: Decimal = decimal
        .parse()
        .map_err(|_| Error::AmountInvalid(decimal.to_string()))?;
    Ok(asset.from_decimal(value)?.to_string())
}

/// Atomic units formatted for people, trailing zeros dropped.
pub fn format_amount(atomic: &str, decimals: f64) -> Result<String> {
    Ok(scale(decimals)?.format(Amount::parse_atomic(atomic)?))
}

/// An amount re-expressed in other decimals, rounding up when precision is lost.
pub fn rescale_amount(atomic: &str, from_decimals: f64, to_decimals: f64) -> Result<String> {
    let max = u64::from(u8::MAX);
    let from = small_number(from_decimals, "fromDecimals", max)? as u8;
    let to = small_number(to_decimals, "toDecimals", max)? as u8;
    Ok(Amount::parse_atomic(atomic)?.rescale(from, to)?.to_string())
}

/// The built-in asset at `address` on `network` (JSON), if there is one.
pub fn find_asset(network: &str, address: &str) -> Result<Option<String>> {
    AssetRegistry::with_defaults()
        .find(network, address)
        .map(text)
        .transpose()
}
