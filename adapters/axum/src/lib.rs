//! # paywire-axum
//!
//! A tower [`Layer`] that puts axum routes behind HTTP 402 payments ([x402](https://x402.org),
//! v2 headers, v1 accepted). It is an I/O driver over paywire-core's paywall flow
//! ([`Paywall`]), which decides everything — free or priced, the 402s, access-token checks,
//! when to verify and settle, what to answer when the facilitator fails. This crate calls the
//! facilitator (any x402 facilitator: Paywire's settlement server, Coinbase's, your own) and
//! the handler, counts token uses, and builds responses.
//!
//! ```
//! use axum::{routing::get, Router};
//! use paywire_axum::{FacilitatorClient, PaywallLayer};
//! use paywire_core::flow::Paywall;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let paywall = Paywall::from_json(serde_json::json!({
//!     "routes": [{"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "10000"}}],
//!     "accepts": [{
//!         "asset": {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6},
//!         "payTo": "wal_provider"
//!     }]
//! }))?;
//! let facilitator = FacilitatorClient::new("http://127.0.0.1:4020")?;
//! let app: Router = Router::new()
//!     .route("/v1/weather/{city}", get(|| async { "21 °C" }))
//!     .layer(PaywallLayer::new(paywall, facilitator));
//!
//! // Unpaid, a priced route answers 402 with its offer; a paid request is verified and settled
//! // at the facilitator. Serve it with `axum::serve(listener, app)`.
//! let request = axum::http::Request::get("/v1/weather/paris")
//!     .header("host", "api.example.com")
//!     .body(axum::body::Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), 402);
//! assert!(response.headers().contains_key("payment-required"));
//! # Ok(())
//! # }
//! ```
//!
//! A request no route prices passes straight through. A paid request is verified, the handler
//! runs, and its answer is **held** until settlement succeeded: nothing is delivered unpaid. An
//! answer with status 400 or more is delivered without settling (a failed call is not charged
//! for). The facilitator unreachable is a 502 `facilitator_unavailable` (nothing charged, the
//! handler's body withheld); every failure is a JSON body with a stable code.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use paywire_core::flow::{Answer, Headers, Paywall, PaywallAction, PaywallFlow};
use paywire_core::token::KeyRing;
use reqwest_middleware::ClientWithMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{RetryTransientMiddleware, Retryable, RetryableStrategy};
use serde_json::Value;
use tower::{Layer, Service};

/// The most of a facilitator's answer read (a verify or settle response is well under 4 KB).
pub const MAX_FACILITATOR_ANSWER_BYTES: usize = 64 * 1024;

/// The largest handler answer held until settlement, by default (see
/// [`PaywallLayer::max_held_body_bytes`]).
pub const DEFAULT_MAX_HELD_BODY_BYTES: usize = 16 * 1024 * 1024;

/// An error a store of your own reports.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which facilitator call a request is, for per-request headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacilitatorCall {
    /// `POST /verify`.
    Verify,
    /// `POST /settle`.
    Settle,
}

impl FacilitatorCall {
    fn path(self) -> &'static str {
        match self {
            FacilitatorCall::Verify => "verify",
            FacilitatorCall::Settle => "settle",
        }
    }
}

type AuthHeaders = Arc<dyn Fn(FacilitatorCall) -> HeaderMap + Send + Sync>;

/// Retries only calls that never reached the facilitator (it could not be connected to): a
/// settle that may have arrived is not sent twice; the flow answers 502 and the payer may
/// re-send its payment, which settles at most once.
struct ConnectErrors;

impl RetryableStrategy for ConnectErrors {
    fn handle(&self, result: &reqwest_middleware::Result<reqwest::Response>) -> Option<Retryable> {
        match result {
            Err(reqwest_middleware::Error::Reqwest(error)) if error.is_connect() => {
                Some(Retryable::Transient)
            }
            _ => None,
        }
    }
}

/// Calls an x402 facilitator's `/verify` and `/settle`: with a timeout, retries on connection
/// errors (exponential backoff, reqwest-retry) and headers of your choosing per call.
#[derive(Clone)]
pub struct FacilitatorClient {
    base: url::Url,
    client: reqwest::Client,
    timeout: Duration,
    retry: Option<ExponentialBackoff>,
    headers: Option<AuthHeaders>,
    http: ClientWithMiddleware,
}

