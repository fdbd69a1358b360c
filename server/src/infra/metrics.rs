//! Prometheus metrics (`GET /metrics`, operator key): settlements by outcome and reason, the
//! settle latency histogram, webhook attempts by outcome and the queue depth, the database
//! pool, rate-limited requests. Recorded with the `metrics` facade; one recorder per process.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::events::Outcome;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Settle latency buckets, seconds: sub-millisecond to a slow database.
const SETTLE_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("paywire_settle_duration_seconds".into()),
                SETTLE_BUCKETS,
            )
            .expect("static buckets are valid")
            .install_recorder()
            .expect("the only recorder of this process")
    })
}

/// One `/settle` answered: `outcome` is `settled`, `replayed`, `refused` or `pending`;
/// `reason` the refusal's code (empty otherwise).
pub fn settlement(outcome: &'static str, reason: &str, seconds: f64) {
    handle();
    metrics::counter!("paywire_settlements_total", "outcome" => outcome, "reason" => reason.to_string())
        .increment(1);
    metrics::histogram!("paywire_settle_duration_seconds", "outcome" => outcome).record(seconds);
}

/// A connection refused because its client address already held its cap of connections.
pub fn connection_refused() {
    handle();
    metrics::counter!("paywire_connections_refused_total", "reason" => "per_client_cap")
        .increment(1);
}

/// A connection cut off because its client did not read an answer within the write timeout.
pub fn connection_write_timed_out() {
    handle();
    metrics::counter!("paywire_connections_cut_total", "reason" => "write_timeout").increment(1);
}

/// One settlement batch committed (or given up): its size and how long it took.
pub fn settlement_batch(size: usize, seconds: f64) {
    handle();
    metrics::histogram!("paywire_settle_batch_size").record(size as f64);
    metrics::histogram!("paywire_settle_batch_duration_seconds").record(seconds);
}

/// A settlement batch that failed before its commit, whose members were settled one by one.
pub fn settlement_batch_fallback() {
    handle();
    metrics::counter!("paywire_settle_batch_fallbacks_total").increment(1);
}

/// How many settlement batches of this process fell back to one-by-one settlement.
pub fn batch_fallbacks() -> f64 {
    let text = handle().render();
    text.lines()
        .find_map(|line| line.strip_prefix("paywire_settle_batch_fallbacks_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The settlement batches of this process so far: `(batches, payments, seconds)` summed.
pub fn batch_totals() -> (f64, f64, f64) {
    let text = handle().render();
    let total = |name: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(name) && line[name.len()..].starts_with(' '))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    };
    (
        total("paywire_settle_batch_size_count"),
        total("paywire_settle_batch_size_sum"),
        total("paywire_settle_batch_duration_seconds_sum"),
    )
}

/// One webhook attempt and what it led to.
pub fn webhook_attempt(event_type: &str, outcome: Outcome) {
    handle();
    let outcome = match outcome {
        Outcome::Delivered => "delivered",
        Outcome::RetryAt(_) => "retry",
        Outcome::Failed => "failed",
    };
    metrics::counter!("paywire_webhook_attempts_total", "outcome" => outcome, "type" => event_type.to_string())
        .increment(1);
}

/// A request refused by a rate limit.
pub fn rate_limited(limit: &'static str) {
    handle();
    metrics::counter!("paywire_rate_limited_total", "limit" => limit).increment(1);
}

/// The text exposition, with the gauges read now.
pub fn render(queue_depth: i64, pool_size: u32, pool_idle: usize) -> String {
    let handle = handle();
    metrics::gauge!("paywire_webhook_queue_depth").set(queue_depth as f64);
    metrics::gauge!("paywire_db_pool_connections").set(f64::from(pool_size));
    metrics::gauge!("paywire_db_pool_idle_connections").set(pool_idle as f64);
    handle.render()
}
