//! A provider's pricing as the server keeps it: its endpoints as a core pricebook (with their
//! bundles), and the ways it accepts payment (the ledger, and devnet USDC when it has an EVM
//! address).

use paywire_core::money::{Asset, AssetRegistry};
use paywire_core::pricing::{PaymentOption, PriceRule, Pricebook};
use paywire_core::token::Bundle;

use crate::base::error::ApiError;
use crate::base::ledger::{ledger_asset, LEDGER_DECIMALS};
use crate::services::state::AppState;
use crate::store;

/// A provider's endpoints as a core pricebook (in registration order) with their bundles.
pub async fn pricebook(
    state: &AppState,
    provider_id: &str,
) -> Result<(Pricebook, Vec<Option<Bundle>>), ApiError> {
    let mut rules = vec![];
    let mut bundles = vec![];
    for (rule, bundle) in store::endpoints::of_provider(&state.pool, provider_id).await? {
        rules.push(
            serde_json::from_str::<PriceRule>(&rule)
                .map_err(|e| ApiError::Internal(format!("stored rule: {e}")))?,
        );
        bundles.push(
            bundle
                .map(|b| serde_json::from_str::<Bundle>(&b))
                .transpose()
                .map_err(|e| ApiError::Internal(format!("stored bundle: {e}")))?,
        );
    }
    let mut book = Pricebook::new(rules);
    book.decimals = LEDGER_DECIMALS;
    book.fee_bps = state.fee_bps;
    Ok((book, bundles))
}

/// The ways a provider accepts payment: the ledger, and devnet USDC when it has an EVM address.
pub async fn payment_options(
    state: &AppState,
    provider_id: &str,
) -> Result<Vec<PaymentOption>, ApiError> {
    let (wallet, evm_address) = store::tenants::provider_payout(&state.pool, provider_id)
        .await?
        .ok_or(ApiError::NotFound("provider"))?;
    let mut options = vec![PaymentOption {
        scheme: "exact".into(),
        asset: ledger_asset(&state.ledger_network),
        pay_to: wallet,
        max_timeout_seconds: 300,
    }];
    if let Some(address) = evm_address {
        let registry = AssetRegistry::with_defaults();
        for network in &state.devnet_networks {
            if let Some(asset) = registry.iter().find(|a: &&Asset| &a.network == network) {
                options.push(PaymentOption {
                    scheme: "exact".into(),
                    asset: asset.clone(),
                    pay_to: address.clone(),
                    max_timeout_seconds: 300,
                });
            }
        }
    }
    Ok(options)
}
