//! Amounts and assets: exact integers of atomic units, never binary floating point.
//!
//! An [`Amount`] is a count of an asset's smallest units (USDC has 6 decimals, so `10000` is
//! one cent). It is a `u128`, travels as a decimal string as x402 does, and converts exactly to
//! and from `rust_decimal::Decimal` in whole units through the [`Asset`] that gives it meaning.
//!
//! Two text forms are parsed, and never guessed between:
//! - [`Asset::parse_price`]: whole units as people write prices, `"$0.01"` or `"0.01"` or `"2"`;
//! - [`Amount::parse_atomic`]: atomic units as x402 carries them, `"10000"`.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{truncate_for_message, Error, Result};

/// The largest number of decimals an asset may have: `rust_decimal::Decimal`'s maximum scale,
/// so every amount of every asset converts to a `Decimal` without rounding.
pub const MAX_DECIMALS: u8 = 28;

/// A non-negative count of an asset's atomic units.
///
/// Serialized as a decimal string (`"10000"`), as x402 carries amounts; deserialized from such a
/// string or, for hand-written configuration, from a non-negative JSON integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(u128);

impl Amount {
    /// Zero atomic units.
    pub const ZERO: Amount = Amount(0);
    /// The largest representable amount.
    pub const MAX: Amount = Amount(u128::MAX);

    /// An amount of `atomic` units.
    pub const fn new(atomic: u128) -> Self {
        Amount(atomic)
    }

    /// The count of atomic units.
    pub const fn atomic(self) -> u128 {
        self.0
    }

    /// Whether this is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses atomic units written as a plain decimal integer (`"10000"`).
    ///
    /// Digits only: no sign, no fraction, no exponent, no separators, no surrounding space.
    /// `"-1"` is [`Error::AmountNegative`]; a value above `u128::MAX` is [`Error::AmountOverflow`].
    pub fn parse_atomic(text: &str) -> Result<Self> {
        if text.starts_with('-') && text.len() > 1 && text[1..].bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Error::AmountNegative);
        }
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::AmountInvalid(format!(
                "{:?} is not an integer count of atomic units",
                truncate_for_message(text)
            )));
        }
        let mut value: u128 = 0;
        for digit in text.bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(digit - b'0')))
                .ok_or(Error::AmountOverflow)?;
        }
        Ok(Amount(value))
    }

    /// `self + other`, or [`Error::AmountOverflow`].
    pub fn checked_add(self, other: Amount) -> Result<Amount> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(Error::AmountOverflow)
    }

    /// `self - other`, or `None` when `other` is larger.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// `self × factor`, or [`Error::AmountOverflow`].
    pub fn checked_mul(self, factor: u128) -> Result<Amount> {
        self.0
            .checked_mul(factor)
            .map(Amount)
            .ok_or(Error::AmountOverflow)
    }

    /// Re-expresses this amount from an asset with `from_decimals` to one with `to_decimals`.
    ///
    /// Scaling up is exact (or overflows). Scaling down rounds **up**, so a price carried to a
    /// coarser asset is never undercharged; the result is exact whenever the dropped digits are
    /// zero.
    pub fn rescale(self, from_decimals: u8, to_decimals: u8) -> Result<Amount> {
        if to_decimals >= from_decimals {
            let factor = pow10(to_decimals - from_decimals).ok_or(Error::AmountOverflow)?;
            self.checked_mul(factor)
        } else {
            let divisor = pow10(from_decimals - to_decimals).ok_or(Error::AmountOverflow)?;
            Ok(Amount(self.0.div_ceil(divisor)))
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Amount {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Amount::parse_atomic(text)
    }
}

impl From<u64> for Amount {
    fn from(atomic: u64) -> Self {
        Amount(u128::from(atomic))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct AmountVisitor;
        impl serde::de::Visitor<'_> for AmountVisitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string of atomic units")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> std::result::Result<Amount, E> {
                Amount::parse_atomic(text).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> std::result::Result<Amount, E> {
                Ok(Amount::from(value))
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> std::result::Result<Amount, E> {
                u64::try_from(value)
                    .map(Amount::from)
                    .map_err(|_| E::custom(Error::AmountNegative))
            }
        }
        deserializer.deserialize_any(AmountVisitor)
    }
}

/// Reads an [`Amount`] only from a decimal string, as x402 carries amounts on the wire: a JSON
/// number is refused, since JavaScript peers read numbers as binary floats (`10000000000000001`
/// arrives as `10000000000000000`). For `#[serde(deserialize_with = ...)]` on wire fields;
/// configuration keeps accepting numbers.
pub fn atomic_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Amount, D::Error> {
    struct TextVisitor;
    impl serde::de::Visitor<'_> for TextVisitor {
        type Value = Amount;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a decimal string of atomic units (x402 amounts are strings)")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> std::result::Result<Amount, E> {
            Amount::parse_atomic(text).map_err(E::custom)
        }
    }
    deserializer.deserialize_str(TextVisitor)
}

