//! Idempotency: key validation, request fingerprints, and a bounded in-memory store.

use std::sync::Mutex;

use paywire_core::idempotency::{
    self, Begin, Fingerprint, IdempotencyConfig, IdempotencyKey, IdempotencyStore, StoredOutcome,
};
use paywire_core::Error;

use crate::{optional_number, small_number, text, whole_number, Result};

/// The key, normalized, or why it is not one.
pub fn validate_idempotency_key(key: &str) -> Result<String> {
    Ok(IdempotencyKey::parse(key)?.as_str().to_string())
}

/// The fingerprint (hex) of a request's method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    idempotency::fingerprint(method, path, body).to_hex()
}

fn parse_key(key: &str, fingerprint: &str) -> Result<(IdempotencyKey, Fingerprint)> {
    let key = IdempotencyKey::parse(key)?;
    let fp = Fingerprint::try_from(fingerprint.to_string())
        .map_err(|_| Error::InvalidArgument("fingerprint must be 64 hex digits".into()))?;
    Ok((key, fp))
}

/// A bounded in-memory store deciding by Stripe's contract.
pub struct MemoryStore {
    store: Mutex<idempotency::MemoryStore>,
}

impl MemoryStore {
    /// A store of at most `capacity` keys, kept `retention_seconds`, leased `lease_seconds`.
    pub fn new(
        capacity: f64,
        retention_seconds: Option<f64>,
        lease_seconds: Option<f64>,
    ) -> Result<Self> {
        let capacity = small_number(capacity, "capacity", u64::from(u32::MAX))? as usize;
        let retention_seconds = optional_number(
            retention_seconds,
            "retentionSeconds",
            u64::MAX,
            idempotency::DEFAULT_RETENTION_SECONDS,
        )?;
        let lease_seconds = optional_number(
            lease_seconds,
            "leaseSeconds",
            u64::MAX,
            idempotency::DEFAULT_LEASE_SECONDS,
        )?;
        Ok(MemoryStore {
            store: Mutex::new(idempotency::MemoryStore::new(
                capacity,
                IdempotencyConfig {
                    retention_seconds,
                    lease_seconds,
                },
            )),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, idempotency::MemoryStore> {
        // Each call is one operation on the store: a poisoned lock holds a consistent store.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Begins a request: `{"action":"proceed"}` or `{"action":"replay","status","body"}`.
    pub fn begin(&self, key: &str, fingerprint: &str, now: f64) -> Result<String> {
        let (key, fp) = parse_key(key, fingerprint)?;
        let now = whole_number(now, "now")?;
        match self.lock().begin(&key, &fp, now)? {
            Begin::Proceed => text(&serde_json::json!({"action": "proceed"})),
            Begin::Replay(outcome) => text(
                &serde_json::json!({"action": "replay", "status": outcome.status, "body": outcome.body}),
            ),
        }
    }

    /// Stores a request's outcome.
    pub fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        status: f64,
        body: &str,
        now: f64,
    ) -> Result<()> {
        let (key, fp) = parse_key(key, fingerprint)?;
        let status = small_number(status, "status", 999)? as u16;
        let now = whole_number(now, "now")?;
        let body = body.to_string();
        self.lock()
            .complete(&key, &fp, StoredOutcome { status, body }, now)
    }

    /// Releases a key whose request failed before any outcome.
    pub fn abandon(&self, key: &str, fingerprint: &str) -> Result<()> {
        let (key, fp) = parse_key(key, fingerprint)?;
        self.lock().abandon(&key, &fp);
        Ok(())
    }

    /// Forgets what expired by `now`.
    pub fn sweep(&self, now: f64) -> Result<()> {
        let now = whole_number(now, "now")?;
        self.lock().sweep(now);
        Ok(())
    }

    /// How many keys it holds.
    pub fn size(&self) -> u32 {
        crate::index_u32(self.lock().len())
    }
}
