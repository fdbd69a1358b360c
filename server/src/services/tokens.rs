//! Access tokens sold as bundles: issued inside the settlement transaction, verified (and a use
//! counted atomically) by `POST /v1/tokens/verify`, swept when expired.
//!
//! Only a token's hash and its claims (which are not secret) are stored. A replayed
//! settlement re-signs the stored claims, which gives the very same token: HMAC is
//! deterministic.

use paywire_core::token::{AccessToken, Claims, KeyRing};
use serde_json::Value;
use sqlx::AnyConnection;

use crate::base::error::ApiError;
use crate::base::util::{now, now_i64, random_bytes};
use crate::services::state::AppState;
use crate::store;

/// The extension key under which a settlement returns its access token.
pub use paywire_core::token::ACCESS_TOKEN_EXTENSION;

/// Loads the token key ring (secrets sealed at rest), generating the first key on first start.
pub async fn load_key_ring(
    pool: &sqlx::AnyPool,
    sealer: &crate::infra::secrets::Sealer,
) -> Result<KeyRing, String> {
    let keys = store::tokens::keys(pool).await.map_err(|e| e.to_string())?;
    if keys.is_empty() {
        let kid = format!("k{}", now());
        let secret = zeroize::Zeroizing::new(random_bytes::<32>());
        let sealed = sealer.seal(
            hex::encode(secret.as_ref()).as_bytes(),
            &crate::infra::secrets::token_key_aad(&kid),
        );
        store::tokens::insert_key(pool, &kid, &sealed, now_i64())
            .await
            .map_err(|e| e.to_string())?;
        return KeyRing::new(&kid, secret.as_ref()).map_err(|e| e.to_string());
    }
    let mut ring: Option<KeyRing> = None;
    for (kid, sealed) in keys {
        let hex_text = sealer
            .open(&sealed, &crate::infra::secrets::token_key_aad(&kid))
            .map_err(|e| format!("token key {kid}: {e}"))?;
        let secret = zeroize::Zeroizing::new(
            hex::decode(hex_text.as_slice()).map_err(|e| format!("token key {kid}: {e}"))?,
        );
        match &mut ring {
            None => ring = Some(KeyRing::new(&kid, &secret).map_err(|e| e.to_string())?),
            // The newest key signs; older ones keep verifying.
            Some(ring) => ring.rotate(&kid, &secret).map_err(|e| e.to_string())?,
        }
    }
    ring.ok_or_else(|| "no token key".into())
}

fn access_token(token: String, claims: &Claims) -> AccessToken {
    AccessToken {
        token,
        expires_at: claims.exp,
        max_uses: claims.max_uses,
        scope: claims.scope.clone(),
    }
}

fn extension(token: AccessToken) -> Result<Value, ApiError> {
    serde_json::to_value(token).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Issues the token a bundle payment bought (claims decided by paywire-core's settlement
/// decision), inside the settlement transaction; returns the extension the answer carries.
pub async fn issue_for_payment(
    conn: &mut AnyConnection,
    state: &AppState,
    provider_id: &str,
    payment_id: &str,
    claims: &Claims,
) -> Result<Value, ApiError> {
    let token = state.token_keys.issue(claims)?;
    let claims_text =
        serde_json::to_string(claims).map_err(|e| ApiError::Internal(e.to_string()))?;
    let hash = paywire_core::token_hash(&token);
    let row = store::tokens::NewToken {
        id: &claims.id,
        hash: &hash,
        provider_id,
        payment_id,
        claims: &claims_text,
        max_uses: claims
            .max_uses
            .map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
        expires_at: i64::try_from(claims.exp).unwrap_or(i64::MAX),
    };
    store::tokens::insert(conn, &row, now_i64()).await?;
    // The token itself is never in an event: it is a bearer credential.
    let data = serde_json::json!({"tokenId": claims.id, "paymentId": payment_id, "subject": claims.sub,
        "scope": claims.scope, "expiresAt": claims.exp, "maxUses": claims.max_uses});
    store::events::enqueue(
        conn,
        &crate::base::util::new_ordered_id("evt"),
        provider_id,
        "token.issued",
        &data.to_string(),
        now_i64(),
    )
    .await?;
    extension(access_token(token, claims))
}

/// The token of an earlier settlement, re-signed from its stored claims.
pub async fn reissue_for_payment(
    state: &AppState,
    payment_id: &str,
) -> Result<Option<Value>, ApiError> {
    let Some(claims) = store::tokens::claims_of_payment(&state.pool, payment_id).await? else {
        return Ok(None);
    };
    let claims: Claims = serde_json::from_str(&claims)
        .map_err(|e| ApiError::Internal(format!("stored claims: {e}")))?;
    let token = state.token_keys.issue(&claims)?;
    extension(access_token(token, &claims)).map(Some)
}

/// Deletes expired tokens and idempotency records past their retention. Returns how many rows
/// went.
pub async fn sweep(state: &AppState, now: u64) -> Result<u64, ApiError> {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let tokens = store::tokens::sweep(&state.pool, now).await?;
    let retention = i64::try_from(state.idempotency.retention_seconds).unwrap_or(i64::MAX);
    let keys = store::idempotency::sweep(&state.pool, now.saturating_sub(retention)).await?;
    Ok(tokens + keys)
}