/// An asset that can be paid: where it lives, how many decimals it has, and the x402 `extra`
/// fields a payment in it needs (for EIP-3009 tokens, the EIP-712 `name` and `version`).
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Asset {
    /// The network: a CAIP-2 id (`eip155:8453`), or `paywire:*` for every Paywire ledger.
    pub network: String,
    /// The x402 `asset` value: a token contract address, or a ledger asset code such as `USD`.
    pub address: String,
    /// A short human name (`USDC`).
    pub symbol: String,
    /// How many decimal places one whole unit has (USDC: 6). At most [`MAX_DECIMALS`].
    pub decimals: u8,
    /// Fields copied into x402 `PaymentRequirements.extra` when pricing in this asset.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

impl Asset {
    /// An asset with no `extra` fields. Fails when `decimals` exceeds [`MAX_DECIMALS`].
    pub fn new(
        network: impl Into<String>,
        address: impl Into<String>,
        symbol: impl Into<String>,
        decimals: u8,
    ) -> Result<Self> {
        let asset = Asset {
            network: network.into(),
            address: address.into(),
            symbol: symbol.into(),
            decimals,
            extra: Map::new(),
        };
        asset.validate()?;
        Ok(asset)
    }

    /// Checks the definition: at most [`MAX_DECIMALS`] decimals and a non-empty address.
    pub fn validate(&self) -> Result<()> {
        if self.decimals > MAX_DECIMALS {
            return Err(Error::AssetInvalid(format!(
                "{} has {} decimals; at most {MAX_DECIMALS} are supported",
                self.symbol, self.decimals
            )));
        }
        if self.address.is_empty() {
            return Err(Error::AssetInvalid("asset address is empty".into()));
        }
        Ok(())
    }

    /// Parses a price in whole units: `"$0.01"`, `"0.01"`, `"2"`, `"1.50"`.
    ///
    /// The grammar is an optional `$`, digits, and optionally `.` followed by digits. Trailing
    /// fractional zeros beyond the asset's decimals are accepted (`"0.0100000"` for 6 decimals);
    /// any other extra precision is [`Error::AmountTooPrecise`], never rounded.
    pub fn parse_price(&self, text: &str) -> Result<Amount> {
        parse_whole_units(text, self.decimals)
    }

    /// The amount in whole units, exactly (`10000` USDC atomic units → `0.01`).
    pub fn to_decimal(&self, amount: Amount) -> Result<Decimal> {
        let mantissa = i128::try_from(amount.0).map_err(|_| Error::AmountOverflow)?;
        Decimal::try_from_i128_with_scale(mantissa, u32::from(self.decimals))
            .map(|d| d.normalize())
            .map_err(|_| Error::AmountOverflow)
    }

    /// The atomic amount for `value` whole units, exactly, or an error: negative values,
    /// more fractional digits than the asset has, or overflow.
    pub fn from_decimal(&self, value: Decimal) -> Result<Amount> {
        decimal_to_atomic(value, self.decimals)
    }

    /// Formats an amount in whole units without trailing zeros (`10000` → `"0.01"`), exactly,
    /// for any `u128`.
    pub fn format(&self, amount: Amount) -> String {
        format_units(amount, self.decimals)
    }
}

/// Converts whole units to atomic units at `decimals`, exactly.
pub(crate) fn decimal_to_atomic(value: Decimal, decimals: u8) -> Result<Amount> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(Error::AmountNegative);
    }
    let value = value.normalize();
    let scale = value.scale();
    if scale > u32::from(decimals) {
        return Err(Error::AmountTooPrecise { decimals });
    }
    let mantissa = value.mantissa().unsigned_abs();
    let factor = pow10(decimals - scale as u8).ok_or(Error::AmountOverflow)?;
    mantissa
        .checked_mul(factor)
        .map(Amount)
        .ok_or(Error::AmountOverflow)
}