/// A facilitator URL that is not an absolute http(s) URL, or a client that cannot be built.
#[derive(Debug)]
pub struct FacilitatorError(String);

impl std::fmt::Display for FacilitatorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FacilitatorError {}

impl FacilitatorClient {
    /// A client for the facilitator at `base_url` (`/verify` and `/settle` are appended), with
    /// a 10 s connect timeout, a 30 s timeout per call and 2 retries on connection errors.
    pub fn new(base_url: &str) -> Result<Self, FacilitatorError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| FacilitatorError(format!("cannot build an HTTP client: {e}")))?;
        FacilitatorClient::with_client(base_url, client)
    }

    /// The same over a `reqwest::Client` of yours (its TLS, proxy and pool settings).
    pub fn with_client(base_url: &str, client: reqwest::Client) -> Result<Self, FacilitatorError> {
        let mut base = url::Url::parse(base_url)
            .map_err(|e| FacilitatorError(format!("facilitator URL {base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(FacilitatorError(format!(
                "facilitator URL {base_url:?}: not an http(s) URL"
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let retry = Some(ExponentialBackoff::builder().build_with_max_retries(2));
        let http = build(&client, retry);
        Ok(FacilitatorClient {
            base,
            client,
            timeout: Duration::from_secs(30),
            retry,
            headers: None,
            http,
        })
    }

    /// The timeout of each call, connection included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How calls that cannot connect are retried (default: 2 retries from 100 ms).
    pub fn retry(mut self, policy: ExponentialBackoff) -> Self {
        self.retry = Some(policy);
        self.http = build(&self.client, self.retry);
        self
    }

    /// No retries.
    pub fn without_retries(mut self) -> Self {
        self.retry = None;
        self.http = build(&self.client, None);
        self
    }

    /// Headers added to each call, computed per call (a signed JWT, an API key).
    pub fn headers(
        mut self,
        headers: impl Fn(FacilitatorCall) -> HeaderMap + Send + Sync + 'static,
    ) -> Self {
        self.headers = Some(Arc::new(headers));
        self
    }

    /// `Authorization: Bearer <token>` on every call.
    pub fn bearer(self, token: &str) -> Result<Self, FacilitatorError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| FacilitatorError("the token is not a header value".into()))?;
        value.set_sensitive(true);
        Ok(self
            .headers(move |_| HeaderMap::from_iter([(http::header::AUTHORIZATION, value.clone())])))
    }

    /// The facilitator's answer as the flow reads it: `Ok((status, JSON body))`, or
    /// `Err(what went wrong)` when it could not be reached.
    pub async fn call(
        &self,
        call: FacilitatorCall,
        body: &Value,
    ) -> Result<(u16, Option<Value>), String> {
        let url = self.base.join(call.path()).map_err(|e| e.to_string())?;
        let mut request = self.http.post(url).timeout(self.timeout).json(body);
        if let Some(headers) = &self.headers {
            request = request.headers(headers(call));
        }
        let mut response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_FACILITATOR_ANSWER_BYTES {
                        return Ok((status, None));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok((status, serde_json::from_slice(&bytes).ok()))
    }
}

fn build(client: &reqwest::Client, retry: Option<ExponentialBackoff>) -> ClientWithMiddleware {
    let builder = reqwest_middleware::ClientBuilder::new(client.clone());
    match retry {
        Some(policy) => builder
            .with(RetryTransientMiddleware::new_with_policy_and_strategy(
                policy,
                ConnectErrors,
            ))
            .build(),
        None => builder.build(),
    }
}

/// Counts uses of access tokens by their claims id, and deliveries of a payment's answer (ids
/// `payment:…`: one answer and one re-send of a lost one per payment). Share one store among
/// the instances of a provider for limits that hold across them; [`MemoryTokenUses`] counts in
/// this process.
#[async_trait]
pub trait TokenUses: Send + Sync {
    /// Records one use of token `id` (which expires at `expires_at`, unix seconds) and returns
    /// how many uses came before it.
    async fn count_use(&self, id: &str, expires_at: u64) -> Result<u64, BoxError>;
}

/// Token uses in memory; forgets tokens once they expired.
#[derive(Debug, Default)]
pub struct MemoryTokenUses(Mutex<HashMap<String, (u64, u64)>>);

/// How many tokens [`MemoryTokenUses`] holds before it sweeps expired ones.
const SWEEP_ABOVE: usize = 10_000;

#[async_trait]
impl TokenUses for MemoryTokenUses {
    async fn count_use(&self, id: &str, expires_at: u64) -> Result<u64, BoxError> {
        let mut counts = self.0.lock().map_err(|_| "token uses poisoned")?;
        let entry = counts.entry(id.to_string()).or_insert((0, expires_at));
        let before = entry.0;
        entry.0 += 1;
        if counts.len() > SWEEP_ABOVE {
            let now = system_now();
            counts.retain(|_, (_, expires)| *expires > now);
        }
        Ok(before)
    }
}

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;
type Randomness = Arc<dyn Fn(&mut [u8]) -> Result<(), BoxError> + Send + Sync>;

struct Shared {
    paywall: Paywall,
    facilitator: FacilitatorClient,
    keys: Option<Arc<KeyRing>>,
    token_uses: Arc<dyn TokenUses>,
    public_origin: Option<String>,
    max_held_body_bytes: usize,
    clock: Clock,
    randomness: Randomness,
}

/// The layer: `Router::layer` (or `route_layer`) it over the routes to protect.
#[derive(Clone)]
pub struct PaywallLayer {
    shared: Arc<Shared>,
}

impl PaywallLayer {
    /// Protects routes with `paywall`'s prices, verifying and settling at `facilitator`.
    pub fn new(paywall: Paywall, facilitator: FacilitatorClient) -> Self {
        PaywallLayer {
            shared: Arc::new(Shared {
                paywall,
                facilitator,
                keys: None,
                token_uses: Arc::new(MemoryTokenUses::default()),
                public_origin: None,
                max_held_body_bytes: DEFAULT_MAX_HELD_BODY_BYTES,
                clock: Arc::new(system_now),
                randomness: Arc::new(|buffer: &mut [u8]| {
                    getrandom::fill(buffer).map_err(|e| BoxError::from(e.to_string()))
                }),
            }),
        }
    }

    fn with(self, change: impl FnOnce(&mut Shared)) -> Self {
        let mut shared = match Arc::try_unwrap(self.shared) {
            Ok(shared) => shared,
            Err(shared) => Shared {
                paywall: shared.paywall.clone(),
                facilitator: shared.facilitator.clone(),
                keys: shared.keys.clone(),
                token_uses: Arc::clone(&shared.token_uses),
                public_origin: shared.public_origin.clone(),
                max_held_body_bytes: shared.max_held_body_bytes,
                clock: Arc::clone(&shared.clock),
                randomness: Arc::clone(&shared.randomness),
            },
        };
        change(&mut shared);
        PaywallLayer {
            shared: Arc::new(shared),
        }
    }

    /// Verifies presented access tokens, and signs the tokens bundle routes sell, with `keys`.
    pub fn keys(self, keys: KeyRing) -> Self {
        self.with(|s| s.keys = Some(Arc::new(keys)))
    }

    /// Where token uses are counted (default: in memory).
    pub fn token_uses(self, store: impl TokenUses + 'static) -> Self {
        self.with(|s| s.token_uses = Arc::new(store))
    }

    /// The scheme and host clients reach this API at (`https://api.example.com`), used for
    /// the resource URL of 402s and token scopes. Default: `http://` and the `Host` header.
    pub fn public_origin(self, origin: &str) -> Self {
        let origin = origin.trim_end_matches('/').to_string();
        self.with(|s| s.public_origin = Some(origin))
    }

    /// The largest handler answer held until settlement (default 16 MiB); a larger one is a
    /// 500 `response_too_large` and is not charged for.
    pub fn max_held_body_bytes(self, bytes: usize) -> Self {
        self.with(|s| s.max_held_body_bytes = bytes)
    }

    /// The clock, in unix seconds (default: the system clock).
    pub fn clock(self, now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.with(|s| s.clock = Arc::new(now))
    }

    /// The source of token ids (default: the operating system's).
    pub fn randomness(
        self,
        fill: impl Fn(&mut [u8]) -> Result<(), BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.with(|s| s.randomness = Arc::new(fill))
    }
}

impl<S> Layer<S> for PaywallLayer {
    type Service = PaywallService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PaywallService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`PaywallLayer`] wraps a handler in.
#[derive(Clone)]
pub struct PaywallService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request> for PaywallService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The ready service handles this request; a fresh clone takes its place (tower's rule
        // for services that are cloned into a future).
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move { Ok(drive(&shared, inner, request).await) })
    }
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The full URL of a request, as clients reach it.
fn full_url(shared: &Shared, request: &Request) -> String {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    if let Some(origin) = &shared.public_origin {
        return format!("{origin}{path}");
    }
    if let (Some(scheme), Some(authority)) = (request.uri().scheme_str(), request.uri().authority())
    {
        return format!("{scheme}://{authority}{path}");
    }
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{path}")
}

