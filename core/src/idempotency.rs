//! Idempotency with Stripe's contract.
//!
//! A client sends a key with a mutating request. The first request under a key runs; a retry
//! with the same request gets the first outcome again; a different request under the same key
//! is refused (`idempotency_key_reused`); a retry while the first is still running is refused
//! (`idempotency_in_progress`, HTTP 409). Records expire after a retention period (24 h).
//!
//! A request can die while it runs (a crash, a killed process) and never record its outcome.
//! So an in-progress record holds the key only for a lease (60 s by default, longer than any
//! request may run): a retry after the lease takes the key over and runs again. Whatever the
//! dead attempt committed, the retry must find and answer (the settlement server looks its
//! payments and deposits up by ids derived from the key); whatever it did not, the retry does.
//!
//! The decision is a pure function, [`decide`], of the stored record, the request's
//! fingerprint and `now`, so every store — the bounded [`MemoryStore`] here, the server's SQL
//! stores — decides identically. A store only has to make `begin` atomic.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The default retention of records: 24 hours.
pub const DEFAULT_RETENTION_SECONDS: u64 = 24 * 60 * 60;
/// The default lease of an in-progress record: after it, a retry takes the key over.
pub const DEFAULT_LEASE_SECONDS: u64 = 60;
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A validated idempotency key: 1–255 printable ASCII characters (`0x20`–`0x7E`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validates a key.
    pub fn parse(text: &str) -> Result<Self> {
        if text.is_empty() || text.len() > MAX_KEY_LEN {
            return Err(Error::IdempotencyKeyInvalid(format!(
                "a key is 1-{MAX_KEY_LEN} characters, got {}",
                text.len()
            )));
        }
        if !text.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(Error::IdempotencyKeyInvalid(
                "a key is printable ASCII only".into(),
            ));
        }
        Ok(IdempotencyKey(text.to_string()))
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        IdempotencyKey::parse(&text)
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> String {
        key.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SHA-256 of a request's canonical form. Serialized as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&text, &mut bytes)
            .map_err(|_| Error::InvalidPayload("a fingerprint is 64 hex digits".into()))?;
        Ok(Fingerprint(bytes))
    }
}

impl From<Fingerprint> for String {
    fn from(fingerprint: Fingerprint) -> String {
        fingerprint.to_hex()
    }
}

/// The fingerprint of a request: SHA-256 over its canonical form.
///
/// The canonical form is `method` upper-cased, `path` as given, and the body — re-serialized
/// with sorted keys and no whitespace when it is JSON, so that `{"a":1, "b":2}` and
/// `{"b":2,"a":1}` are the same request; byte for byte otherwise. Each part is preceded by its
/// length as 8 big-endian bytes, so no two different requests share an encoding.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> Fingerprint {
    let canonical_body = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .map(|value| canonical_json(&value));
    let body = canonical_body.as_deref().unwrap_or(body);
    let method = method.to_ascii_uppercase();
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), body] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    Fingerprint(hasher.finalize().into())
}

/// JSON with object keys sorted at every level and no insignificant whitespace.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sorted).collect())
            }
            other => other.clone(),
        }
    }
    serde_json::to_vec(&sorted(value)).unwrap_or_default()
}

/// The outcome of a completed request, replayed to retries.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredOutcome {
    /// The HTTP status.
    pub status: u16,
    /// The response body.
    pub body: String,
}

/// Where a request under a key stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum RecordState {
    /// Running.
    InProgress,
    /// Finished with this outcome.
    #[serde(rename_all = "camelCase")]
    Completed {
        /// What to replay.
        outcome: StoredOutcome,
    },
}

/// What a store keeps per key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    /// The first request's fingerprint.
    pub fingerprint: Fingerprint,
    /// When the first request began, unix seconds.
    pub created_at: u64,
    /// Running or finished.
    #[serde(flatten)]
    pub state: RecordState,
}

/// What to do with a request under an idempotency key.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", content = "outcome", rename_all = "camelCase")]
pub enum Begin {
    /// First time (or the old record expired): run the request, then `complete`.
    Proceed,
    /// Already done: answer with this outcome again.
    Replay(StoredOutcome),
}

/// Retention and lease settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyConfig {
    /// How long records are kept, in seconds (default 24 h).
    pub retention_seconds: u64,
    /// How long an in-progress record holds its key, in seconds (default 60): a request that
    /// has not completed by then is taken to have died, and a retry runs again.
    #[serde(default = "default_lease")]
    pub lease_seconds: u64,
}

fn default_lease() -> u64 {
    DEFAULT_LEASE_SECONDS
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        IdempotencyConfig {
            retention_seconds: DEFAULT_RETENTION_SECONDS,
            lease_seconds: DEFAULT_LEASE_SECONDS,
        }
    }
}