/// Parses `[$]digits[.digits]` into atomic units at `decimals`.
pub(crate) fn parse_whole_units(text: &str, decimals: u8) -> Result<Amount> {
    let unsigned = text.strip_prefix('$').unwrap_or(text);
    let (negative, unsigned) = match unsigned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, unsigned),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = !whole.is_empty()
        && digits_ok(whole)
        && fraction.is_none_or(|f| !f.is_empty() && digits_ok(f));
    if !well_formed {
        return Err(Error::AmountInvalid(format!(
            "{:?} is not a price such as \"$0.01\" or \"0.01\"",
            truncate_for_message(text)
        )));
    }
    let fraction = fraction.unwrap_or("").trim_end_matches('0');
    let all_zero = whole.bytes().all(|b| b == b'0') && fraction.is_empty();
    if negative && !all_zero {
        return Err(Error::AmountNegative);
    }
    if fraction.len() > usize::from(decimals) {
        return Err(Error::AmountTooPrecise { decimals });
    }
    let mut value: u128 = 0;
    let padding = usize::from(decimals) - fraction.len();
    let digits = whole
        .bytes()
        .chain(fraction.bytes())
        .chain(std::iter::repeat_n(b'0', padding));
    for digit in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(digit - b'0')))
            .ok_or(Error::AmountOverflow)?;
    }
    Ok(Amount(value))
}

/// Formats atomic units as whole units with no trailing fractional zeros.
pub(crate) fn format_units(amount: Amount, decimals: u8) -> String {
    let digits = amount.0.to_string();
    let decimals = usize::from(decimals);
    if decimals == 0 {
        return digits;
    }
    let padded = if digits.len() <= decimals {
        format!("{}{digits}", "0".repeat(decimals + 1 - digits.len()))
    } else {
        digits
    };
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// `10^exponent` as a `u128`, or `None` past `10^38`.
pub(crate) fn pow10(exponent: u8) -> Option<u128> {
    10u128.checked_pow(u32::from(exponent))
}

/// A table of known assets, looked up by network and address.
///
/// Lookups normalize v1 network names to CAIP-2 (`base` finds `eip155:8453`), compare
/// addresses case-insensitively (EIP-55 checksums are a display form), and let an entry on
/// `paywire:*` stand for every Paywire ledger network.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AssetRegistry {
    assets: Vec<Asset>,
}

