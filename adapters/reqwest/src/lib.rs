//! # paywire-reqwest
//!
//! A [`reqwest_middleware`] middleware that pays HTTP 402s ([x402](https://x402.org), v2 headers,
//! v1 accepted) within a spending policy. It is an I/O driver over paywire-core's client flow
//! ([`ClientFlow`]), which decides everything — which access token to present, which payment
//! option to pay, when to ask for approval, when to re-send the very same payment, when
//! spending counts. This crate sends requests, reads and writes the stores, reads the clock,
//! draws random bytes and calls the signer.
//!
//! ```
//! use paywire_core::Policy;
//! use paywire_reqwest::reqwest_middleware::ClientBuilder;
//! use paywire_reqwest::{payment_of, LedgerSigner, Paywire};
//! # use paywire_sandbox::{serve_app, weather_api, Sandbox};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // A settlement server and a paid weather API in this process, and a funded wallet.
//! # let sandbox = Sandbox::ephemeral().await?;
//! # let provider = sandbox.provider("Weather Co", None).await?;
//! # let policy = serde_json::from_value(serde_json::json!({}))?;
//! # let agent = sandbox.agent("agent", policy, "1.00").await?;
//! # let app = weather_api(&sandbox.url, sandbox.network(), &provider.wallet_id, "2.00".parse()?)?;
//! # let (api, _) = serve_app("127.0.0.1:0".parse()?, app).await?;
//! # let (wallet_id, secret) = (agent.wallet_id.clone(), agent.wallet_secret.clone().unwrap());
//! let policy: Policy = serde_json::from_value(serde_json::json!({
//!     "maxPerRequest": "0.10",
//!     "dailyLimit": "5.00",
//! }))?;
//! let signer = LedgerSigner::from_hex(&wallet_id, &secret)?;
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(Paywire::builder(policy, signer).build())
//!     .build();
//!
//! let response = client.get(format!("http://{api}/v1/weather/paris")).send().await?;
//! let payment = payment_of(&response).expect("the 402 was paid");
//! assert_eq!(payment.amount.to_string(), "0.01");
//! # sandbox.stop().await?;
//! # Ok(())
//! # }
//! ```
//!
//! A refusal is an error whose [`PaymentError::code`] is stable: a policy code
//! (`policy_daily_limit_exceeded`), `payment_rejected` (the provider refused a payment; its 402
//! is in the details), or a decoding code. Get it with [`PaymentError::of`].
//!
//! Payments of one [`Paywire`] are decided one at a time, so two concurrent 402s cannot both
//! pass a limit only one fits (the settlement server enforces it again, atomically). A request
//! that fails to connect is retried with exponential backoff (reqwest-retry); a paid request
//! whose answer is lost is sent again as the very same payment, which a facilitator settles at
//! most once.
#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use http::Extensions;
use paywire_core::flow::{
    ClientAction, ClientConfig, ClientFlow, HttpResponse, Payer, PaymentRecord, SignRequest,
};
use paywire_core::money::AssetRegistry;
use paywire_core::protocol::evm::PrivateKey;
use paywire_core::protocol::ledger::WalletSecret;
use paywire_core::protocol::{AnyRequirements, PaymentRequired};
use paywire_core::token::AccessToken;
use paywire_core::{Policy, Usage};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{RetryTransientMiddleware, Retryable, RetryableStrategy};
use rust_decimal::Decimal;
use serde_json::Value;

/// The most of a 402's body read (a v1 402 carries its options there; they are small).
pub const MAX_402_BODY_BYTES: usize = 64 * 1024;

/// An error a store, signer or approver of your own reports.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the middleware did not deliver a response: a stable code, a message, and details.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentError {
    /// The stable snake_case code (`policy_daily_limit_exceeded`, `payment_rejected`, ...).
    pub code: String,
    /// What happened.
    pub message: String,
    /// Structured details: a policy's rejections, a provider's 402.
    pub details: Option<Value>,
}

impl PaymentError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        PaymentError {
            code: code.to_string(),
            message: message.into(),
            details: None,
        }
    }

    /// The payment error inside a middleware error, if that is what it is.
    pub fn of(error: &reqwest_middleware::Error) -> Option<&PaymentError> {
        match error {
            reqwest_middleware::Error::Middleware(inner) => inner.downcast_ref::<PaymentError>(),
            reqwest_middleware::Error::Reqwest(_) => None,
        }
    }
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for PaymentError {}