impl IdempotencyConfig {
    /// Whether a record created at `created_at` has expired at `now`.
    pub fn is_expired(&self, created_at: u64, now: u64) -> bool {
        now >= created_at.saturating_add(self.retention_seconds)
    }

    /// Whether an in-progress record begun at `created_at` has lost its lease at `now`.
    pub fn lease_expired(&self, created_at: u64, now: u64) -> bool {
        now >= created_at.saturating_add(self.lease_seconds)
    }
}

/// The contract, as a pure function: what `begin` answers given the stored record.
///
/// `Ok(Proceed)` means the caller must now store a fresh in-progress record for the key
/// (replacing an expired record, or one whose lease ran out, atomically: only if it is still
/// the record that was read).
pub fn decide(
    existing: Option<&IdempotencyRecord>,
    fingerprint: &Fingerprint,
    now: u64,
    config: &IdempotencyConfig,
) -> Result<Begin> {
    let Some(record) = existing.filter(|r| !config.is_expired(r.created_at, now)) else {
        return Ok(Begin::Proceed);
    };
    if record.fingerprint != *fingerprint {
        return Err(Error::IdempotencyKeyReused);
    }
    match &record.state {
        RecordState::InProgress if config.lease_expired(record.created_at, now) => {
            Ok(Begin::Proceed)
        }
        RecordState::InProgress => Err(Error::IdempotencyInProgress),
        RecordState::Completed { outcome } => Ok(Begin::Replay(outcome.clone())),
    }
}

/// Storage for idempotency records. Implementations make each call atomic.
pub trait IdempotencyStore {
    /// Starts a request under `key` (see [`decide`]).
    fn begin(&mut self, key: &IdempotencyKey, fingerprint: &Fingerprint, now: u64)
        -> Result<Begin>;

    /// Records the outcome of the request begun under `key` with this fingerprint.
    fn complete(
        &mut self,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        outcome: StoredOutcome,
        now: u64,
    ) -> Result<()>;

    /// Forgets an in-progress request that failed before any effect, so a retry can run.
    /// Never call it once an effect may have happened: then the outcome is unknown and the
    /// record must stay (the caller answers `settlement_pending`).
    fn abandon(&mut self, key: &IdempotencyKey, fingerprint: &Fingerprint);
}

/// A bounded in-memory store.
///
/// When full, it first drops expired records, then the oldest completed one; if every record
/// is in progress, `begin` fails with `idempotency_store_full` rather than forget a running
/// request. Keys are shared between the map and the eviction queue, so a new key costs one
/// allocation.
#[derive(Debug)]
pub struct MemoryStore {
    records: HashMap<Arc<str>, Slot>,
    /// Insertion order for eviction: (sequence number, key). An entry whose sequence no
    /// longer matches its slot is stale and skipped.
    order: VecDeque<(u64, Arc<str>)>,
    next_sequence: u64,
    capacity: usize,
    config: IdempotencyConfig,
}

#[derive(Debug)]
struct Slot {
    sequence: u64,
    record: IdempotencyRecord,
}

impl MemoryStore {
    /// A store holding at most `capacity` records (at least 1).
    pub fn new(capacity: usize, config: IdempotencyConfig) -> Self {
        MemoryStore {
            records: HashMap::with_capacity(capacity.min(1 << 16)),
            order: VecDeque::new(),
            next_sequence: 0,
            capacity: capacity.max(1),
            config,
        }
    }

    /// Records currently held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The record under `key`, if any (expired ones included until swept).
    pub fn get(&self, key: &IdempotencyKey) -> Option<&IdempotencyRecord> {
        self.records.get(key.as_str()).map(|slot| &slot.record)
    }

    /// Drops every record expired at `now`.
    pub fn sweep(&mut self, now: u64) {
        let config = self.config;
        self.records
            .retain(|_, slot| !config.is_expired(slot.record.created_at, now));
        self.drop_stale_order();
    }

    fn drop_stale_order(&mut self) {
        let records = &self.records;
        self.order
            .retain(|(sequence, key)| records.get(key).is_some_and(|s| s.sequence == *sequence));
    }

    fn make_room(&mut self, now: u64) -> Result<()> {
        if self.records.len() < self.capacity {
            return Ok(());
        }
        self.sweep(now);
        if self.records.len() < self.capacity {
            return Ok(());
        }
        // Oldest completed (or dead: lease over) record first; running ones are never evicted.
        let config = self.config;
        let victim = self.order.iter().position(|(sequence, key)| {
            self.records.get(key).is_some_and(|slot| {
                slot.sequence == *sequence
                    && match slot.record.state {
                        RecordState::Completed { .. } => true,
                        RecordState::InProgress => {
                            config.lease_expired(slot.record.created_at, now)
                        }
                    }
            })
        });
        match victim {
            Some(index) => {
                if let Some((_, key)) = self.order.remove(index) {
                    self.records.remove(&key);
                }
                Ok(())
            }
            None => Err(Error::IdempotencyStoreFull {
                capacity: self.capacity,
            }),
        }
    }