impl AssetRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The assets Paywire knows out of the box: USDC on Base and Base Sepolia (with their
    /// EIP-712 domain names), and the `USD` asset of Paywire ledgers (6 decimals).
    pub fn with_defaults() -> Self {
        let mut registry = AssetRegistry::new();
        for asset in default_assets() {
            registry.assets.push(asset);
        }
        registry
    }

    /// Adds or replaces the asset with the same network and address.
    pub fn insert(&mut self, asset: Asset) -> Result<()> {
        asset.validate()?;
        if let Some(existing) = self
            .assets
            .iter_mut()
            .find(|a| a.network == asset.network && a.address.eq_ignore_ascii_case(&asset.address))
        {
            *existing = asset;
        } else {
            self.assets.push(asset);
        }
        Ok(())
    }

    /// The asset at `address` on `network`, if known.
    pub fn find(&self, network: &str, address: &str) -> Option<&Asset> {
        let caip2 = crate::network::to_caip2(network);
        let caip2 = caip2.as_deref().unwrap_or(network);
        let is_ledger = caip2.starts_with(crate::network::LEDGER_NAMESPACE_PREFIX);
        self.assets.iter().find(|asset| {
            let network_matches = asset.network == caip2
                || (is_ledger && asset.network == crate::network::ANY_LEDGER_NETWORK);
            network_matches && asset.address.eq_ignore_ascii_case(address)
        })
    }

    /// Like [`AssetRegistry::find`], but an unknown asset is [`Error::AssetUnknown`].
    pub fn get(&self, network: &str, address: &str) -> Result<&Asset> {
        self.find(network, address)
            .ok_or_else(|| Error::AssetUnknown {
                network: truncate_for_message(network).to_string(),
                asset: truncate_for_message(address).to_string(),
            })
    }

    /// Every asset in the registry.
    pub fn iter(&self) -> impl Iterator<Item = &Asset> {
        self.assets.iter()
    }
}

