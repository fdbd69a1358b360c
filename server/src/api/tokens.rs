//! `POST /v1/tokens/verify`: a provider checks an access token for a request and counts a use.

use axum::extract::State;
use axum::Json;
use paywire_core::token::{Claims, TokenRequest};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::base::body::JsonBody;
use crate::base::error::ApiError;
use crate::base::util::now;
use crate::services::auth::Caller;
use crate::services::state::AppState;
use crate::store;

/// `POST /v1/tokens/verify`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyToken {
    /// The token as presented.
    pub token: String,
    /// The request's method.
    pub method: String,
    /// The request's resource URL.
    pub resource: String,
}

/// A token that admits the request; this use is counted.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TokenVerified {
    /// Always `true` (a refusal is an error).
    pub valid: bool,
    /// The effective claims.
    pub claims: Claims,
    /// The key it was signed under.
    pub kid: String,
    /// Which use this is, from 1.
    #[serde(rename = "use")]
    pub use_number: i64,
}

/// `POST /v1/tokens/verify` (the issuing provider's key): checks a token for a request and
/// counts one use, atomically — a token with N uses admits exactly N requests, however many
/// arrive at once.
pub async fn post_verify_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<VerifyToken>,
) -> Result<Json<TokenVerified>, ApiError> {
    let seen = paywire_core::token::inspect(&body.token)?;
    let (provider, uses) = store::tokens::provider_and_uses(&state.pool, &seen.claims.id)
        .await?
        .ok_or(ApiError::Core(paywire_core::Error::TokenSignatureInvalid))?;
    caller.require_tenant(&provider, "read", "token")?;
    // The rule of the provider's own pricebook that prices this request: a bundle token is
    // valid only where the rule that sold it is that rule.
    let (book, _) = crate::services::pricing::pricebook(&state, &provider).await?;
    let route = book
        .route_unambiguous(&body.method, crate::base::ledger::url_path(&body.resource))?
        .map(|index| book.rules[index].route_key());
    let request = TokenRequest::new(&body.method, &body.resource).priced_by(route.as_deref());
    let verified = state.token_keys.verify(
        &body.token,
        request,
        now(),
        u64::try_from(uses).unwrap_or(0),
    )?;
    // The effective (narrowest) use limit of this copy of the token decides.
    let limit = verified
        .claims
        .max_uses
        .map(|m| i64::try_from(m).unwrap_or(i64::MAX));
    if !store::tokens::count_use(&state.pool, &verified.claims.id, limit).await? {
        let max_uses = verified.claims.max_uses.unwrap_or(0);
        return Err(ApiError::Core(paywire_core::Error::TokenUsesExhausted {
            used: max_uses,
            max_uses,
        }));
    }
    Ok(Json(TokenVerified {
        valid: true,
        claims: verified.claims,
        kid: verified.kid,
        use_number: uses + 1,
    }))
}