    fn fresh_slot(&mut self, fingerprint: &Fingerprint, now: u64) -> Slot {
        self.next_sequence += 1;
        Slot {
            sequence: self.next_sequence,
            record: IdempotencyRecord {
                fingerprint: *fingerprint,
                created_at: now,
                state: RecordState::InProgress,
            },
        }
    }
}

impl IdempotencyStore for MemoryStore {
    fn begin(
        &mut self,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: u64,
    ) -> Result<Begin> {
        if let Some(slot) = self.records.get_mut(key.as_str()) {
            let decision = decide(Some(&slot.record), fingerprint, now, &self.config)?;
            if decision == Begin::Proceed {
                // The old record expired (or its request died): start over in place, at the
                // back of the queue.
                self.next_sequence += 1;
                slot.sequence = self.next_sequence;
                slot.record = IdempotencyRecord {
                    fingerprint: *fingerprint,
                    created_at: now,
                    state: RecordState::InProgress,
                };
                let shared = self
                    .records
                    .get_key_value(key.as_str())
                    .map(|(k, _)| Arc::clone(k));
                if let Some(shared) = shared {
                    self.order.push_back((self.next_sequence, shared));
                }
            }
            return Ok(decision);
        }
        self.make_room(now)?;
        // Stale queue entries (abandoned or re-begun keys) must not grow without bound.
        if self.order.len() >= 2 * self.capacity {
            self.drop_stale_order();
        }
        let slot = self.fresh_slot(fingerprint, now);
        let shared: Arc<str> = Arc::from(key.as_str());
        self.order.push_back((slot.sequence, Arc::clone(&shared)));
        self.records.insert(shared, slot);
        Ok(Begin::Proceed)
    }

    fn complete(
        &mut self,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        outcome: StoredOutcome,
        _now: u64,
    ) -> Result<()> {
        match self.records.get_mut(key.as_str()) {
            Some(slot)
                if slot.record.fingerprint == *fingerprint
                    && slot.record.state == RecordState::InProgress =>
            {
                slot.record.state = RecordState::Completed { outcome };
                Ok(())
            }
            _ => Err(Error::IdempotencyNotStarted),
        }
    }