impl From<PaymentError> for reqwest_middleware::Error {
    fn from(error: PaymentError) -> Self {
        reqwest_middleware::Error::Middleware(anyhow::Error::new(error))
    }
}

/// The payment the middleware made to obtain `response`, if it paid.
pub fn payment_of(response: &Response) -> Option<&PaymentRecord> {
    response.extensions().get::<PaymentRecord>()
}

/// Signs the authorizations the client flow asks for. Implement it to sign with a KMS, a
/// hardware wallet or a remote signer; [`EvmSigner`] and [`LedgerSigner`] hold a key in memory.
#[async_trait]
pub trait Signer: Send + Sync {
    /// Who this signer pays as (an EVM address, or a ledger wallet id).
    fn payer(&self) -> Payer;

    /// The signature of `request`, `0x`-hex: for EVM the 65-byte EIP-712 signature of
    /// `request.digest` (r‖s‖v), for the ledger the wallet's HMAC. The flow checks it before
    /// sending, so a signer that signs the wrong thing fails here, not at the provider.
    async fn sign(&self, request: &SignRequest) -> Result<String, BoxError>;
}

/// Signs EIP-3009 authorizations with an EVM private key held in memory (zeroized on drop).
pub struct EvmSigner {
    key: PrivateKey,
}

impl EvmSigner {
    /// A signer from a `0x`-hex private key.
    pub fn from_hex(private_key: &str) -> Result<Self, paywire_core::Error> {
        Ok(EvmSigner {
            key: PrivateKey::from_hex(private_key)?,
        })
    }
}

#[async_trait]
impl Signer for EvmSigner {
    fn payer(&self) -> Payer {
        Payer::Evm {
            address: self.key.address().to_checksum(),
        }
    }

    async fn sign(&self, request: &SignRequest) -> Result<String, BoxError> {
        Ok(request.sign_evm(&self.key)?)
    }
}

/// Signs ledger authorizations for a Paywire wallet with its signing secret (zeroized on drop).
pub struct LedgerSigner {
    wallet_id: String,
    secret: WalletSecret,
}

impl LedgerSigner {
    /// A signer for `wallet_id` from its secret in hex, as the settlement server printed it.
    pub fn from_hex(wallet_id: &str, secret: &str) -> Result<Self, paywire_core::Error> {
        Ok(LedgerSigner {
            wallet_id: wallet_id.to_string(),
            secret: WalletSecret::from_hex(secret)?,
        })
    }
}

#[async_trait]
impl Signer for LedgerSigner {
    fn payer(&self) -> Payer {
        Payer::Ledger {
            wallet_id: self.wallet_id.clone(),
        }
    }

    async fn sign(&self, request: &SignRequest) -> Result<String, BoxError> {
        Ok(request.sign_ledger(&self.secret)?)
    }
}

/// What an [`Approver`] is asked about: a payment the policy wants a person (or a rule of
/// yours) to agree to.
#[derive(Debug, Clone)]
pub struct ApprovalRequest {
    /// The resource URL.
    pub url: String,
    /// What it costs, in whole units of the asset.
    pub amount: Decimal,
    /// The option that would be paid.
    pub requirements: AnyRequirements,
    /// Everything the provider offered.
    pub payment_required: PaymentRequired,
}

/// Decides payments above the policy's approval threshold. Without one, they are refused
/// (`policy_approval_denied`).
#[async_trait]
pub trait Approver: Send + Sync {
    /// Whether to pay.
    async fn approve(&self, request: &ApprovalRequest) -> bool;
}

#[async_trait]
impl<F> Approver for F
where
    F: Fn(&ApprovalRequest) -> bool + Send + Sync,
{
    async fn approve(&self, request: &ApprovalRequest) -> bool {
        self(request)
    }
}

/// Where the payer's spending so far lives between payments. Share one store among the
/// clients of one payer; [`MemoryUsage`] keeps it in this process.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// The stored usage (`None` before the first payment).
    async fn load(&self) -> Result<Option<Usage>, BoxError>;
    /// Replaces the stored usage.
    async fn save(&self, usage: &Usage) -> Result<(), BoxError>;
}

/// Usage in memory.
#[derive(Debug, Default)]
pub struct MemoryUsage(Mutex<Option<Usage>>);

#[async_trait]
impl UsageStore for MemoryUsage {
    async fn load(&self) -> Result<Option<Usage>, BoxError> {
        Ok(self.0.lock().map_err(|_| "usage store poisoned")?.clone())
    }

