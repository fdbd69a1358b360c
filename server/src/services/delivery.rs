//! The webhook sender: a worker that claims due events from the outbox, posts each to its
//! tenant's endpoint signed as Stripe signs (`Paywire-Signature`, see
//! [`paywire_core::webhook`]), records every attempt, and reschedules failures on the core's
//! [`RetrySchedule`](paywire_core::webhook::RetrySchedule) (exponential backoff with jitter, up to three days by default) until the
//! event is delivered or given up on; an endpoint failing too often in a row is disabled, with
//! an event saying so.
//!
//! Durable: the state lives in the database, so a restart resumes where the last process
//! stopped (an event it held is taken again when its lease runs out). Several instances on one
//! PostgreSQL never send the same attempt twice (see [`store::events::claim_due`]). A receiver
//! may still see an event more than once (an answer lost on the way back is a failure here);
//! each carries a unique `id` to deduplicate by.
//!
//! Endpoints are called through a resolver that refuses internal addresses on every request
//! (a host re-pointed at a private address after it was checked), and redirects are not
//! followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use paywire_core::webhook;
use tokio::sync::watch;

use crate::base::util::{new_id, new_ordered_id, now_i64, random_bytes};
use crate::base::webhook_url::{classify, AddressClass};
use crate::services::state::AppState;
use crate::store;
use crate::store::events::{Attempt, Due, Outcome};
use crate::store::StoreError;

/// Resolves endpoint hosts, keeping only addresses a webhook may call.
struct PublicOnly {
    allow_loopback: bool,
}

fn callable(ip: IpAddr, allow_loopback: bool) -> bool {
    match classify(ip) {
        AddressClass::Public => true,
        AddressClass::Loopback => allow_loopback,
        AddressClass::Internal => false,
    }
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| callable(address.ip(), allow_loopback))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no address a webhook may call").into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client webhooks are sent with.
pub fn client(state: &AppState) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(state.webhooks.timeout)
        .connect_timeout(state.webhooks.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PublicOnly {
            allow_loopback: state.allow_loopback_webhooks,
        }))
        .user_agent(concat!("Paywire-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a static client configuration")
}