    fn abandon(&mut self, key: &IdempotencyKey, fingerprint: &Fingerprint) {
        let in_progress = self.records.get(key.as_str()).is_some_and(|slot| {
            slot.record.fingerprint == *fingerprint && slot.record.state == RecordState::InProgress
        });
        if in_progress {
            self.records.remove(key.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    fn key(text: &str) -> IdempotencyKey {
        IdempotencyKey::parse(text).unwrap()
    }

    fn ok(status: u16) -> StoredOutcome {
        StoredOutcome {
            status,
            body: "{}".into(),
        }
    }

    #[test]
    fn keys_are_printable_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("with space ~").is_ok());
        for bad in [
            String::new(),
            "k".repeat(256),
            "tab\t".into(),
            "é".into(),
            "nul\0".into(),
        ] {
            assert_eq!(
                IdempotencyKey::parse(&bad).unwrap_err().code(),
                code::error::IdempotencyKeyInvalid
            );
        }
    }

    #[test]
    fn fingerprints_ignore_json_key_order_and_method_case_only() {
        let a = fingerprint("post", "/v1/pay", br#"{"a":1,"b":[{"y":2,"x":1}]}"#);
        let b = fingerprint("POST", "/v1/pay", br#"{ "b":[{"x":1,"y":2}], "a":1 }"#);
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint("POST", "/v1/pay", br#"{"a":2,"b":[{"y":2,"x":1}]}"#)
        );
        assert_ne!(
            a,
            fingerprint("POST", "/v1/pay2", br#"{"a":1,"b":[{"y":2,"x":1}]}"#)
        );
        // Length prefixes: moving bytes between parts changes the fingerprint.
        assert_ne!(
            fingerprint("GET", "/ab", b"c"),
            fingerprint("GET", "/a", b"bc")
        );
        // Non-JSON bodies are hashed byte for byte.
        assert_ne!(
            fingerprint("POST", "/", b"x=1 "),
            fingerprint("POST", "/", b"x=1")
        );
    }

    #[test]
    fn stripes_contract() {
        let mut store = MemoryStore::new(10, IdempotencyConfig::default());
        let k = key("order-1");
        let fp = fingerprint("POST", "/pay", b"{}");
        let other = fingerprint("POST", "/pay", b"{\"x\":1}");
        assert_eq!(store.begin(&k, &fp, 100).unwrap(), Begin::Proceed);
        assert_eq!(
            store.begin(&k, &fp, 101).unwrap_err().code(),
            code::error::IdempotencyInProgress
        );
        assert_eq!(
            store.begin(&k, &other, 101).unwrap_err().code(),
            code::error::IdempotencyKeyReused
        );
        store.complete(&k, &fp, ok(201), 102).unwrap();
        assert_eq!(store.begin(&k, &fp, 103).unwrap(), Begin::Replay(ok(201)));
        assert_eq!(
            store.begin(&k, &other, 103).unwrap_err().code(),
            code::error::IdempotencyKeyReused
        );
        assert_eq!(
            store.complete(&k, &fp, ok(500), 104).unwrap_err().code(),
            code::error::IdempotencyNotStarted,
            "a completed record is never overwritten"
        );
        // After retention the key is free again, even for a different request.
        let expired = 100 + DEFAULT_RETENTION_SECONDS;
        assert_eq!(store.begin(&k, &other, expired).unwrap(), Begin::Proceed);
    }

    #[test]
    fn abandon_frees_only_an_in_progress_record_with_the_same_request() {
        let mut store = MemoryStore::new(10, IdempotencyConfig::default());
        let k = key("k");
        let fp = fingerprint("POST", "/", b"1");
        store.begin(&k, &fp, 0).unwrap();
        store.abandon(&k, &fingerprint("POST", "/", b"2"));
        assert_eq!(
            store.begin(&k, &fp, 1).unwrap_err().code(),
            code::error::IdempotencyInProgress
        );
        store.abandon(&k, &fp);
        assert_eq!(store.begin(&k, &fp, 2).unwrap(), Begin::Proceed);
    }

    #[test]
    fn a_full_store_evicts_completed_records_never_running_ones() {
        let mut store = MemoryStore::new(2, IdempotencyConfig::default());
        let fp = fingerprint("POST", "/", b"");
        store.begin(&key("a"), &fp, 0).unwrap();
        store.begin(&key("b"), &fp, 0).unwrap();
        assert_eq!(
            store.begin(&key("c"), &fp, 0).unwrap_err().code(),
            code::error::IdempotencyStoreFull
        );
        store.complete(&key("a"), &fp, ok(200), 1).unwrap();
        assert_eq!(store.begin(&key("c"), &fp, 1).unwrap(), Begin::Proceed);
        assert!(
            store.get(&key("a")).is_none(),
            "the completed record made room"
        );
        assert!(store.get(&key("b")).is_some());
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn a_request_that_died_loses_its_key_after_the_lease() {
        let config = IdempotencyConfig {
            retention_seconds: 1000,
            lease_seconds: 30,
        };
        let mut store = MemoryStore::new(2, config);
        let (k, fp) = (key("k"), fingerprint("POST", "/", b"1"));
        store.begin(&k, &fp, 100).unwrap();
        assert_eq!(
            store.begin(&k, &fp, 129).unwrap_err().code(),
            code::error::IdempotencyInProgress,
            "still leased"
        );
        assert_eq!(
            store
                .begin(&k, &fingerprint("POST", "/", b"2"), 130)
                .unwrap_err()
                .code(),
            code::error::IdempotencyKeyReused,
            "a dead request's key is not free for another request"
        );
        assert_eq!(store.begin(&k, &fp, 130).unwrap(), Begin::Proceed);
        assert_eq!(
            store.begin(&k, &fp, 131).unwrap_err().code(),
            code::error::IdempotencyInProgress,
            "the retry holds a new lease"
        );
        store.complete(&k, &fp, ok(200), 132).unwrap();
        assert_eq!(store.begin(&k, &fp, 500).unwrap(), Begin::Replay(ok(200)));
        // A dead record can be evicted to make room; a leased one cannot.
        let mut full = MemoryStore::new(1, config);
        full.begin(&key("dead"), &fp, 0).unwrap();
        assert_eq!(
            full.begin(&key("x"), &fp, 29).unwrap_err().code(),
            code::error::IdempotencyStoreFull
        );
        assert_eq!(full.begin(&key("x"), &fp, 30).unwrap(), Begin::Proceed);
    }

    #[test]
    fn sweeping_drops_expired_records() {
        let config = IdempotencyConfig {
            retention_seconds: 10,
            lease_seconds: 10,
        };
        let mut store = MemoryStore::new(5, config);
        let fp = fingerprint("POST", "/", b"");
        store.begin(&key("old"), &fp, 0).unwrap();
        store.begin(&key("new"), &fp, 5).unwrap();
        store.sweep(10);
        assert!(store.get(&key("old")).is_none());
        assert!(store.get(&key("new")).is_some());
    }
}