    async fn save(&self, usage: &Usage) -> Result<(), BoxError> {
        *self.0.lock().map_err(|_| "usage store poisoned")? = Some(usage.clone());
        Ok(())
    }
}

/// Where access tokens sold with payments live between requests; [`MemoryTokens`] keeps
/// them in this process.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Every stored token.
    async fn list(&self) -> Result<Vec<AccessToken>, BoxError>;
    /// Stores a token.
    async fn add(&self, token: &AccessToken) -> Result<(), BoxError>;
    /// Deletes a token (expired, or refused by the provider).
    async fn forget(&self, token: &str) -> Result<(), BoxError>;
}

/// Access tokens in memory.
#[derive(Debug, Default)]
pub struct MemoryTokens(Mutex<Vec<AccessToken>>);

#[async_trait]
impl TokenStore for MemoryTokens {
    async fn list(&self) -> Result<Vec<AccessToken>, BoxError> {
        Ok(self.0.lock().map_err(|_| "token store poisoned")?.clone())
    }

    async fn add(&self, token: &AccessToken) -> Result<(), BoxError> {
        let mut tokens = self.0.lock().map_err(|_| "token store poisoned")?;
        tokens.retain(|t| t.token != token.token);
        tokens.push(token.clone());
        Ok(())
    }

    async fn forget(&self, token: &str) -> Result<(), BoxError> {
        self.0
            .lock()
            .map_err(|_| "token store poisoned")?
            .retain(|t| t.token != token);
        Ok(())
    }
}

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;
type Randomness = Arc<dyn Fn(&mut [u8]) -> Result<(), BoxError> + Send + Sync>;
type PaymentHook = Arc<dyn Fn(&PaymentRecord) + Send + Sync>;

/// Retries only what failed before any answer: connection errors and timeouts. A status is an
/// answer, and the flow decides what it means.
struct ConnectionErrors;

impl RetryableStrategy for ConnectionErrors {
    fn handle(&self, result: &reqwest_middleware::Result<Response>) -> Option<Retryable> {
        match result {
            Err(reqwest_middleware::Error::Reqwest(error))
                if error.is_connect() || error.is_timeout() || error.is_request() =>
            {
                Some(Retryable::Transient)
            }
            _ => None,
        }
    }
}

/// Builds a [`Paywire`] middleware.
pub struct PaywireBuilder {
    policy: Policy,
    signer: Arc<dyn Signer>,
    assets: AssetRegistry,
    usage: Arc<dyn UsageStore>,
    tokens: Arc<dyn TokenStore>,
    approver: Option<Arc<dyn Approver>>,
    on_payment: Option<PaymentHook>,
    clock: Clock,
    randomness: Randomness,
    retry: Option<ExponentialBackoff>,
}

impl PaywireBuilder {
    /// The assets whose decimals the policy judges amounts with (default: the core's table —
    /// USDC on Base and Base Sepolia, USD on every Paywire ledger).
    pub fn assets(mut self, assets: AssetRegistry) -> Self {
        self.assets = assets;
        self
    }

    /// Where spending so far lives (default: in memory).
    pub fn usage_store(mut self, store: impl UsageStore + 'static) -> Self {
        self.usage = Arc::new(store);
        self
    }

    /// Where access tokens live (default: in memory).
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.tokens = Arc::new(store);
        self
    }

    /// Who approves payments above the policy's threshold (default: nobody — refused).
    pub fn approver(mut self, approver: impl Approver + 'static) -> Self {
        self.approver = Some(Arc::new(approver));
        self
    }

    /// Called with every payment once its paid answer arrived.
    pub fn on_payment(mut self, hook: impl Fn(&PaymentRecord) + Send + Sync + 'static) -> Self {
        self.on_payment = Some(Arc::new(hook));
        self
    }

    /// The clock, in unix seconds (default: the system clock).
    pub fn clock(mut self, now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(now);
        self
    }

    /// The source of nonces and payment identifiers (default: the operating system's).
    pub fn randomness(
        mut self,
        fill: impl Fn(&mut [u8]) -> Result<(), BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.randomness = Arc::new(fill);
        self
    }

    /// How requests that fail to connect are retried (default: 2 retries, exponential
    /// backoff from 100 ms).
    pub fn retry(mut self, policy: ExponentialBackoff) -> Self {
        self.retry = Some(policy);
        self
    }

    /// No retries on connection errors (the flow still re-sends a paid request once).
    pub fn without_retries(mut self) -> Self {
        self.retry = None;
        self
    }

    /// The middleware.
    pub fn build(self) -> Paywire {
        let config = ClientConfig {
            policy: self.policy,
            payer: self.signer.payer(),
            assets: self.assets,
        };
        let retry = self.retry.map(|policy| {
            RetryTransientMiddleware::new_with_policy_and_strategy(policy, ConnectionErrors)
        });
        Paywire {
            inner: Arc::new(Inner {
                config,
                signer: self.signer,
                usage: self.usage,
                tokens: self.tokens,
                approver: self.approver,
                on_payment: self.on_payment,
                clock: self.clock,
                randomness: self.randomness,
                retry,
                deciding: Arc::new(tokio::sync::Mutex::new(())),
            }),
        }
    }
}

