//! JSON-RPC to one chain over several URLs: failover in the configured order, retries with
//! exponential backoff and jitter on transport errors, a circuit breaker per URL, a timeout per
//! call, and a check that each URL serves the configured chain before anything else is asked.
//!
//! An *answer* from a node — a revert, "nonce too low" — is returned as it is: asking another
//! node would get the same. What is retried and failed over is what says nothing about the
//! chain: a refused connection, an HTTP error, a stall past the timeout, a body that is not
//! JSON-RPC, or a node on another chain (a lying or misconfigured URL).

use std::borrow::Cow;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy::rpc::client::RpcClient;
use alloy::rpc::json_rpc::{ErrorPayload, RpcRecv, RpcSend};
use alloy::transports::RpcError;

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RpcPolicy {
    /// One call's timeout.
    pub timeout: Duration,
    /// Attempts per URL before failing over (transport errors only).
    pub attempts_per_url: u32,
    /// The first retry's delay; doubled each time, with up to 50 % jitter.
    pub first_backoff: Duration,
    /// Consecutive failures that open a URL's breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker keeps its URL out (then one call probes it).
    pub breaker_cooldown: Duration,
}

impl Default for RpcPolicy {
    fn default() -> Self {
        RpcPolicy {
            timeout: Duration::from_secs(5),
            attempts_per_url: 2,
            first_backoff: Duration::from_millis(50),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(10),
        }
    }
}

/// Why a call got no answer from the chain.
#[derive(Debug, thiserror::Error)]
pub enum RpcFailure {
    /// A node answered with a JSON-RPC error (a revert, a refused transaction).
    #[error("the node answered {code}: {message}")]
    Answer {
        /// The JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
        /// Revert data, if any.
        data: Option<alloy::primitives::Bytes>,
    },
    /// No URL gave an answer.
    #[error("no RPC URL answered: {0}")]
    Unreachable(String),
}

impl RpcFailure {
    /// A revert's reason, as text: the decoded `Error(string)` when the node sent data, else
    /// its message.
    pub fn revert_text(&self) -> Option<String> {
        match self {
            RpcFailure::Answer { message, data, .. } => Some(
                data.as_ref()
                    .and_then(|data| alloy::sol_types::decode_revert_reason(data))
                    .unwrap_or_else(|| message.clone()),
            ),
            RpcFailure::Unreachable(_) => None,
        }
    }
}

struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

struct Endpoint {
    url: String,
    client: RpcClient,
    breaker: Mutex<Breaker>,
    /// Whether this URL was seen serving the configured chain (checked once, then cached:
    /// a chain id never changes).
    chain_checked: tokio::sync::OnceCell<()>,
}

/// A chain's JSON-RPC, over its URLs.
pub struct Rpc {
    chain_id: u64,
    endpoints: Vec<Endpoint>,
    policy: RpcPolicy,
}

impl std::fmt::Debug for Rpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rpc")
            .field("chain_id", &self.chain_id)
            .field(
                "urls",
                &self
                    .endpoints
                    .iter()
                    .map(|e| redact(&e.url))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A URL as logged: scheme, host and port only — RPC URLs carry API keys in their
/// credentials, path or query.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or(""),
            parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "<invalid url>".into(),
    }
}

enum Outcome<R> {
    Answer(R),
    Node(RpcFailure),
    Transport(String),
}

