//! Access tokens sold as bundles: issued inside the settlement transaction, verified (and a use
//! counted atomically) by `POST /v1/tokens/verify`, swept when expired.
//!
//! Only a token's hash and its claims (which are not secret) are stored. A replayed
//! settlement re-signs the stored claims, which gives the very same token: HMAC is
//! deterministic.

use axum::extract::State;
use axum::Json;
use paywire_core::token::{Claims, KeyRing, TokenRequest};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Row};

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::state::AppState;
use crate::util::{now, now_i64, random_bytes};

/// The extension key under which a settlement returns its access token.
pub use paywire_core::token::ACCESS_TOKEN_EXTENSION;

/// Loads the token key ring (secrets sealed at rest), generating the first key on first start.
pub async fn load_key_ring(
    pool: &sqlx::AnyPool,
    sealer: &crate::secrets::Sealer,
) -> Result<KeyRing, String> {
    let rows = sqlx::query("SELECT kid, secret_sealed FROM token_keys ORDER BY created_at, kid")
        .fetch_all(pool)
        .await
        .map_err(|e| e.to_string())?;
    if rows.is_empty() {
        let kid = format!("k{}", now());
        let secret = zeroize::Zeroizing::new(random_bytes::<32>());
        let sealed = sealer.seal(
            hex::encode(secret.as_ref()).as_bytes(),
            &crate::secrets::token_key_aad(&kid),
        );
        sqlx::query("INSERT INTO token_keys (kid, secret_sealed, created_at) VALUES ($1, $2, $3)")
            .bind(&kid)
            .bind(&sealed)
            .bind(now_i64())
            .execute(pool)
            .await
            .map_err(|e| e.to_string())?;
        return KeyRing::new(&kid, secret.as_ref()).map_err(|e| e.to_string());
    }
    let mut ring: Option<KeyRing> = None;
    for row in rows {
        let kid: String = row.try_get("kid").map_err(|e| e.to_string())?;
        let sealed: String = row.try_get("secret_sealed").map_err(|e| e.to_string())?;
        let hex_text = sealer
            .open(&sealed, &crate::secrets::token_key_aad(&kid))
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
    sqlx::query(
        "INSERT INTO access_tokens (id, hash, provider_id, payment_id, claims, max_uses, uses, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
    )
    .bind(&claims.id)
    .bind(paywire_core::token_hash(&token))
    .bind(provider_id)
    .bind(payment_id)
    .bind(serde_json::to_string(claims).map_err(|e| ApiError::Internal(e.to_string()))?)
    .bind(claims.max_uses.map(|m| i64::try_from(m).unwrap_or(i64::MAX)))
    .bind(i64::try_from(claims.exp).unwrap_or(i64::MAX))
    .bind(now_i64())
    .execute(&mut *conn)
    .await?;
    Ok(token_extension(&token, claims))
}

fn token_extension(token: &str, claims: &Claims) -> Value {
    json!({"token": token, "expiresAt": claims.exp, "maxUses": claims.max_uses, "scope": claims.scope})
}

/// The token of an earlier settlement, re-signed from its stored claims.
pub async fn reissue_for_payment(
    state: &AppState,
    payment_id: &str,
) -> Result<Option<Value>, ApiError> {
    let row = sqlx::query("SELECT claims FROM access_tokens WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_optional(&state.pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let claims: Claims = serde_json::from_str(&row.try_get::<String, _>("claims")?)
        .map_err(|e| ApiError::Internal(format!("stored claims: {e}")))?;
    let token = state.token_keys.issue(&claims)?;
    Ok(Some(token_extension(&token, &claims)))
}

/// `POST /v1/tokens/verify` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyToken {
    /// The token as presented.
    pub token: String,
    /// The request's method.
    pub method: String,
    /// The request's resource URL.
    pub resource: String,
}

/// `POST /v1/tokens/verify` (the issuing provider's key): checks a token for a request and
/// counts one use, atomically — a token with N uses admits exactly N requests, however many
/// arrive at once.
pub async fn post_verify_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let body: VerifyToken =
        serde_json::from_value(body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let seen = paywire_core::token::inspect(&body.token)?;
    let row = sqlx::query("SELECT provider_id, uses FROM access_tokens WHERE id = $1")
        .bind(&seen.claims.id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(ApiError::Core(paywire_core::Error::TokenSignatureInvalid))?;
    let provider: String = row.try_get("provider_id")?;
    caller.require_tenant(&provider, "read", "token")?;
    let uses: i64 = row.try_get("uses")?;
    let request = TokenRequest {
        method: &body.method,
        resource: &body.resource,
    };
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
    let counted = sqlx::query(
        "UPDATE access_tokens SET uses = uses + 1 WHERE id = $1 AND ($2 IS NULL OR uses < $2)",
    )
    .bind(&verified.claims.id)
    .bind(limit)
    .execute(&state.pool)
    .await?;
    if counted.rows_affected() != 1 {
        let max_uses = verified.claims.max_uses.unwrap_or(0);
        return Err(ApiError::Core(paywire_core::Error::TokenUsesExhausted {
            used: max_uses,
            max_uses,
        }));
    }
    Ok(Json(
        json!({"valid": true, "claims": verified.claims, "kid": verified.kid, "use": uses + 1}),
    ))
}

/// Deletes expired tokens and idempotency records past their retention. Returns how many rows
/// went.
pub async fn sweep(state: &AppState, now: u64) -> Result<u64, ApiError> {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let tokens = sqlx::query("DELETE FROM access_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(&state.pool)
        .await?;
    let retention = i64::try_from(state.idempotency.retention_seconds).unwrap_or(i64::MAX);
    let keys = crate::store::idempotency::sweep(&state.pool, now.saturating_sub(retention)).await?;
    Ok(tokens.rows_affected() + keys)
}
