//! Durable idempotency with Stripe's contract, decided by paywire-core's `decide`: the
//! `Idempotency-Key` header on every mutating request that carries credentials (the key is
//! scoped to them). `/settle` is idempotent on its own, after verification: by
//! `(network, payer, nonce)` and x402's `payment-identifier`, kept with the payment; an
//! anonymous `Idempotency-Key` there is ignored.
//!
//! - A request runs to completion whatever its client does (a disconnect, a timeout): it is
//!   spawned, and shutdown waits for it.
//! - An in-progress record holds its key for a lease (`idempotency_lease_seconds`). A request
//!   that died (the process was killed) leaves its record in progress; after the lease, a retry
//!   runs again — and finds what the dead attempt committed, because the objects it creates
//!   take ids derived from the key ([`Reference::derive_id`]).
//! - A 5xx outcome (nothing happened: its transaction rolled back) is forgotten so the retry
//!   runs; an outcome marked [`OutcomeUnknown`] keeps the record in progress until the lease
//!   ends, so the retry reconciles.
//! - A key used again once its record expired (or was swept) is a new request: its objects
//!   take ids of a new generation, never those of the objects an earlier request created.
//! - Stored outcomes are redacted: a replay never shows a secret (`apiKey`, `walletSecret`,
//!   `secret`, an access `token`) again, wherever it sits in the answer; those fields are
//!   `null` and their paths listed in `redacted`.
//! - The facilitator calls (`/verify`, `/settle`) are idempotent on the payment itself and
//!   keep no record here, with or without credentials: their answers carry bearer tokens,
//!   which a replay re-signs from the payment's stored claims instead.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use paywire_core::idempotency::{
    decide, fingerprint, Begin, Fingerprint, IdempotencyKey, RecordState, StoredOutcome,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::base::error::ApiError;
use crate::base::util::{now, now_i64, sha256_hex};
use crate::services::state::AppState;
use crate::store;

/// The request header carrying the key.
pub const HEADER: &str = "idempotency-key";

/// Fields of a response that hold a secret shown once, never replayed nor stored, at any
/// depth (`extensions["paywire-access-token"].token` is a bearer credential).
pub const SECRET_FIELDS: &[&str] = &["apiKey", "walletSecret", "secret", "token"];

/// Routes whose requests are idempotent on their own (the payment's once-only keys) and keep
/// no idempotency record.
const SELF_IDEMPOTENT: &[&str] = &["/verify", "/settle"];

/// The key a request runs under, as handlers see it (a request extension): objects the
/// request creates take ids derived from it, so a retry of a request that died after
/// committing finds them instead of creating them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    scope: String,
    key: IdempotencyKey,
    generation: Option<String>,
}

impl Reference {
    /// The reference of `key` in `scope`, in the record's `generation` (`None` for a record
    /// made before generations).
    pub fn new(scope: &str, key: &IdempotencyKey, generation: Option<&str>) -> Self {
        Reference {
            scope: scope.to_string(),
            key: key.clone(),
            generation: generation.map(str::to_string),
        }
    }

    /// A stable id for the object of kind `prefix` this request creates: `prefix_` and 32 hex
    /// digits of SHA-256 over scope, key, generation and prefix.
    pub fn derive_id(&self, prefix: &str) -> String {
        let mut hasher = Sha256::new();
        let mut parts = vec!["paywire idempotent object", &self.scope, self.key.as_str()];
        if let Some(generation) = &self.generation {
            parts.push(generation);
        }
        parts.push(prefix);
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        format!("{prefix}_{}", hex::encode(&hasher.finalize()[..16]))
    }
}

/// A response extension: the outcome is not known yet (a commit that may or may not have
/// happened). The record stays in progress, so a retry after the lease reconciles.
#[derive(Debug, Clone, Copy)]
pub struct OutcomeUnknown;

/// The scope keys live in: the key the caller authenticates with (its hash, which is how
/// the store knows it), so tenants never see each other's outcomes and two spellings of one
/// `Authorization` header (`Bearer  k`, `Bearer k `) are one scope. A header that carries no
/// bearer key scopes by its text.
pub fn scope_of(authorization: Option<&str>) -> String {
    match authorization.and_then(crate::services::auth::bearer_key) {
        Some(key) => format!("key:{}", sha256_hex(key)),
        None => sha256_hex(authorization.unwrap_or("anonymous")),
    }
}

/// How a request begun under a key goes on, and the generation its objects' ids come from.
pub struct Begun {
    /// Proceed or replay (the core's decision).
    pub begin: Begin,
    /// The record's generation (`None` for a record older than generations).
    pub generation: Option<String>,
}