struct Inner {
    config: ClientConfig,
    signer: Arc<dyn Signer>,
    usage: Arc<dyn UsageStore>,
    tokens: Arc<dyn TokenStore>,
    approver: Option<Arc<dyn Approver>>,
    on_payment: Option<PaymentHook>,
    clock: Clock,
    randomness: Randomness,
    retry: Option<RetryTransientMiddleware<ExponentialBackoff, ConnectionErrors>>,
    /// Held from a 402 until its payment's answer: payments are decided one at a time.
    deciding: Arc<tokio::sync::Mutex<()>>,
}

/// The middleware: add it to a `reqwest_middleware::ClientBuilder`. Cheap to clone; clones
/// share stores and decide payments one at a time together.
#[derive(Clone)]
pub struct Paywire {
    inner: Arc<Inner>,
}

impl Paywire {
    /// A builder for a middleware that pays within `policy`, signing with `signer`.
    pub fn builder(policy: Policy, signer: impl Signer + 'static) -> PaywireBuilder {
        PaywireBuilder {
            policy,
            signer: Arc::new(signer),
            assets: AssetRegistry::with_defaults(),
            usage: Arc::new(MemoryUsage::default()),
            tokens: Arc::new(MemoryTokens::default()),
            approver: None,
            on_payment: None,
            clock: Arc::new(system_now),
            randomness: Arc::new(|buffer: &mut [u8]| {
                getrandom::fill(buffer).map_err(|e| BoxError::from(e.to_string()))
            }),
            retry: Some(ExponentialBackoff::builder().build_with_max_retries(2)),
        }
    }

    /// Who this middleware pays as.
    pub fn payer(&self) -> &Payer {
        &self.inner.config.payer
    }

    async fn send(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        match &self.inner.retry {
            // A streamed body cannot be sent twice: it goes once, without retries.
            Some(retry) if request.try_clone().is_some() => {
                retry.handle(request, extensions, next).await
            }
            _ => next.run(request, extensions).await,
        }
    }

    fn random<const N: usize>(&self) -> Result<[u8; N], PaymentError> {
        let mut bytes = [0u8; N];
        (self.inner.randomness)(&mut bytes)
            .map_err(|e| PaymentError::new("randomness_unavailable", e.to_string()))?;
        Ok(bytes)
    }
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn store_error(what: &str, error: BoxError) -> PaymentError {
    PaymentError::new("store_unavailable", format!("{what}: {error}"))
}

/// Reads a response's status and headers, and its body if it is a 402 (at most
/// [`MAX_402_BODY_BYTES`]), as the flow reads responses.
async fn read(response: Response) -> Result<(HttpResponse, Option<Response>), reqwest::Error> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?.to_string())))
        .collect();
    if status != 402 {
        let seen = HttpResponse {
            status,
            headers,
            body: None,
        };
        return Ok((seen, Some(response)));
    }
    // A 402 is never handed to the caller (it is paid, or refused with an error), so its
    // body is read here and the response dropped.
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_402_BODY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    let seen = HttpResponse {
        status,
        headers,
        body: Some(String::from_utf8_lossy(&body).into_owned()),
    };
    Ok((seen, None))
}

/// The request to send next: a copy of the original while it can be copied, else the
/// original itself, once.
fn outgoing(original: &mut Option<Request>) -> Result<Request, PaymentError> {
    let copy = original.as_ref().and_then(Request::try_clone);
    match copy {
        Some(copy) => Ok(copy),
        None => original.take().ok_or_else(|| {
            PaymentError::new(
                "request_not_replayable",
                "the request's body is a stream and cannot be sent again with a payment",
            )
        }),
    }
}