fn default_assets() -> Vec<Asset> {
    let usdc = |network: &str, address: &str, name: &str| {
        let mut extra = Map::new();
        extra.insert("name".into(), Value::String(name.into()));
        extra.insert("version".into(), Value::String("2".into()));
        Asset {
            network: network.into(),
            address: address.into(),
            symbol: "USDC".into(),
            decimals: 6,
            extra,
        }
    };
    vec![
        usdc(
            "eip155:8453",
            "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
            "USD Coin",
        ),
        usdc(
            "eip155:84532",
            "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            "USDC",
        ),
        Asset {
            network: crate::network::ANY_LEDGER_NETWORK.into(),
            address: "USD".into(),
            symbol: "USD".into(),
            decimals: 6,
            extra: Map::new(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    fn usdc() -> Asset {
        AssetRegistry::with_defaults()
            .get("eip155:84532", "0x036cbd53842c5426634e7929541ec2318f3dcf7e")
            .unwrap()
            .clone()
    }

    #[test]
    fn prices_parse_to_atomic_units() {
        let usdc = usdc();
        assert_eq!(usdc.parse_price("$0.01").unwrap(), Amount::new(10_000));
        assert_eq!(usdc.parse_price("0.01").unwrap(), Amount::new(10_000));
        assert_eq!(usdc.parse_price("2").unwrap(), Amount::new(2_000_000));
        assert_eq!(usdc.parse_price("0.000001").unwrap(), Amount::new(1));
        assert_eq!(
            usdc.parse_price("0.0100000000").unwrap(),
            Amount::new(10_000)
        );
        assert_eq!(usdc.parse_price("$0").unwrap(), Amount::ZERO);
        assert_eq!(usdc.parse_price("-0.00").unwrap(), Amount::ZERO);
    }

    #[test]
    fn bad_prices_have_precise_codes() {
        let usdc = usdc();
        let code = |s: &str| usdc.parse_price(s).unwrap_err().code().to_string();
        assert_eq!(code("0.0000001"), code::error::AmountTooPrecise);
        assert_eq!(code("-0.01"), code::error::AmountNegative);
        assert_eq!(code("$-1"), code::error::AmountNegative);
        for bad in [
            "", "$", ".5", "5.", "1e3", "1,000", " 1", "1 ", "0x10", "$$1", "1.2.3", "+1", "NaN",
        ] {
            assert_eq!(code(bad), code::error::AmountInvalid, "{bad:?}");
        }
        assert_eq!(
            code("1000000000000000000000000000000000"),
            code::error::AmountOverflow
        );
    }

    #[test]
    fn atomic_amounts_parse_strictly() {
        assert_eq!(Amount::parse_atomic("10000").unwrap(), Amount::new(10_000));
        assert_eq!(Amount::parse_atomic("0").unwrap(), Amount::ZERO);
        assert_eq!(
            Amount::parse_atomic(&u128::MAX.to_string()).unwrap(),
            Amount::MAX
        );
        assert_eq!(
            Amount::parse_atomic("340282366920938463463374607431768211456")
                .unwrap_err()
                .code(),
            code::error::AmountOverflow
        );
        assert_eq!(
            Amount::parse_atomic("-5").unwrap_err().code(),
            code::error::AmountNegative
        );
        for bad in ["", "1.0", "1e2", " 1", "one", "-", "0x1"] {
            assert_eq!(
                Amount::parse_atomic(bad).unwrap_err().code(),
                code::error::AmountInvalid,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn decimal_conversion_is_exact_both_ways() {
        let usdc = usdc();
        let d = usdc.to_decimal(Amount::new(10_000)).unwrap();
        assert_eq!(d.to_string(), "0.01");
        assert_eq!(usdc.from_decimal(d).unwrap(), Amount::new(10_000));
        assert_eq!(
            usdc.from_decimal(Decimal::from_str("0.0000005").unwrap())
                .unwrap_err()
                .code(),
            code::error::AmountTooPrecise
        );
        assert_eq!(
            usdc.from_decimal(Decimal::from_str("-1").unwrap())
                .unwrap_err()
                .code(),
            code::error::AmountNegative
        );
        assert_eq!(
            usdc.to_decimal(Amount::MAX).unwrap_err().code(),
            code::error::AmountOverflow
        );
    }

    #[test]
    fn formatting_drops_trailing_zeros_only() {
        let usdc = usdc();
        assert_eq!(usdc.format(Amount::new(10_000)), "0.01");
        assert_eq!(usdc.format(Amount::new(1)), "0.000001");
        assert_eq!(usdc.format(Amount::new(2_500_000)), "2.5");
        assert_eq!(usdc.format(Amount::ZERO), "0");
        assert_eq!(format_units(Amount::new(120), 0), "120");
    }

    #[test]
    fn rescaling_rounds_down_never() {
        assert_eq!(
            Amount::new(15).rescale(6, 18).unwrap(),
            Amount::new(15_000_000_000_000)
        );
        assert_eq!(
            Amount::new(1_000_000_000_001).rescale(18, 6).unwrap(),
            Amount::new(2)
        );
        assert_eq!(
            Amount::new(2_000_000_000_000).rescale(18, 6).unwrap(),
            Amount::new(2)
        );
        assert_eq!(
            Amount::MAX.rescale(0, 1).unwrap_err().code(),
            code::error::AmountOverflow
        );
    }

    #[test]
    fn registry_normalizes_network_names_and_address_case() {
        let registry = AssetRegistry::with_defaults();
        let by_name = registry
            .get("base", "0x833589FCD6EDB6E08F4C7C32D4F71B54BDA02913")
            .unwrap();
        assert_eq!(by_name.extra["name"], "USD Coin");
        assert_eq!(registry.get("paywire:acme", "USD").unwrap().decimals, 6);
        assert_eq!(
            registry.get("eip155:1", "USD").unwrap_err().code(),
            code::error::AssetUnknown
        );
    }

    #[test]
    fn assets_with_too_many_decimals_are_refused() {
        assert_eq!(
            Asset::new("eip155:1", "0xabc", "X", 29).unwrap_err().code(),
            code::error::AssetInvalid
        );
        assert!(Asset::new("eip155:1", "0xabc", "X", 28).is_ok());
    }

    #[test]
    fn amounts_serialize_as_strings_and_accept_integers() {
        assert_eq!(serde_json::to_string(&Amount::new(5)).unwrap(), "\"5\"");
        let a: Amount =
            serde_json::from_str("\"340282366920938463463374607431768211455\"").unwrap();
        assert_eq!(a, Amount::MAX);
        let b: Amount = serde_json::from_str("42").unwrap();
        assert_eq!(b, Amount::new(42));
        assert!(serde_json::from_str::<Amount>("-1").is_err());
        assert!(serde_json::from_str::<Amount>("1.5").is_err());
        assert!(serde_json::from_str::<Amount>("\"1.5\"").is_err());
    }
}
