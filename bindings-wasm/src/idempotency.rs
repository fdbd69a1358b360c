//! Idempotency: key validation, request fingerprints, and a bounded in-memory store that
//! decides replays by Stripe's contract.

use std::cell::RefCell;

use paywire_core::idempotency::{
    self, Begin, Fingerprint, IdempotencyConfig, IdempotencyKey, IdempotencyStore, StoredOutcome,
};
use paywire_core::Error;
use wasm_bindgen::prelude::*;

use crate::convert::{optional_number, small_number, string_arg, to_js, whole_number};
use crate::error::{to_js_error, JsResult, OrThrow};

/// A bounded in-memory idempotency store (one process; the server keeps a durable one).
///
/// ```js
/// const store = new MemoryStore(10_000, 86_400);
/// store.begin(key, fp, now)            // { action: "proceed" }
/// store.complete(key, fp, 200, body, now)
/// store.begin(key, fp, now)            // { action: "replay", status: 200, body }
/// ```
#[wasm_bindgen]
pub struct MemoryStore {
    // `&self` methods only (see `Usage`).
    store: RefCell<idempotency::MemoryStore>,
}

fn parse(key: &str, fingerprint: &str) -> JsResult<(IdempotencyKey, Fingerprint)> {
    let key = IdempotencyKey::parse(key).or_throw()?;
    let fp = Fingerprint::try_from(fingerprint.to_string()).map_err(|_| {
        to_js_error(&Error::InvalidArgument(
            "fingerprint must be 64 hex digits".into(),
        ))
    })?;
    Ok((key, fp))
}

#[wasm_bindgen]
impl MemoryStore {
    /// A store of at most `capacity` keys, each kept `retentionSeconds` (default 24 h); a
    /// request in progress holds its key for `leaseSeconds` (default 60), after which a retry
    /// takes it over.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "number")] capacity: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | undefined")] retention_seconds: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | undefined")] lease_seconds: JsValue,
    ) -> JsResult<MemoryStore> {
        let capacity = small_number(&capacity, "capacity", u64::from(u32::MAX))? as usize;
        let retention_seconds = optional_number(
            &retention_seconds,
            "retentionSeconds",
            u64::MAX,
            idempotency::DEFAULT_RETENTION_SECONDS,
        )?;
        let lease_seconds = optional_number(
            &lease_seconds,
            "leaseSeconds",
            u64::MAX,
            idempotency::DEFAULT_LEASE_SECONDS,
        )?;
        Ok(MemoryStore {
            store: RefCell::new(idempotency::MemoryStore::new(
                capacity,
                IdempotencyConfig {
                    retention_seconds,
                    lease_seconds,
                },
            )),
        })
    }

    /// Starts a request: `{action: "proceed"}` for a new key, `{action: "replay", status,
    /// body}` for a finished one; throws `idempotency_key_reused` (other request) or
    /// `idempotency_in_progress` (still running), or `idempotency_store_full`.
    #[wasm_bindgen(
        unchecked_return_type = "{ action: 'proceed' } | { action: 'replay'; status: number; body: string }"
    )]
    pub fn begin(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] fingerprint: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
    ) -> JsResult<JsValue> {
        let key = &string_arg(&key, "key")?;
        let fingerprint = &string_arg(&fingerprint, "fingerprint")?;
        let (key, fp) = parse(key, fingerprint)?;
        let now = whole_number(&now, "now")?;
        match self.store.borrow_mut().begin(&key, &fp, now).or_throw()? {
            Begin::Proceed => to_js(&serde_json::json!({"action": "proceed"})),
            Begin::Replay(outcome) => to_js(
                &serde_json::json!({"action": "replay", "status": outcome.status, "body": outcome.body}),
            ),
        }
    }

    /// Stores the outcome of a request that `begin` let proceed.
    pub fn complete(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] fingerprint: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] status: JsValue,
        body: String,
        #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
    ) -> JsResult<()> {
        let key = &string_arg(&key, "key")?;
        let fingerprint = &string_arg(&fingerprint, "fingerprint")?;
        let (key, fp) = parse(key, fingerprint)?;
        let status = small_number(&status, "status", 999)? as u16;
        let now = whole_number(&now, "now")?;
        self.store
            .borrow_mut()
            .complete(&key, &fp, StoredOutcome { status, body }, now)
            .or_throw()
    }

    /// Forgets a request that failed before it had an outcome, so a retry may proceed.
    pub fn abandon(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] fingerprint: JsValue,
    ) -> JsResult<()> {
        let key = &string_arg(&key, "key")?;
        let fingerprint = &string_arg(&fingerprint, "fingerprint")?;
        let (key, fp) = parse(key, fingerprint)?;
        self.store.borrow_mut().abandon(&key, &fp);
        Ok(())
    }

    /// Drops records older than the retention.
    pub fn sweep(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
    ) -> JsResult<()> {
        let now = whole_number(&now, "now")?;
        self.store.borrow_mut().sweep(now);
        Ok(())
    }

    /// How many keys are held.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.store.borrow().len()).unwrap_or(u32::MAX)
    }
}
