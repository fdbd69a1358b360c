//! What every list of the API shares: cursor pagination (`limit`, `starting_after`,
//! `has_more`, `data`), the tenant a caller reads as, and amounts shown in an asset's units. A
//! tenant sees only its own rows (another tenant's row answers exactly as a missing one); the
//! operator sees all and may filter by tenant.

use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::base::error::ApiError;
use crate::base::ledger::asset_of_key;
use crate::services::auth::{Caller, TenantKind};
use crate::services::state::AppState;
use crate::store::lists::{Bind, Page};

/// Rows per page when `limit` is absent.
pub const DEFAULT_LIMIT: i64 = 10;

/// The most rows a page holds.
pub const MAX_LIMIT: i64 = 100;

/// The page size asked for: [`DEFAULT_LIMIT`] when absent, `limit_invalid` outside 1–[`MAX_LIMIT`].
pub fn limit_of(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::Invalid {
            code: "limit_invalid",
            message: format!("limit must be from 1 to {MAX_LIMIT}, got {n}"),
        }),
    }
}

/// The tenant a tenant caller is confined to (`None` for the operator), if it holds `read`.
pub fn reader(caller: &Caller) -> Result<Option<(&str, TenantKind)>, ApiError> {
    match caller {
        Caller::Operator => Ok(None),
        Caller::Tenant { id, kind, scopes } => {
            if scopes.iter().any(|s| s == "read") {
                Ok(Some((id.as_str(), *kind)))
            } else {
                Err(ApiError::Forbidden("read"))
            }
        }
    }
}

/// A page of `data` as the API answers it.
pub fn list<T>(data: Vec<T>, has_more: bool) -> Json<ListOf<T>> {
    Json(ListOf {
        object: "list".into(),
        data,
        has_more,
    })
}

/// A `starting_after` that names no row of the list (`cursor_invalid`).
pub fn cursor_not_found() -> ApiError {
    ApiError::Invalid {
        code: "cursor_invalid",
        message: "starting_after names no row of this list".into(),
    }
}

/// Formats atomic units of a balance key in the asset's decimals (atomic when unknown).
pub fn decimal(state: &AppState, asset: &str, atomic: i64) -> String {
    let amount = paywire_core::Amount::new(u128::try_from(atomic).unwrap_or(0));
    match asset_of_key(&state.ledger_network, asset) {
        Some(asset) => asset.format(amount),
        None => amount.to_string(),
    }
}

/// Signed atomic units of a balance key in the asset's decimals (atomic when unknown).
pub fn signed_amount(state: &AppState, asset: &str, atomic: i128) -> String {
    let magnitude = paywire_core::Amount::new(atomic.unsigned_abs());
    let text = match asset_of_key(&state.ledger_network, asset) {
        Some(asset) => asset.format(magnitude),
        None => magnitude.to_string(),
    };
    if atomic < 0 {
        format!("-{text}")
    } else {
        text
    }
}

/// A page of a tenant's rows (`x.tenant_id`): the caller's own, or for the operator all or
/// `tenant`'s.
pub fn tenant_page(
    caller: &Caller,
    limit: Option<i64>,
    starting_after: Option<String>,
    tenant: Option<String>,
) -> Result<Page, ApiError> {
    let mut page = Page {
        limit: limit_of(limit)?,
        starting_after,
        ..Default::default()
    };
    match (reader(caller)?, tenant) {
        (Some((own, _)), _) => page.filter("x.tenant_id = ?", Bind::Text(own.into())),
        (None, Some(tenant)) => page.filter("x.tenant_id = ?", Bind::Text(tenant)),
        (None, None) => {}
    }
    Ok(page)
}

/// A page of a list: Stripe's shape. Ask for the next page with `starting_after` set to the
/// last `id` of `data` while `has_more` is true.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ListOf<T> {
    /// Always `list`.
    pub object: String,
    /// The rows, newest first.
    pub data: Vec<T>,
    /// Whether rows follow the last one.
    pub has_more: bool,
}

/// Paging parameters alone.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Rows per page, 1–100 [default: 10].
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// The `id` of the last row of the previous page.
    pub starting_after: Option<String>,
}