fn headers_of(map: &HeaderMap) -> Headers {
    map.iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?.to_string())))
        .collect()
}

/// An answer the flow gave, as a response.
fn respond(answer: Answer) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    add_headers(response.headers_mut(), &answer.headers);
    response
}

fn add_headers<'a>(
    headers: &mut HeaderMap,
    fields: impl IntoIterator<Item = (&'a String, &'a String)>,
) {
    for (name, value) in fields {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
}

/// A JSON error answer of this host's own (the flow's answers come as [`Answer`]s).
fn error(status: u16, code: &str, message: &str) -> Response {
    respond(Answer::error(status, code, message))
}

async fn drive<S>(shared: &Shared, mut inner: S, request: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let mut entropy = [0u8; 16];
    if let Err(e) = (shared.randomness)(&mut entropy) {
        return error(500, "randomness_unavailable", &e.to_string());
    }
    let url = full_url(shared, &request);
    let keys = shared.keys.as_deref();
    let (mut flow, mut action): (PaywallFlow, PaywallAction) = shared.paywall.request(
        request.method().as_str(),
        &url,
        &headers_of(request.headers()),
        (shared.clock)(),
        &entropy,
        keys,
    );
    let mut request = Some(request);
    let mut held: Option<(http::response::Parts, Option<axum::body::Bytes>)> = None;
    loop {
        action = match action {
            PaywallAction::Pass => {
                let Some(request) = request.take() else {
                    return error(500, "internal_error", "the request was already handled");
                };
                return match inner.call(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
            }
            PaywallAction::CountTokenUse { id, expires_at } => {
                match shared.token_uses.count_use(&id, expires_at).await {
                    Ok(before) => flow.on_token_uses(&shared.paywall, before, keys),
                    Err(e) => return error(503, "store_unavailable", &format!("token uses: {e}")),
                }
            }
            PaywallAction::Respond(answer) => return respond(answer),
            PaywallAction::Verify { body } => {
                let answer = shared
                    .facilitator
                    .call(FacilitatorCall::Verify, &body)
                    .await;
                flow.on_facilitator(&shared.paywall, answer, keys)
            }
            PaywallAction::Settle { body } => {
                let answer = shared
                    .facilitator
                    .call(FacilitatorCall::Settle, &body)
                    .await;
                flow.on_facilitator(&shared.paywall, answer, keys)
            }
            PaywallAction::RunHandler => {
                let Some(request) = request.take() else {
                    return error(500, "internal_error", "the request was already handled");
                };
                let response = match inner.call(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                let status = response.status().as_u16();
                let (parts, body) = response.into_parts();
                if status >= 400 {
                    // Not charged for: delivered as it is, body streaming.
                    held = Some((parts, None));
                    let action = flow.on_handler(status);
                    if let PaywallAction::Deliver { set_headers } = action {
                        let (mut parts, _) = held.take().expect("held above");
                        add_headers(&mut parts.headers, &set_headers);
                        return Response::from_parts(parts, body);
                    }
                    action
                } else {
                    // Held until the money moved: nothing is delivered unpaid.
                    match axum::body::to_bytes(body, shared.max_held_body_bytes).await {
                        Ok(bytes) => {
                            held = Some((parts, Some(bytes)));
                            flow.on_handler(status)
                        }
                        Err(_) => {
                            return error(
                                500,
                                "response_too_large",
                                "the handler's answer is larger than the paywall holds; nothing was charged",
                            )
                        }
                    }
                }
            }
            PaywallAction::Deliver { set_headers } => {
                let Some((mut parts, bytes)) = held.take() else {
                    return error(500, "internal_error", "deliver without a held answer");
                };
                add_headers(&mut parts.headers, &set_headers);
                // The body changed length only if it was re-read; keep the handler's framing.
                return Response::from_parts(parts, Body::from(bytes.unwrap_or_default()));
            }
        };
    }
}

/// Re-exported so that a dependent names the same versions.
pub use reqwest_retry;