fn new_generation() -> String {
    hex::encode(crate::base::util::random_bytes::<16>())
}

/// Starts a request under `(scope, key)`: proceed, replay the first outcome, or refuse.
pub async fn begin(
    state: &AppState,
    scope: &str,
    key: &IdempotencyKey,
    fp: &Fingerprint,
) -> Result<Begun, ApiError> {
    for _ in 0..3 {
        let generation = new_generation();
        if store::idempotency::insert(&state.pool, scope, key.as_str(), fp, &generation, now_i64())
            .await?
        {
            return Ok(Begun {
                begin: Begin::Proceed,
                generation: Some(generation),
            });
        }
        let Some(read) = store::idempotency::get(&state.pool, scope, key.as_str()).await? else {
            continue; // abandoned meanwhile: try the insert again
        };
        match decide(Some(&read.record), fp, now(), &state.idempotency)? {
            Begin::Replay(outcome) => {
                return Ok(Begun {
                    begin: Begin::Replay(outcome),
                    generation: read.generation,
                })
            }
            // Expired, or its request died: take the key over, unless another retry just did.
            // A retry of a request that died keeps its generation, so it finds what that
            // request committed; a completed record past its retention is a new request.
            Begin::Proceed => {
                let generation = match read.record.state {
                    RecordState::InProgress => read.generation,
                    RecordState::Completed { .. } => Some(generation),
                };
                if store::idempotency::take_over(
                    &state.pool,
                    scope,
                    key.as_str(),
                    fp,
                    read.created_at,
                    generation.as_deref(),
                    now_i64(),
                )
                .await?
                {
                    return Ok(Begun {
                        begin: Begin::Proceed,
                        generation,
                    });
                }
            }
        }
    }
    Err(ApiError::Core(paywire_core::Error::IdempotencyInProgress))
}

/// Stores the outcome of a request begun under `(scope, key)`, redacted.
pub async fn complete(
    state: &AppState,
    scope: &str,
    key: &IdempotencyKey,
    fp: &Fingerprint,
    outcome: &StoredOutcome,
) -> Result<(), ApiError> {
    let redacted = StoredOutcome {
        status: outcome.status,
        body: redact_secrets(&outcome.body),
    };
    store::idempotency::complete(&state.pool, scope, key.as_str(), fp, &redacted).await?;
    Ok(())
}

/// A JSON body with every secret field ([`SECRET_FIELDS`]), at any depth, set to `null` and
/// its path listed in `redacted` (`extensions.paywire-access-token.token`); other bodies
/// unchanged.
pub fn redact_secrets(body: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    let mut redacted = vec![];
    redact_in(&mut value, &mut String::new(), &mut redacted);
    if redacted.is_empty() {
        return body.to_string();
    }
    let redacted = Value::Array(redacted.into_iter().map(Value::String).collect());
    // A top-level array has no room for the list; its secrets are gone all the same.
    if let Value::Object(object) = &mut value {
        object.insert("redacted".into(), redacted);
    }
    value.to_string()
}