impl Rpc {
    /// An RPC over `urls` (tried in this order) for `chain_id`.
    pub fn new(chain_id: u64, urls: &[String], policy: RpcPolicy) -> Result<Rpc, String> {
        if urls.is_empty() {
            return Err("a chain needs at least one RPC URL".into());
        }
        let endpoints = urls
            .iter()
            .map(|url| {
                let parsed: url::Url = url
                    .parse()
                    .map_err(|e| format!("RPC URL {}: {e}", redact(url)))?;
                Ok(Endpoint {
                    url: url.clone(),
                    client: RpcClient::new_http(parsed),
                    breaker: Mutex::new(Breaker {
                        failures: 0,
                        open_until: None,
                    }),
                    chain_checked: tokio::sync::OnceCell::new(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Rpc {
            chain_id,
            endpoints,
            policy,
        })
    }

    /// The chain id every URL must serve.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Calls `method` with `params` on the first URL that answers.
    pub async fn request<P, R>(&self, method: &'static str, params: P) -> Result<R, RpcFailure>
    where
        P: RpcSend + Clone,
        R: RpcRecv,
    {
        let mut last_error = String::from("every URL's breaker is open");
        // Open breakers are skipped while another URL may answer; if all are open, each is
        // tried anyway (a breaker protects latency, it must not make the chain unreachable).
        for pass in 0..2 {
            for endpoint in &self.endpoints {
                if pass == 0 && !endpoint.available() {
                    continue;
                }
                if pass == 1 && endpoint.available() {
                    continue;
                }
                match self.on_endpoint(endpoint, method, params.clone()).await {
                    Outcome::Answer(answer) => return Ok(answer),
                    Outcome::Node(failure) => return Err(failure),
                    Outcome::Transport(error) => {
                        tracing::warn!(url = %redact(&endpoint.url), method, error = %error, "RPC call failed; trying the next URL");
                        last_error = error;
                    }
                }
            }
        }
        Err(RpcFailure::Unreachable(last_error))
    }

    async fn on_endpoint<P, R>(
        &self,
        endpoint: &Endpoint,
        method: &'static str,
        params: P,
    ) -> Outcome<R>
    where
        P: RpcSend + Clone,
        R: RpcRecv,
    {
        if let Err(error) = self.check_chain(endpoint).await {
            endpoint.failed(&self.policy);
            return Outcome::Transport(error);
        }
        let mut backoff = self.policy.first_backoff;
        let mut last = String::new();
        for attempt in 0..self.policy.attempts_per_url.max(1) {
            if attempt > 0 {
                tokio::time::sleep(jittered(backoff)).await;
                backoff = backoff.saturating_mul(2);
            }
            let call = endpoint
                .client
                .request::<P, R>(Cow::Borrowed(method), params.clone());
            match tokio::time::timeout(self.policy.timeout, call).await {
                Err(_) => last = format!("{method} timed out after {:?}", self.policy.timeout),
                Ok(Ok(answer)) => {
                    endpoint.succeeded();
                    return Outcome::Answer(answer);
                }
                Ok(Err(RpcError::ErrorResp(payload))) => {
                    endpoint.succeeded();
                    return Outcome::Node(node_failure(payload));
                }
                Ok(Err(RpcError::DeserError { err, .. })) => {
                    // Not JSON-RPC as it should be: the URL is lying or broken; do not retry it.
                    last = format!("{method}: an answer that is not JSON-RPC ({err})");
                    break;
                }
                Ok(Err(error)) => last = format!("{method}: {error}"),
            }
        }
        endpoint.failed(&self.policy);
        Outcome::Transport(last)
    }

    /// Checks once per URL that it serves the configured chain.
    async fn check_chain(&self, endpoint: &Endpoint) -> Result<(), String> {
        endpoint
            .chain_checked
            .get_or_try_init(|| async {
                let call = endpoint
                    .client
                    .request_noparams::<alloy::primitives::U64>(Cow::Borrowed("eth_chainId"));
                let id = match tokio::time::timeout(self.policy.timeout, call).await {
                    Err(_) => return Err("eth_chainId timed out".to_string()),
                    Ok(Err(e)) => return Err(format!("eth_chainId: {e}")),
                    Ok(Ok(id)) => id.to::<u64>(),
                };
                if id != self.chain_id {
                    return Err(format!(
                        "this URL serves chain {id}, not {}: it is not used",
                        self.chain_id
                    ));
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }
}

impl Endpoint {
    fn available(&self) -> bool {
        let breaker = self.breaker.lock().expect("breaker lock");
        breaker
            .open_until
            .is_none_or(|until| Instant::now() >= until)
    }

    fn succeeded(&self) {
        let mut breaker = self.breaker.lock().expect("breaker lock");
        breaker.failures = 0;
        breaker.open_until = None;
    }

    fn failed(&self, policy: &RpcPolicy) {
        let mut breaker = self.breaker.lock().expect("breaker lock");
        breaker.failures = breaker.failures.saturating_add(1);
        if breaker.failures >= policy.breaker_threshold {
            breaker.open_until = Some(Instant::now() + policy.breaker_cooldown);
        }
    }
}

fn node_failure(payload: ErrorPayload) -> RpcFailure {
    RpcFailure::Answer {
        code: payload.code,
        data: payload.as_revert_data(),
        message: payload.message.into_owned(),
    }
}

/// `delay` plus up to half of it again, so retries from many callers do not fall in step.
fn jittered(delay: Duration) -> Duration {
    let [byte] = crate::base::util::random_bytes::<1>();
    delay + delay.mul_f64(f64::from(byte) / 510.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_logged_without_keys() {
        assert_eq!(
            redact("https://user:secret@base-mainnet.example.com/v2/KEY123?apikey=x"),
            "https://base-mainnet.example.com"
        );
        assert_eq!(redact("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(redact("not a url"), "<invalid url>");
    }

    #[test]
    fn jitter_stays_within_half_the_delay() {
        for _ in 0..100 {
            let delay = jittered(Duration::from_millis(100));
            assert!(delay >= Duration::from_millis(100) && delay <= Duration::from_millis(150));
        }
    }
}
