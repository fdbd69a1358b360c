//! Durable idempotency with Stripe's contract, decided by paywire-core's `decide`: the
//! `Idempotency-Key` header on every mutating `/v1` request, and x402's `payment-identifier`
//! extension on `/settle`. Records live 24 hours.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use paywire_core::idempotency::{
    decide, fingerprint, Begin, Fingerprint, IdempotencyConfig, IdempotencyKey, IdempotencyRecord,
    RecordState, StoredOutcome,
};
use sqlx::Row;

use crate::error::ApiError;
use crate::util::{now, now_i64, sha256_hex};
use crate::AppState;

/// The request header carrying the key.
pub const HEADER: &str = "idempotency-key";

/// Starts a request under `(scope, key)`: proceed, replay the first outcome, or refuse.
pub async fn begin(
    state: &AppState,
    scope: &str,
    key: &IdempotencyKey,
    fp: &Fingerprint,
) -> Result<Begin, ApiError> {
    let config = IdempotencyConfig::default();
    for _ in 0..3 {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, state, status, body, created_at) \
             VALUES ($1, $2, $3, 'in_progress', NULL, NULL, $4) ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(scope)
        .bind(key.as_str())
        .bind(fp.to_hex())
        .bind(now_i64())
        .execute(&state.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Begin::Proceed);
        }
        let Some(row) = sqlx::query("SELECT fingerprint, state, status, body, created_at FROM idempotency_keys WHERE scope = $1 AND key = $2")
            .bind(scope)
            .bind(key.as_str())
            .fetch_optional(&state.pool)
            .await?
        else {
            continue; // abandoned meanwhile: try the insert again
        };
        let created_at: i64 = row.try_get("created_at")?;
        let record = IdempotencyRecord {
            fingerprint: Fingerprint::try_from(row.try_get::<String, _>("fingerprint")?)?,
            created_at: u64::try_from(created_at).unwrap_or(0),
            state: if row.try_get::<String, _>("state")? == "completed" {
                RecordState::Completed {
                    outcome: StoredOutcome {
                        status: u16::try_from(
                            row.try_get::<Option<i32>, _>("status")?.unwrap_or(200),
                        )
                        .unwrap_or(200),
                        body: row
                            .try_get::<Option<String>, _>("body")?
                            .unwrap_or_default(),
                    },
                }
            } else {
                RecordState::InProgress
            },
        };
        match decide(Some(&record), fp, now(), &config)? {
            Begin::Replay(outcome) => return Ok(Begin::Replay(outcome)),
            // Expired: take the key over, unless another request just did.
            Begin::Proceed => {
                let taken = sqlx::query(
                    "UPDATE idempotency_keys SET fingerprint = $1, state = 'in_progress', status = NULL, body = NULL, created_at = $2 \
                     WHERE scope = $3 AND key = $4 AND created_at = $5",
                )
                .bind(fp.to_hex())
                .bind(now_i64())
                .bind(scope)
                .bind(key.as_str())
                .bind(created_at)
                .execute(&state.pool)
                .await?;
                if taken.rows_affected() == 1 {
                    return Ok(Begin::Proceed);
                }
            }
        }
    }
    Err(ApiError::Core(paywire_core::Error::IdempotencyInProgress))
}

/// Stores the outcome of a request begun under `(scope, key)`.
pub async fn complete(
    state: &AppState,
    scope: &str,
    key: &IdempotencyKey,
    fp: &Fingerprint,
    outcome: &StoredOutcome,
) -> Result<(), ApiError> {
    sqlx::query("UPDATE idempotency_keys SET state = 'completed', status = $1, body = $2 WHERE scope = $3 AND key = $4 AND fingerprint = $5")
        .bind(i32::from(outcome.status))
        .bind(&outcome.body)
        .bind(scope)
        .bind(key.as_str())
        .bind(fp.to_hex())
        .execute(&state.pool)
        .await?;
    Ok(())
}

/// Forgets a request that failed before any effect, so a retry can run.
pub async fn abandon(
    state: &AppState,
    scope: &str,
    key: &IdempotencyKey,
    fp: &Fingerprint,
) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND fingerprint = $3 AND state = 'in_progress'")
        .bind(scope)
        .bind(key.as_str())
        .bind(fp.to_hex())
        .execute(&state.pool)
        .await?;
    Ok(())
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Middleware: honours `Idempotency-Key` on POST/PUT/PATCH/DELETE. Keys are scoped to the
/// caller's credentials, so tenants never see each other's outcomes. A 5xx outcome (nothing
/// happened: its transaction rolled back) is forgotten so that the retry runs.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let Some(header) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let key = match header
        .to_str()
        .map_err(|_| ())
        .and_then(|h| IdempotencyKey::parse(h).map_err(|_| ()))
    {
        Ok(key) => key,
        Err(()) => {
            return ApiError::Core(paywire_core::Error::IdempotencyKeyInvalid(
                "1-255 printable ASCII characters".into(),
            ))
            .into_response()
        }
    };
    let scope = sha256_hex(
        request
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("anonymous"),
    );
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError::BodyTooLarge.into_response(),
    };
    let fp = fingerprint(parts.method.as_str(), parts.uri.path(), &bytes);
    match begin(&state, &scope, &key, &fp).await {
        Ok(Begin::Replay(outcome)) => {
            let mut response = json_response(
                StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::OK),
                outcome.body,
            );
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return response;
        }
        Ok(Begin::Proceed) => {}
        Err(error) => return error.into_response(),
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let recorded = if parts.status.is_server_error() {
        abandon(&state, &scope, &key, &fp).await
    } else {
        let outcome = StoredOutcome {
            status: parts.status.as_u16(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        complete(&state, &scope, &key, &fp, &outcome).await
    };
    if let Err(e) = recorded {
        eprintln!("idempotency record not stored: {e}");
    }
    Response::from_parts(parts, Body::from(bytes))
}