/// The running sender; [`Sender::stop`] lets the batch in hand finish.
pub struct Sender {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Sender {
    /// Stops claiming, waits for the deliveries in progress.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the sender for `state`: deliveries run side by side, at most
/// [`WebhookConfig::batch`](crate::services::state::WebhookConfig::batch) at once and [`WebhookConfig::per_endpoint`](crate::services::state::WebhookConfig::per_endpoint) per endpoint, and each
/// one that ends makes room for the next due event at once — a receiver that never answers
/// holds its own few slots until its timeout, never the others' (the sender once waited for a
/// whole batch before claiming more, so one tarpit delayed every tenant by its timeout).
pub fn spawn(state: AppState) -> Sender {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let http = client(&state);
        let owner = new_id("snd");
        let mut sending = tokio::task::JoinSet::new();
        // Claim when a quarter of the slots are free (or none is busy): one claim per finished
        // delivery would read the due events once per delivery.
        let claim_from = (state.webhooks.batch / 4).max(1);
        loop {
            let room = state.webhooks.batch.saturating_sub(sending.len());
            let mut claimed = 0;
            if room >= claim_from || (room > 0 && sending.is_empty()) {
                match claim(&state, &owner, room).await {
                    Ok(due) => {
                        claimed = due.len();
                        for event in due {
                            let (state, http, owner) = (state.clone(), http.clone(), owner.clone());
                            sending
                                .spawn(async move { deliver(&state, &http, &owner, event).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "webhooks: claiming due events failed"),
                }
            }
            // As many as there was room for: there may be more due right away.
            if room > 0 && claimed == room {
                continue;
            }
            tokio::select! {
                Some(done) = sending.join_next(), if !sending.is_empty() => {
                    log_delivery(done);
                    while let Some(done) = sending.try_join_next() {
                        log_delivery(done);
                    }
                }
                _ = stopped.changed() => break,
                () = tokio::time::sleep(state.webhooks.poll_interval) => {}
            }
        }
        // Deliveries in progress end and are recorded.
        while let Some(done) = sending.join_next().await {
            log_delivery(done);
        }
    });
    Sender { stop, task }
}

fn log_delivery(done: Result<Result<(), StoreError>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "webhooks: recording an attempt failed"),
        Err(e) => tracing::error!(error = %e, "webhooks: a delivery task failed"),
    }
}

/// Claims up to `room` due events for `owner`, each endpoint's share capped.
async fn claim(state: &AppState, owner: &str, room: usize) -> Result<Vec<Due>, StoreError> {
    let now_ms = now_i64().saturating_mul(1000);
    // Held for longer than an attempt can take, so no other sender takes it meanwhile.
    let lease_ms = (state.webhooks.timeout.as_millis() as i64).saturating_mul(3) + 5_000;
    store::events::claim_due(
        &state.pool,
        state.dialect,
        owner,
        now_ms,
        lease_ms,
        i64::try_from(room).unwrap_or(i64::MAX),
        i64::try_from(state.webhooks.per_endpoint).unwrap_or(i64::MAX),
    )
    .await
}

/// Claims the events due now and sends them, concurrently, waiting for all; how many were
/// claimed (what one turn of the sender does, for tests that drive it by hand).
pub async fn send_due(
    state: &AppState,
    http: &reqwest::Client,
    owner: &str,
) -> Result<usize, StoreError> {
    let due = claim(state, owner, state.webhooks.batch).await?;
    let claimed = due.len();
    let mut sending = tokio::task::JoinSet::new();
    for event in due {
        let state = state.clone();
        let http = http.clone();
        let owner = owner.to_string();
        sending.spawn(async move { deliver(&state, &http, &owner, event).await });
    }
    while let Some(done) = sending.join_next().await {
        log_delivery(done);
    }
    Ok(claimed)
}

/// The body a delivery carries: the event in Stripe's envelope.
pub fn body_of(event: &Due) -> Vec<u8> {
    let data = serde_json::from_str(&event.data).unwrap_or(serde_json::Value::Null);
    let envelope = webhook::Event {
        id: event.id.clone(),
        event_type: event.event_type.clone(),
        created: u64::try_from(event.created_at).unwrap_or(0),
        data,
    };
    serde_json::to_vec(&envelope).expect("an event serializes")
}

async fn post(
    state: &AppState,
    http: &reqwest::Client,
    event: &Due,
) -> (Option<i64>, Option<String>) {
    let secret = match state.sealer.open(
        &event.secret_sealed,
        &crate::infra::secrets::webhook_aad(&event.tenant_id),
    ) {
        Ok(secret) => secret,
        Err(e) => {
            return (
                None,
                Some(format!("the endpoint's secret does not open: {e}")),
            )
        }
    };
    let url = match url::Url::parse(&event.url) {
        Ok(url) => url,
        Err(e) => return (None, Some(format!("the endpoint URL does not parse: {e}"))),
    };
    // An address literal does not go through the resolver: check it here.
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    if literal.is_some_and(|ip| !callable(ip, state.allow_loopback_webhooks)) {
        return (
            None,
            Some("the endpoint's address may not be called".into()),
        );
    }
    let body = body_of(event);
    let signature = webhook::sign(&secret, crate::base::util::now(), &body);
    let sent = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(webhook::SIGNATURE_HEADER, signature)
        .header("Paywire-Event-Id", &event.id)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            // The answer's body is not needed; dropping it closes what is left of it.
            drop(response);
            if status.is_success() {
                (Some(i64::from(status.as_u16())), None)
            } else {
                (
                    Some(i64::from(status.as_u16())),
                    Some(format!("the endpoint answered {status}")),
                )
            }
        }
        Err(e) => {
            let why = if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                "could not connect".to_string()
            } else {
                "the request failed".to_string()
            };
            (None, Some(why))
        }
    }
}

async fn deliver(
    state: &AppState,
    http: &reqwest::Client,
    owner: &str,
    event: Due,
) -> Result<(), StoreError> {
    let started = Instant::now();
    let (status_code, error) = post(state, http, &event).await;
    let duration_ms = started.elapsed().as_millis() as i64;
    let now = now_i64();
    let outcome = if error.is_none() {
        Outcome::Delivered
    } else {
        let jitter = u32::from_le_bytes(random_bytes::<4>());
        let attempts = u32::try_from(event.attempt).unwrap_or(u32::MAX);
        let created_ms = u64::try_from(event.created_at)
            .unwrap_or(0)
            .saturating_mul(1000);
        let now_ms = u64::try_from(now).unwrap_or(0).saturating_mul(1000);
        match state
            .webhooks
            .schedule
            .next_attempt_ms(attempts, created_ms, now_ms, jitter)
        {
            Some(at) => Outcome::RetryAt(i64::try_from(at).unwrap_or(i64::MAX)),
            None => Outcome::Failed,
        }
    };
    crate::infra::metrics::webhook_attempt(&event.event_type, outcome);
    let attempt = Attempt {
        id: &new_id("wha"),
        event_id: &event.id,
        tenant_id: &event.tenant_id,
        attempt: event.attempt,
        url: &event.url,
        status_code,
        error: error.as_deref(),
        duration_ms,
    };
    let failures =
        store::events::record_attempt(&state.pool, state.dialect, owner, &attempt, outcome, now)
            .await?;
    if let Some(failures) = failures {
        let failures = u32::try_from(failures).unwrap_or(u32::MAX);
        if outcome != Outcome::Delivered && state.webhooks.schedule.disables(failures) {
            let data = serde_json::json!({"url": event.url, "consecutiveFailures": failures});
            store::events::disable_endpoint(
                &state.pool,
                state.dialect,
                &event.tenant_id,
                &new_ordered_id("evt"),
                &data.to_string(),
                now,
            )
            .await?;
        }
    }
    Ok(())
}