#[async_trait]
impl Middleware for Paywire {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let inner = &self.inner;
        let mut flow = ClientFlow::new(
            &inner.config,
            request.method().as_str(),
            request.url().as_str(),
        );
        let mut original = Some(request);
        let tokens = inner
            .tokens
            .list()
            .await
            .map_err(|e| store_error("token store", e))?;
        let mut action = flow.start(&tokens, (inner.clock)());
        let mut answer: Option<Response> = None;
        let mut deciding = None;
        loop {
            action = match action {
                ClientAction::Send {
                    set_headers,
                    remove_headers,
                    forget_tokens,
                    paid: _,
                } => {
                    for token in &forget_tokens {
                        inner
                            .tokens
                            .forget(token)
                            .await
                            .map_err(|e| store_error("token store", e))?;
                    }
                    let mut request = outgoing(&mut original)?;
                    for name in &remove_headers {
                        request.headers_mut().remove(name.as_str());
                    }
                    for (name, value) in &set_headers {
                        let name = http::HeaderName::from_bytes(name.as_bytes())
                            .map_err(|e| PaymentError::new("invalid_header", e.to_string()))?;
                        let value = http::HeaderValue::from_str(value)
                            .map_err(|e| PaymentError::new("invalid_header", e.to_string()))?;
                        request.headers_mut().insert(name, value);
                    }
                    match self.send(request, extensions, next.clone()).await {
                        Ok(response) => {
                            let (seen, kept) = read(response).await?;
                            answer = kept;
                            flow.on_response(&seen)
                        }
                        Err(error) => match flow.on_connection_failed() {
                            ClientAction::GiveUp => return Err(error),
                            resend => resend,
                        },
                    }
                }
                ClientAction::PaymentRequired { forget_tokens, .. } => {
                    for token in &forget_tokens {
                        inner
                            .tokens
                            .forget(token)
                            .await
                            .map_err(|e| store_error("token store", e))?;
                    }
                    deciding = Some(Arc::clone(&inner.deciding).lock_owned().await);
                    let usage = inner
                        .usage
                        .load()
                        .await
                        .map_err(|e| store_error("usage store", e))?
                        .unwrap_or_default();
                    let nonce = self.random::<32>()?;
                    let payment_id = self.random::<16>()?;
                    flow.pay(usage, (inner.clock)(), &nonce, &payment_id)
                }
                ClientAction::AskApproval {
                    url,
                    amount,
                    requirements,
                    payment_required,
                } => {
                    let request = ApprovalRequest {
                        url,
                        amount,
                        requirements: *requirements,
                        payment_required: *payment_required,
                    };
                    let approved = match &inner.approver {
                        Some(approver) => approver.approve(&request).await,
                        None => false,
                    };
                    flow.on_approval(approved)
                }
                ClientAction::Sign { request } => match inner.signer.sign(&request).await {
                    Ok(signature) => flow.on_signed(&signature),
                    Err(error) => {
                        return Err(PaymentError::new("signer_failed", error.to_string()).into())
                    }
                },
                ClientAction::Deliver {
                    usage,
                    token,
                    payment,
                } => {
                    if let Some(usage) = usage {
                        inner
                            .usage
                            .save(&usage)
                            .await
                            .map_err(|e| store_error("usage store", e))?;
                    }
                    drop(deciding);
                    if let Some(token) = token {
                        inner
                            .tokens
                            .add(&token)
                            .await
                            .map_err(|e| store_error("token store", e))?;
                    }
                    let mut response = answer.ok_or_else(|| {
                        PaymentError::new("internal_error", "deliver without an answer")
                    })?;
                    if let Some(payment) = payment {
                        if let Some(hook) = &inner.on_payment {
                            hook(&payment);
                        }
                        response.extensions_mut().insert(*payment);
                    }
                    return Ok(response);
                }
                ClientAction::Refuse {
                    code,
                    message,
                    details,
                } => {
                    return Err(PaymentError {
                        code,
                        message,
                        details,
                    }
                    .into())
                }
                ClientAction::GiveUp => {
                    return Err(PaymentError::new(
                        "request_failed",
                        "the request failed before any answer",
                    )
                    .into())
                }
            };
        }
    }
}

/// Re-exported so that a dependent names the same versions.
pub use reqwest_middleware;
pub use reqwest_retry;