fn redact_in(value: &mut Value, path: &mut String, redacted: &mut Vec<String>) {
    let depth = path.len();
    match value {
        Value::Object(object) => {
            for (name, field) in object.iter_mut() {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                if SECRET_FIELDS.contains(&name.as_str()) && !field.is_null() {
                    *field = Value::Null;
                    redacted.push(path.clone());
                } else {
                    redact_in(field, path, redacted);
                }
                path.truncate(depth);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push_str(&format!("[{i}]"));
                redact_in(item, path, redacted);
                path.truncate(depth);
            }
        }
        _ => {}
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Middleware: runs every mutating request (POST, PUT, PATCH, DELETE) to completion in a task
/// of its own — a client that disconnects or times out does not cut a settlement or a deposit
/// in half — and honours `Idempotency-Key` on them.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let tasks = state.tasks.clone();
    let task = tasks.spawn(run_idempotent(state, request, next));
    match task.await {
        Ok(response) => response,
        Err(_) => {
            ApiError::Internal("a request task ended without an answer".into()).into_response()
        }
    }
}

async fn run_idempotent(state: AppState, request: Request, next: Next) -> Response {
    let Some(header) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    if SELF_IDEMPOTENT.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    // A key scopes to the caller's credentials. Without any (the public facilitator calls),
    // every caller would share one scope, and a stored outcome would be answered before the
    // payment is verified: there, `/settle`'s own once-only keys — the nonce and the payment
    // identifier, both answered only after verification and to the same payer — apply instead.
    if !request
        .headers()
        .contains_key(axum::http::header::AUTHORIZATION)
    {
        return next.run(request).await;
    }
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
    let scope = scope_of(
        request
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok()),
    );
    let (mut parts, body) = request.into_parts();
    let bytes = match crate::base::body::read_limited(body).await {
        Ok(bytes) => bytes,
        Err(error) => return error.into_response(),
    };
    let fp = fingerprint(parts.method.as_str(), parts.uri.path(), &bytes);
    let generation = match begin(&state, &scope, &key, &fp).await {
        Ok(Begun {
            begin: Begin::Replay(outcome),
            ..
        }) => {
            let mut response = json_response(
                StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::OK),
                outcome.body,
            );
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return response;
        }
        Ok(Begun {
            begin: Begin::Proceed,
            generation,
        }) => generation,
        Err(error) => return error.into_response(),
    };
    parts
        .extensions
        .insert(Reference::new(&scope, &key, generation.as_deref()));
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let unknown = response.extensions().get::<OutcomeUnknown>().is_some();
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let recorded = if unknown {
        // Keep the record in progress: after the lease a retry reconciles.
        Ok(())
    } else if parts.status.is_server_error() || parts.status == StatusCode::TOO_MANY_REQUESTS {
        store::idempotency::abandon(&state.pool, &scope, key.as_str(), &fp)
            .await
            .map_err(ApiError::from)
    } else {
        let outcome = StoredOutcome {
            status: parts.status.as_u16(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        complete(&state, &scope, &key, &fp, &outcome).await
    };
    if let Err(e) = recorded {
        // The record stays in progress; its lease frees the key for a retry.
        tracing::warn!(error = %e, "idempotency record not stored");
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_listed() {
        let body = r#"{"id":"agent_1","apiKey":"sk_agent_x","walletSecret":"00ff","network":"paywire:main"}"#;
        let redacted: Value = serde_json::from_str(&redact_secrets(body)).unwrap();
        assert_eq!(redacted["apiKey"], Value::Null);
        assert_eq!(redacted["walletSecret"], Value::Null);
        assert_eq!(redacted["id"], "agent_1");
        assert_eq!(
            redacted["redacted"],
            serde_json::json!(["apiKey", "walletSecret"])
        );
        // Nested, in arrays too: a settlement's access token, a list of keys.
        let nested = r#"{"success":true,"extensions":{"paywire-access-token":{"token":"pw1.x","scope":{}}},"keys":[{"apiKey":"sk_1"},{"id":"k"}]}"#;
        let redacted: Value = serde_json::from_str(&redact_secrets(nested)).unwrap();
        assert_eq!(
            redacted["extensions"]["paywire-access-token"]["token"],
            Value::Null
        );
        assert_eq!(redacted["keys"][0]["apiKey"], Value::Null);
        assert_eq!(
            redacted["redacted"],
            serde_json::json!(["extensions.paywire-access-token.token", "keys[0].apiKey"])
        );
        assert!(!redact_secrets(r#"[{"secret":"whsec_1"}]"#).contains("whsec_1"));
        assert_eq!(redact_secrets(r#"{"id":1}"#), r#"{"id":1}"#);
        assert_eq!(redact_secrets("not json"), "not json");
    }

    #[test]
    fn scopes_are_the_authenticated_key_whatever_the_spelling() {
        let scope = scope_of(Some("Bearer sk_agent_1"));
        assert_eq!(scope_of(Some("Bearer  sk_agent_1")), scope);
        assert_eq!(scope_of(Some("Bearer sk_agent_1 ")), scope);
        assert_ne!(scope_of(Some("Bearer sk_agent_2")), scope);
        assert_ne!(scope_of(None), scope);
    }

    #[test]
    fn derived_ids_differ_by_scope_key_and_kind() {
        let key = IdempotencyKey::parse("k").unwrap();
        let a = Reference::new("scope-a", &key, Some("g1"));
        assert_ne!(
            a.derive_id("dep"),
            Reference::new("scope-a", &key, Some("g2")).derive_id("dep"),
            "a new generation of the key: new objects"
        );
        assert_eq!(a.derive_id("dep"), a.derive_id("dep"));
        assert!(a.derive_id("dep").starts_with("dep_"));
        assert_eq!(a.derive_id("dep").len(), 4 + 32);
        assert_ne!(a.derive_id("dep"), a.derive_id("agent"));
        assert_ne!(
            a.derive_id("dep"),
            Reference::new("scope-b", &key, Some("g1")).derive_id("dep")
        );
    }
}
