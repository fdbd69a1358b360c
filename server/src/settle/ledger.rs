//! Verification and settlement of x402 payments against the ledger.
//!
//! Both facilitator calls run the same steps: verify the payment (scheme, signature, terms:
//! paywire-core), resolve payer and payee here, read the ledger snapshot the decision needs,
//! and let [`paywire_core::settlement::ledger::decide`] say replay, refuse or post. `/verify` reads the
//! snapshot as it is; `/settle` reads it under the payer's lock and carries the plan out in one
//! transaction — debit, credits, balanced journal, payment row (with the payment identifier:
//! the durable idempotency record), usage, outbox, bundle token — all or nothing. Settlements
//! arriving together share that transaction (group commit, [`start_batcher`]).
//!
//! Nothing is looked up before the payment verifies, and earlier payments are looked up by the
//! *verified* payer: a forged body learns nothing, and one payer's identifier never reaches
//! another payer's outcome.

use paywire_core::idempotency::fingerprint;
use paywire_core::money::Amount;
use paywire_core::pricing::{Pricebook, QuoteRequest};
use paywire_core::protocol::ledger::{self, WalletSecret};
use paywire_core::protocol::{
    evm, AnyRequirements, ExactPayload, FacilitatorRequest, SettleResponse, VerifyResponse,
};
use paywire_core::settlement::ledger as settlement;
use paywire_core::settlement::ledger::{
    AcceptedAsset, BundleOffer, LedgerRules, LedgerSnapshot, PaymentFacts, Plan, Posting,
};
use paywire_core::settlement::terms_fingerprint;
use paywire_core::Reason;
use serde_json::json;
use sqlx::AnyConnection;

use crate::base::error::ApiError;
use crate::base::ledger::{asset_key, url_path, LEDGER_DECIMALS, PLATFORM_WALLET};
use crate::base::util::{new_ordered_id, now_i64};
use crate::services::state::AppState;
use crate::store;

/// A refusal in x402's terms: a reason code, a message, and the payer when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The reason code.
    pub reason: Reason,
    /// What exactly failed.
    pub message: String,
    /// Who was paying, when known.
    pub payer: Option<String>,
}

impl Refusal {
    /// A refusal with this reason and message.
    pub fn new(reason: Reason, message: impl Into<String>, payer: Option<&str>) -> Self {
        Refusal {
            reason,
            message: message.into(),
            payer: payer.map(str::to_string),
        }
    }

    /// The refusal of a core error.
    pub fn from_core(error: paywire_core::Error, payer: Option<&str>) -> Self {
        Refusal::new(error.reason(), error.to_string(), payer)
    }
}

/// A payment whose signature and terms verified, with the ledger's parties resolved.
#[derive(Debug, Clone)]
pub struct Checked {
    /// What the core's decision needs to know about the payment.
    pub facts: PaymentFacts,
    /// The paying wallet.
    pub payer_wallet: String,
    /// The provider's payout wallet.
    pub payee_wallet: String,
    /// The provider.
    pub provider_id: Option<String>,
    /// The balance key of the asset.
    pub asset_key: String,
    /// `0x` + 64 hex digits, lower case.
    pub nonce: String,
}

/// Verifies the payment (in paywire-core) and resolves payer and payee. Nothing about earlier
/// payments is read here: that happens only once the payment verified.
pub async fn check(
    state: &AppState,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<Result<Checked, Refusal>, ApiError> {
    let requirements = &request.payment_requirements;
    let network = requirements.network().to_string();
    let (payer, payer_wallet, decimals) = if network == state.ledger_network {
        let exact = match ExactPayload::from_object(request.payment_payload.payload()) {
            Ok(exact) => exact,
            Err(e) => return Ok(Err(Refusal::from_core(e, None))),
        };
        let wallet_id = exact.authorization.from.clone();
        let secret = wallet_secret(state, &wallet_id).await?;
        let verified =
            ledger::verify_payment(&request.payment_payload, requirements, now, |_| secret);
        if let Err(e) = verified {
            return Ok(Err(Refusal::from_core(e, None)));
        }
        (wallet_id.clone(), wallet_id, LEDGER_DECIMALS)
    } else if state.devnet_networks.contains(&network) {
        // Public-key recovery is ~50 µs of CPU: it runs on the blocking pool, not on the
        // threads that serve connections.
        let (payload, terms) = (request.payment_payload.clone(), requirements.clone());
        let verified =
            tokio::task::spawn_blocking(move || evm::verify_payment(&payload, &terms, now))
                .await
                .map_err(|e| ApiError::Internal(format!("EVM verification task: {e}")))?;
        let verified = match verified {
            Ok(verified) => verified,
            Err(e) => return Ok(Err(Refusal::from_core(e, None))),
        };
        let payer = verified.payer.to_checksum();
        let Some(asset) = paywire_core::AssetRegistry::with_defaults()
            .find(&network, requirements.asset())
            .cloned()
        else {
            return Ok(Err(Refusal::new(
                Reason::InvalidPaymentRequirements,
                "unknown asset on this devnet network",
                Some(&payer),
            )));
        };
        let Some(wallet) = store::wallets::by_address(&state.pool, &payer).await? else {
            return Ok(Err(Refusal::new(
                Reason::InsufficientFunds,
                "this address has no devnet funds",
                Some(&payer),
            )));
        };
        (payer, wallet, asset.decimals)
    } else {
        return Ok(Err(Refusal::new(
            Reason::UnsupportedScheme,
            format!(
                "this facilitator settles exact on {} and its devnet networks",
                state.ledger_network
            ),
            None,
        )));
    };
    let payee = if network == state.ledger_network {
        store::wallets::provider_wallet(&state.pool, requirements.pay_to()).await?
    } else {
        match evm::Address::parse(requirements.pay_to()) {
            Ok(address) => {
                store::wallets::provider_wallet_by_address(&state.pool, &address.to_checksum())
                    .await?
            }
            Err(_) => None,
        }
    };
    let Some((payee_wallet, provider_id)) = payee else {
        return Ok(Err(Refusal::new(
            Reason::InvalidExactEvmRecipientMismatch,
            "payTo is not a provider of this ledger",
            Some(&payer),
        )));
    };
    let identifier = match &request.payment_payload {
        paywire_core::PaymentPayload::V2(p) => {
            paywire_core::protocol::extensions::payment_identifier(p.extensions.as_ref())?
                .map(str::to_string)
        }
        paywire_core::PaymentPayload::V1(_) => None,
    };
    let asset = paywire_core::money::Asset::new(&network, requirements.asset(), "", decimals)?;
    let exact = ExactPayload::from_object(request.payment_payload.payload())?;
    let amount = requirements.amount();
    Ok(Ok(Checked {
        facts: PaymentFacts {
            network: network.clone(),
            payer,
            amount,
            // An amount beyond a Decimal is refused by the decision (it cannot fit a balance).
            amount_decimal: asset
                .to_decimal(amount)
                .unwrap_or(rust_decimal::Decimal::MAX),
            asset: requirements.asset().to_string(),
            pay_to: requirements.pay_to().to_string(),
            resource: resource_url(request),
            request_fingerprint: fingerprint("POST", "/settle", body),
            identifier,
            terms_fingerprint: terms_fingerprint(requirements),
        },
        payer_wallet,
        payee_wallet,
        provider_id,
        asset_key: asset_key(&network, requirements.asset()),
        nonce: exact.authorization.nonce.to_ascii_lowercase(),
    }))
}

/// The most of a payment's resource URL kept with it (payments, events, reports).
pub const MAX_KEPT_RESOURCE: usize = 2048;

/// The resource as kept: the payer wrote it, so at most [`MAX_KEPT_RESOURCE`] bytes of it
/// (cut on a character boundary) go into the payment row and the provider's events.
fn kept_resource(facts: &PaymentFacts) -> Option<&str> {
    let resource = facts.resource.as_deref()?;
    let mut end = resource.len().min(MAX_KEPT_RESOURCE);
    while !resource.is_char_boundary(end) {
        end -= 1;
    }
    Some(&resource[..end])
}

fn resource_url(request: &FacilitatorRequest) -> Option<String> {
    match (&request.payment_payload, &request.payment_requirements) {
        (paywire_core::PaymentPayload::V2(p), _) => p.resource.as_ref().map(|r| r.url.clone()),
        (_, AnyRequirements::V1(r)) => Some(r.resource.clone()),
        _ => None,
    }
}

async fn wallet_secret(
    state: &AppState,
    wallet_id: &str,
) -> Result<Option<WalletSecret>, ApiError> {
    let Some(sealed) = store::wallets::sealed_secret(&state.pool, wallet_id).await? else {
        return Ok(None);
    };
    let secret = state
        .sealer
        .open(&sealed, &crate::infra::secrets::wallet_aad(wallet_id))
        .map_err(|e| ApiError::Internal(format!("wallet {wallet_id}: {e}")))?;
    let hex_text = std::str::from_utf8(&secret)
        .map_err(|_| ApiError::Internal(format!("wallet {wallet_id}: secret is not text")))?;
    Ok(WalletSecret::from_hex(hex_text).ok())
}

/// What the ledger knows about payer and payee, read through `conn` (under the payer's lock
/// when `lock`).
async fn snapshot(
    state: &AppState,
    conn: &mut AnyConnection,
    checked: &Checked,
    lock: bool,
) -> Result<LedgerSnapshot, ApiError> {
    // The lock comes first: every later read sees a state no concurrent settlement of the
    // same payer can change until this transaction ends.
    let (policy, usage) =
        store::wallets::policy_and_usage(conn, state.dialect, &checked.payer_wallet, lock).await?;
    let facts = &checked.facts;
    let earlier_by_nonce =
        store::payments::by_nonce(conn, &facts.network, &facts.payer, &checked.nonce).await?;
    let earlier_by_identifier = match &facts.identifier {
        Some(id) => store::payments::by_identifier(conn, &facts.network, &facts.payer, id).await?,
        None => None,
    };
    let amount = |v: i64| Amount::new(u128::try_from(v).unwrap_or(0));
    let payee_balance =
        amount(store::ledger::balance(conn, &checked.payee_wallet, &checked.asset_key).await?);
    let platform_balance =
        amount(store::ledger::balance(conn, PLATFORM_WALLET, &checked.asset_key).await?);
    Ok(LedgerSnapshot {
        payer_balance: amount(
            store::ledger::balance(conn, &checked.payer_wallet, &checked.asset_key).await?,
        ),
        policy,
        usage,
        earlier_by_nonce,
        earlier_by_identifier,
        payee_balance,
        platform_balance,
    })
}

/// The bundle the payee sells with payments for this resource, priced for this payer, if any.
async fn bundle_offer(
    state: &AppState,
    checked: &Checked,
    token_id: String,
) -> Result<Option<BundleOffer>, ApiError> {
    let (Some(provider), Some(resource)) = (&checked.provider_id, &checked.facts.resource) else {
        return Ok(None);
    };
    let (book, bundles) = crate::services::pricing::pricebook(state, provider).await?;
    let path = url_path(resource);
    // The rule that prices this path (the first whose pattern matches its canonical form; a
    // payment names no method) is the one that sells, or none does: a bundle of a later,
    // cheaper rule is never sold for a path an earlier rule prices.
    let canonical = paywire_core::pricing::canonical_path(path);
    let Some((rule, Some(bundle))) = book
        .rules
        .iter()
        .zip(bundles)
        .find(|(rule, _)| rule.path.matches(&canonical))
    else {
        return Ok(None);
    };
    // The rule's own price for this payer (overrides included), as a quote would give it.
    let mut single = Pricebook::new(vec![rule.clone()]);
    single.decimals = book.decimals;
    let method = if rule.method == "*" {
        "GET"
    } else {
        &rule.method
    };
    let mut request = QuoteRequest::new(method, path);
    request.consumer = Some(checked.facts.payer.clone());
    let quote = single.quote(&request)?;
    let accepted = crate::services::pricing::payment_options(state, provider)
        .await?
        .into_iter()
        .map(|option| AcceptedAsset {
            network: option.asset.network,
            asset: option.asset.address,
            decimals: option.asset.decimals,
        })
        .collect();
    Ok(Some(BundleOffer {
        rule: rule.clone(),
        bundle,
        price: quote.amount,
        price_decimals: book.decimals,
        accepted,
        issuer: state.ledger_network.clone(),
        token_id,
    }))
}

fn rules(state: &AppState) -> LedgerRules {
    LedgerRules {
        fee_bps: state.fee_bps,
        max_balance: Amount::new(store::ledger::MAX_BALANCE as u128),
    }
}

/// `POST /verify`: everything `settle` checks, without moving money — by the same decision.
pub async fn verify(
    state: &AppState,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<VerifyResponse, ApiError> {
    let checked = match check(state, request, body, now).await? {
        Ok(checked) => checked,
        Err(refusal) => {
            return Ok(VerifyResponse::invalid(
                refusal.reason,
                refusal.message,
                refusal.payer,
            ))
        }
    };
    let mut conn = state.pool.acquire().await?;
    let ledger = snapshot(state, &mut conn, &checked, false).await?;
    drop(conn);
    let offer = bundle_offer(state, &checked, String::new()).await?;
    let plan = settlement::decide(&checked.facts, &ledger, offer.as_ref(), rules(state), now)?;
    Ok(match plan {
        Plan::Refuse { reason, message } => {
            VerifyResponse::invalid(reason, message, Some(checked.facts.payer))
        }
        // The very payment that settled, sent again, is valid: `settle` answers it with the
        // first outcome instead of charging again.
        Plan::Replay { .. } | Plan::Post(_) => VerifyResponse::valid(checked.facts.payer),
    })
}

fn token_extensions(token: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut extensions = serde_json::Map::new();
    extensions.insert(
        crate::services::tokens::ACCESS_TOKEN_EXTENSION.into(),
        token,
    );
    extensions
}

/// What `/settle` answered, and whether its outcome is known.
pub struct Settled {
    /// The answer.
    pub response: SettleResponse,
    /// `false` when the commit may or may not have happened (`settlement_pending`).
    pub known: bool,
}

/// `POST /settle`: settles a payment exactly once. The payment is verified here, concurrently
/// with others; what must happen under the ledger's locks (snapshot, decision, posting) goes
/// to the group-commit pipeline ([`start_batcher`]) when there is one, else runs
/// in a transaction of its own.
pub async fn settle(
    state: &AppState,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<Settled, ApiError> {
    let network = request.payment_requirements.network().to_string();
    let checked = match check(state, request, body, now).await? {
        Ok(checked) => checked,
        Err(refusal) => return Ok(failed(&network, refusal)),
    };
    // Counted once the payment verified: forged payments spend no payer's budget.
    state.rate_limits.per_payer.check(&format!(
        "{}|{}",
        checked.facts.network, checked.facts.payer
    ))?;
    let payment_id = new_ordered_id("pay");
    let offer = bundle_offer(
        state,
        &checked,
        format!("tok_{}", payment_id.trim_start_matches("pay_")),
    )
    .await?;
    let job = Job {
        checked,
        offer,
        payment_id,
        now,
    };
    match &state.batcher {
        Some(batcher) => submit(batcher, state, job).await,
        None => settle_alone(state, job).await,
    }
}

/// The answer of a refused settlement.
pub fn failed(network: &str, refusal: Refusal) -> Settled {
    Settled {
        response: SettleResponse {
            success: false,
            error_reason: Some(refusal.reason),
            error_message: Some(refusal.message),
            payer: refusal.payer,
            transaction: String::new(),
            network: network.to_string(),
            amount: None,
            extensions: None,
        },
        known: true,
    }
}

fn pending(network: &str, payer: &str) -> Settled {
    Settled {
        response: SettleResponse {
            success: false,
            error_reason: Some(Reason::SettlementPending),
            error_message: Some("the outcome is not known yet; retry the same payment".into()),
            payer: Some(payer.to_string()),
            transaction: String::new(),
            network: network.to_string(),
            amount: None,
            extensions: None,
        },
        known: false,
    }
}

/// A verified payment waiting to be settled.
pub struct Job {
    checked: Checked,
    offer: Option<BundleOffer>,
    payment_id: String,
    now: u64,
}

/// What the decision did inside a transaction.
enum Applied {
    /// Refused by the decision; what was written (the refusal's event) may be kept.
    Refused(Refusal),
    /// Refused by a guard in the middle of posting: what was written must be rolled back.
    RefusedMidway(Refusal),
    /// An earlier payment's outcome: its id and stored answer.
    Replay(String, String),
    /// Posted: the answer, and the bundle token issued with it.
    Posted(Box<SettleResponse>, Option<serde_json::Value>),
}

/// Reads the snapshot under the payer's lock, decides, and carries the plan out on `conn`
/// (a transaction, or a savepoint of a batch's).
async fn apply(state: &AppState, conn: &mut AnyConnection, job: &Job) -> Result<Applied, ApiError> {
    let checked = &job.checked;
    let ledger = snapshot(state, conn, checked, true).await?;
    let payer = Some(checked.facts.payer.as_str());
    match settlement::decide(
        &checked.facts,
        &ledger,
        job.offer.as_ref(),
        rules(state),
        job.now,
    )? {
        Plan::Refuse { reason, message } => {
            if let Some(event) = refused_event(checked, &reason, &message) {
                // The batch path's one insert, once-key and all.
                store::batch::enqueue_events(conn, &[event], now_i64()).await?;
            }
            Ok(Applied::Refused(Refusal::new(reason, message, payer)))
        }
        Plan::Replay { payment_id } => {
            let stored = store::payments::response(conn, &payment_id)
                .await?
                .ok_or_else(|| ApiError::Internal(format!("payment {payment_id} vanished")))?;
            Ok(Applied::Replay(payment_id, stored))
        }
        Plan::Post(posting) => match post(state, conn, checked, &job.payment_id, &posting).await? {
            Err(refusal) => Ok(Applied::RefusedMidway(refusal)),
            Ok((response, token)) => Ok(Applied::Posted(Box::new(response), token)),
        },
    }
}

/// The answer of an applied job once its transaction committed.
async fn answer(state: &AppState, job: &Job, applied: Applied) -> Result<Settled, ApiError> {
    let network = &job.checked.facts.network;
    match applied {
        Applied::Refused(refusal) | Applied::RefusedMidway(refusal) => Ok(failed(network, refusal)),
        Applied::Replay(payment_id, stored) => {
            let mut response: SettleResponse = serde_json::from_str(&stored)
                .map_err(|e| ApiError::Internal(format!("stored response: {e}")))?;
            if let Some(token) =
                crate::services::tokens::reissue_for_payment(state, &payment_id).await?
            {
                response.extensions = Some(token_extensions(token));
            }
            Ok(Settled {
                response,
                known: true,
            })
        }
        Applied::Posted(response, token) => {
            let mut response = *response;
            if let Some(token) = token {
                response.extensions = Some(token_extensions(token));
            }
            Ok(Settled {
                response,
                known: true,
            })
        }
    }
}

/// One settlement in a transaction of its own.
async fn settle_alone(state: &AppState, job: Job) -> Result<Settled, ApiError> {
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    let applied = apply(state, &mut tx, &job).await?;
    match &applied {
        // Nothing to write, or what was written must go: end the transaction unwritten.
        Applied::Replay(..) | Applied::RefusedMidway(_) => drop(tx),
        Applied::Refused(_) => {
            // The refusal stands whether or not its event could be stored.
            if let Err(e) = tx.commit().await {
                tracing::warn!(error = %e, "payment.refused event not stored");
            }
        }
        Applied::Posted(..) => {
            if tx.commit().await.is_err() {
                // The commit may or may not have happened: never report a failure. A retry
                // of the same payment finds the first outcome or settles it now.
                return Ok(pending(
                    &job.checked.facts.network,
                    &job.checked.facts.payer,
                ));
            }
        }
    }
    answer(state, &job, applied).await
}

/// The group-commit pipeline: settlements arriving together are applied in arrival order in
/// one transaction and committed once, then each is answered. Per-payer decisions see the
/// effects of earlier members (same transaction), so policies and balances hold exactly as one
/// by one; credits to the same wallet are summed and applied once. A batch whose commit has an
/// unknown outcome answers every member `settlement_pending` (its retry finds the outcome); a
/// batch in which anything fails before the commit is dropped and its members are settled one
/// by one, each in a transaction of its own.
///
/// Starts the pipeline: `workers` batchers, each committing batches of at most `max`
/// settlements gathered for at most `wait` after the first arrives (nothing is waited for when
/// `wait` is zero: a batch is what queued while the previous one committed). A payer's
/// settlements always go to the same worker, so two batches never wait on each other's payer
/// locks (PostgreSQL runs several at once; SQLite has one writer and wants one worker).
pub fn start_batcher(
    workers: usize,
    max: usize,
    wait: std::time::Duration,
) -> crate::services::state::Batcher {
    let queues = (0..workers.max(1))
        .map(|_| {
            let (queue, mut arrivals) =
                tokio::sync::mpsc::channel::<Box<dyn std::any::Any + Send>>(max.max(1) * 16);
            tokio::spawn(async move {
                let member = |item: Box<dyn std::any::Any + Send>| {
                    item.downcast::<Member>().ok().map(|m| *m)
                };
                while let Some(first) = arrivals.recv().await {
                    let mut batch: Vec<Member> = member(first).into_iter().collect();
                    let deadline = tokio::time::Instant::now() + wait;
                    while batch.len() < max {
                        let next = match arrivals.try_recv() {
                            Ok(next) => next,
                            Err(_) if wait.is_zero() => break,
                            Err(_) => {
                                match tokio::time::timeout_at(deadline, arrivals.recv()).await {
                                    Ok(Some(next)) => next,
                                    _ => break,
                                }
                            }
                        };
                        batch.extend(member(next));
                    }
                    if !batch.is_empty() {
                        run_batch(batch).await;
                    }
                }
            });
            queue
        })
        .collect();
    crate::services::state::Batcher { queues }
}

/// Settles `job` in the next batch.
async fn submit(
    batcher: &crate::services::state::Batcher,
    state: &AppState,
    job: Job,
) -> Result<Settled, ApiError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    // The payer picks the worker: its settlements are serialized in one place.
    let worker = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        job.checked.payer_wallet.hash(&mut hasher);
        (hasher.finish() % batcher.queues.len().max(1) as u64) as usize
    };
    let member: Member = (state.clone(), job, reply);
    if batcher.queues[worker].send(Box::new(member)).await.is_err() {
        return Err(ApiError::Internal("the settlement pipeline stopped".into()));
    }
    answer.await.unwrap_or_else(|_| {
        Err(ApiError::Internal(
            "the settlement pipeline dropped a payment".into(),
        ))
    })
}

type Member = (
    AppState,
    Job,
    tokio::sync::oneshot::Sender<Result<Settled, ApiError>>,
);

async fn run_batch(batch: Vec<Member>) {
    let started = std::time::Instant::now();
    let size = batch.len();
    let state = batch[0].0.clone();
    match apply_batch(&state, &batch).await {
        Ok(Some(outcomes)) => {
            for ((state, job, reply), outcome) in batch.into_iter().zip(outcomes) {
                let answer = match outcome {
                    Ok(applied) => answer(&state, &job, applied).await,
                    Err(e) => Err(e),
                };
                let _ = reply.send(answer);
            }
        }
        // Committed or not, nobody can tell: every member is pending; a retry finds out.
        Ok(None) => {
            for (_, job, reply) in batch {
                let _ = reply.send(Ok(pending(
                    &job.checked.facts.network,
                    &job.checked.facts.payer,
                )));
            }
        }
        // Nothing was committed: settle each on its own.
        Err(e) => {
            tracing::warn!(error = %e, size, "a settlement batch failed before its commit; settling its members one by one");
            crate::infra::metrics::settlement_batch_fallback();
            for (state, job, reply) in batch {
                let _ = reply.send(settle_alone(&state, job).await);
            }
        }
    }
    crate::infra::metrics::settlement_batch(size, started.elapsed().as_secs_f64());
}

/// What a batch's decisions have seen and done so far: the ledger as read at the batch's
/// start (under the payers' locks), updated by each posting, so a member's decision sees every
/// earlier member's effects exactly as if they had been settled one by one.
struct BatchView {
    payers: std::collections::HashMap<
        String,
        (
            Option<paywire_core::policy::Policy>,
            paywire_core::policy::Usage,
        ),
    >,
    balances: std::collections::HashMap<(String, String), i64>,
    /// `(network, payer, nonce)` → the payment that settled it.
    by_nonce: std::collections::HashMap<(String, String, String), settlement::EarlierPayment>,
    /// `(network, payer, identifier)` → the payment that settled it.
    by_identifier: std::collections::HashMap<(String, String, String), settlement::EarlierPayment>,
    /// Answers of the batch's own postings, for a member that replays one of them.
    answers: std::collections::HashMap<String, String>,
}

impl BatchView {
    /// Reads, in a few statements, what every member's decision needs.
    async fn read(
        state: &AppState,
        tx: &mut AnyConnection,
        jobs: &[&Job],
    ) -> Result<BatchView, ApiError> {
        let mut wallets: Vec<&str> = jobs
            .iter()
            .map(|job| job.checked.payer_wallet.as_str())
            .collect();
        wallets.sort_unstable();
        wallets.dedup();
        // The lock comes first: every later read sees a state no other settlement of these
        // payers can change until the batch commits.
        let payers = store::batch::lock_payers(tx, state.dialect, &wallets).await?;
        let balances = store::batch::balances(tx, &wallets).await?;
        let mut networks: Vec<&str> = jobs
            .iter()
            .map(|job| job.checked.facts.network.as_str())
            .collect();
        networks.sort_unstable();
        networks.dedup();
        let (mut by_nonce, mut by_identifier) = (
            std::collections::HashMap::new(),
            std::collections::HashMap::new(),
        );
        for network in networks {
            let on_network = || {
                jobs.iter()
                    .filter(move |job| job.checked.facts.network == network)
            };
            let nonces: Vec<(&str, &str)> = on_network()
                .map(|job| (job.checked.facts.payer.as_str(), job.checked.nonce.as_str()))
                .collect();
            for ((payer, nonce), earlier) in
                store::batch::earlier_payments(tx, network, store::batch::OnceKey::Nonce, &nonces)
                    .await?
            {
                by_nonce.insert((network.to_string(), payer, nonce), earlier);
            }
            let identifiers: Vec<(&str, &str)> = on_network()
                .filter_map(|job| {
                    Some((
                        job.checked.facts.payer.as_str(),
                        job.checked.facts.identifier.as_deref()?,
                    ))
                })
                .collect();
            if !identifiers.is_empty() {
                for ((payer, identifier), earlier) in store::batch::earlier_payments(
                    tx,
                    network,
                    store::batch::OnceKey::Identifier,
                    &identifiers,
                )
                .await?
                {
                    by_identifier.insert((network.to_string(), payer, identifier), earlier);
                }
            }
        }
        Ok(BatchView {
            payers,
            balances,
            by_nonce,
            by_identifier,
            answers: Default::default(),
        })
    }

    /// The snapshot `job`'s decision reads. The hot balances (the payee's, the platform's) are
    /// not read: their credits are summed and applied once, guarded in SQL, and a batch whose
    /// credit would overflow is settled again member by member, where they are read.
    fn snapshot(&self, job: &Job) -> Result<LedgerSnapshot, ApiError> {
        let checked = &job.checked;
        let facts = &checked.facts;
        let (policy, usage) = self
            .payers
            .get(&checked.payer_wallet)
            .cloned()
            .ok_or_else(|| {
                ApiError::Internal(format!("wallet {} vanished", checked.payer_wallet))
            })?;
        let balance = self
            .balances
            .get(&(checked.payer_wallet.clone(), checked.asset_key.clone()))
            .copied()
            .unwrap_or(0);
        let key = |once: &str| (facts.network.clone(), facts.payer.clone(), once.to_string());
        Ok(LedgerSnapshot {
            payer_balance: Amount::new(u128::try_from(balance).unwrap_or(0)),
            policy,
            usage,
            earlier_by_nonce: self.by_nonce.get(&key(&checked.nonce)).cloned(),
            earlier_by_identifier: facts
                .identifier
                .as_deref()
                .and_then(|id| self.by_identifier.get(&key(id)).cloned()),
            payee_balance: Amount::ZERO,
            platform_balance: Amount::ZERO,
        })
    }

    /// Records what posting `job` did, for the members after it.
    fn posted(
        &mut self,
        job: &Job,
        amount: i64,
        usage: Option<&paywire_core::policy::Usage>,
        answer: &str,
    ) {
        let checked = &job.checked;
        let facts = &checked.facts;
        if let Some(balance) = self
            .balances
            .get_mut(&(checked.payer_wallet.clone(), checked.asset_key.clone()))
        {
            *balance -= amount;
        }
        if let (Some(usage), Some(payer)) = (usage, self.payers.get_mut(&checked.payer_wallet)) {
            payer.1 = usage.clone();
        }
        let key = |once: &str| (facts.network.clone(), facts.payer.clone(), once.to_string());
        self.by_nonce.insert(
            key(&checked.nonce),
            settlement::EarlierPayment {
                payment_id: job.payment_id.clone(),
                fingerprint: facts.request_fingerprint,
            },
        );
        if let Some(identifier) = &facts.identifier {
            self.by_identifier.insert(
                key(identifier),
                settlement::EarlierPayment {
                    payment_id: job.payment_id.clone(),
                    fingerprint: facts.terms_fingerprint,
                },
            );
        }
        self.answers
            .insert(job.payment_id.clone(), answer.to_string());
    }
}

/// The event a provider gets when a verified payment is refused. The payment verified, so the
/// payer is real: a body that does not verify never reaches here, so forgeries cannot flood it.
fn refused_event<'a>(
    checked: &'a Checked,
    reason: &Reason,
    message: &str,
) -> Option<store::batch::NewEvent<'a>> {
    let provider = checked.provider_id.as_deref()?;
    let facts = &checked.facts;
    let data = json!({"network": facts.network, "payer": facts.payer, "asset": facts.asset,
        "amount": facts.amount.atomic().to_string(), "resource": kept_resource(facts),
        "reason": reason.as_str(), "message": message});
    Some(store::batch::NewEvent {
        id: new_ordered_id("evt"),
        tenant_id: provider,
        event_type: "payment.refused",
        data: data.to_string(),
        // One per payment: a signed payment re-sent 300 times is refused 300 times, and
        // told to its provider once (each event carried 2 KB of payer-written text).
        once_key: Some(format!(
            "payment.refused:{}:{}:{}",
            facts.network, facts.payer, checked.nonce
        )),
    })
}

/// The answer stored with a posted payment.
fn posted_answer(checked: &Checked, payment_id: &str) -> SettleResponse {
    SettleResponse {
        success: true,
        error_reason: None,
        error_message: None,
        payer: Some(checked.facts.payer.clone()),
        transaction: payment_id.to_string(),
        network: checked.facts.network.clone(),
        amount: None,
        extensions: None,
    }
}

/// The data of a `payment.settled` event.
fn settled_event_data(
    checked: &Checked,
    payment_id: &str,
    amount: i64,
    fee: i64,
    net: i64,
) -> String {
    let facts = &checked.facts;
    json!({"paymentId": payment_id, "network": facts.network,
        "payer": facts.payer, "payerWallet": checked.payer_wallet, "asset": checked.asset_key,
        "amount": amount.to_string(), "fee": fee.to_string(), "net": net.to_string(),
        "resource": kept_resource(facts)})
    .to_string()
}

/// The journal lines of a posted payment: the payer's debit, the payee's net and the
/// platform's fee (when there is one); they sum to zero.
fn journal_lines<'a>(
    checked: &'a Checked,
    payment_id: &'a str,
    amount: i64,
    net: i64,
    fee: i64,
) -> Vec<store::ledger::Posting<'a>> {
    let line = |wallet_id: &'a str, amount: i64, kind: &'static str| store::ledger::Posting {
        entry_id: payment_id,
        wallet_id,
        asset: &checked.asset_key,
        amount,
        kind,
    };
    let mut lines = vec![
        line(&checked.payer_wallet, -amount, "payment"),
        line(&checked.payee_wallet, net, "payment"),
    ];
    if fee > 0 {
        lines.push(line(PLATFORM_WALLET, fee, "fee"));
    }
    lines
}

/// A posting's amounts as the database keeps them, or the refusal when one does not fit.
fn db_amounts(posting: &Posting, payer: Option<&str>) -> Result<(i64, i64, i64), Refusal> {
    let db = |amount: Amount| {
        i64::try_from(amount.atomic()).map_err(|_| {
            Refusal::new(
                Reason::BalanceOverflow,
                "the amount does not fit the ledger",
                payer,
            )
        })
    };
    Ok((db(posting.amount)?, db(posting.net)?, db(posting.fee)?))
}

/// One row per balance of a batch's summed debits or credits.
fn sum_rows<'a>(
    sums: &std::collections::BTreeMap<(&'a str, &'a str), i64>,
) -> Vec<(&'a str, &'a str, i64)> {
    sums.iter()
        .map(|((wallet, asset), amount)| (*wallet, *asset, *amount))
        .collect()
}

/// Applies a batch in one transaction, set-based: one read per table for every member, the
/// core's decisions in memory in arrival order, then one write per table. `Ok(Some)`:
/// committed, each member's outcome; `Ok(None)`: the commit's outcome is unknown; `Err`:
/// nothing was committed.
async fn apply_batch(
    state: &AppState,
    batch: &[Member],
) -> Result<Option<Vec<Result<Applied, ApiError>>>, ApiError> {
    let jobs: Vec<&Job> = batch.iter().map(|(_, job, _)| job).collect();
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    let mut view = BatchView::read(state, &mut tx, &jobs).await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut events = Vec::new();
    let mut payments = Vec::new();
    let mut postings = Vec::new();
    let mut debits = std::collections::BTreeMap::<(&str, &str), i64>::new();
    let mut credits = std::collections::BTreeMap::<(&str, &str), i64>::new();
    let mut usages = std::collections::BTreeMap::<&str, String>::new();
    let mut tokens = Vec::new();
    let sum = |total: &mut i64, amount: i64| -> Result<(), ApiError> {
        *total = total
            .checked_add(amount)
            .ok_or(ApiError::Internal("a batch's sums overflow".into()))?;
        Ok(())
    };
    for job in &jobs {
        let checked = &job.checked;
        let payer = Some(checked.facts.payer.as_str());
        let snapshot = view.snapshot(job)?;
        let plan = settlement::decide(
            &checked.facts,
            &snapshot,
            job.offer.as_ref(),
            rules(state),
            job.now,
        );
        // An error of the decision (an identifier reused with other terms) is this member's
        // answer alone; the batch goes on.
        let plan = match plan {
            Ok(plan) => plan,
            Err(error) => {
                outcomes.push(Err(error.into()));
                continue;
            }
        };
        match plan {
            Plan::Refuse { reason, message } => {
                events.extend(refused_event(checked, &reason, &message));
                outcomes.push(Ok(Applied::Refused(Refusal::new(reason, message, payer))));
            }
            Plan::Replay { payment_id } => {
                let stored = match view.answers.get(&payment_id) {
                    Some(answer) => answer.clone(),
                    None => store::payments::response(&mut tx, &payment_id)
                        .await?
                        .ok_or_else(|| {
                            ApiError::Internal(format!("payment {payment_id} vanished"))
                        })?,
                };
                outcomes.push(Ok(Applied::Replay(payment_id, stored)));
            }
            Plan::Post(posting) => {
                let (amount, net, fee) = match db_amounts(&posting, payer) {
                    Ok(amounts) => amounts,
                    Err(refusal) => {
                        outcomes.push(Ok(Applied::Refused(refusal)));
                        continue;
                    }
                };
                let asset = checked.asset_key.as_str();
                let payment_id = job.payment_id.as_str();
                sum(
                    debits.entry((&checked.payer_wallet, asset)).or_insert(0),
                    amount,
                )?;
                sum(
                    credits.entry((&checked.payee_wallet, asset)).or_insert(0),
                    net,
                )?;
                if fee > 0 {
                    sum(credits.entry((PLATFORM_WALLET, asset)).or_insert(0), fee)?;
                }
                postings.extend(journal_lines(checked, payment_id, amount, net, fee));
                let response = posted_answer(checked, payment_id);
                let answer = serde_json::to_string(&response)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                if let Some(usage) = &posting.usage {
                    let usage_json = serde_json::to_string(usage)
                        .map_err(|e| ApiError::Internal(e.to_string()))?;
                    usages.insert(&checked.payer_wallet, usage_json);
                }
                view.posted(job, amount, posting.usage.as_ref(), &answer);
                if let Some(provider) = &checked.provider_id {
                    events.push(store::batch::NewEvent {
                        id: new_ordered_id("evt"),
                        tenant_id: provider,
                        event_type: "payment.settled",
                        data: settled_event_data(checked, payment_id, amount, fee, net),
                        once_key: None,
                    });
                }
                payments.push((
                    job,
                    amount,
                    fee,
                    net,
                    answer,
                    checked.facts.request_fingerprint.to_hex(),
                    checked.facts.terms_fingerprint.to_hex(),
                ));
                if let (Some(claims), Some(provider)) =
                    (posting.token.clone(), &checked.provider_id)
                {
                    tokens.push((outcomes.len(), provider, payment_id, claims));
                }
                outcomes.push(Ok(Applied::Posted(Box::new(response), None)));
            }
        }
    }
    let now_db = now_i64();

    // A guard that fails means the decisions and the database disagree (a race the locks
    // should have prevented, or a credit past the ledger's maximum): nothing is committed and
    // the members are settled one by one, where each guard answers for its own payment.
    if !store::batch::debit(&mut tx, &sum_rows(&debits)).await? {
        return Err(ApiError::Internal(
            "a batch's debit found a balance short".into(),
        ));
    }
    if !store::batch::credit(&mut tx, &sum_rows(&credits)).await? {
        return Err(ApiError::Internal(
            "a batch's credit would pass the ledger's maximum".into(),
        ));
    }
    for chunk in postings.chunks(1_000) {
        store::ledger::post(&mut tx, chunk, now_db).await?;
    }
    let new_payments: Vec<store::payments::NewPayment> = payments
        .iter()
        .map(
            |(job, amount, fee, net, answer, request_fingerprint, terms_fingerprint)| {
                let checked = &job.checked;
                let facts = &checked.facts;
                store::payments::NewPayment {
                    id: &job.payment_id,
                    network: &facts.network,
                    payer: &facts.payer,
                    nonce: &checked.nonce,
                    payer_wallet: &checked.payer_wallet,
                    payee_wallet: &checked.payee_wallet,
                    provider_id: checked.provider_id.as_deref(),
                    asset: &checked.asset_key,
                    amount: *amount,
                    fee: *fee,
                    net: *net,
                    fingerprint: request_fingerprint,
                    payment_identifier: facts.identifier.as_deref(),
                    terms_fingerprint,
                    response: answer,
                    resource: kept_resource(facts),
                }
            },
        )
        .collect();
    store::payments::insert_many(&mut tx, &new_payments, now_db).await?;
    let usages: Vec<(&str, String)> = usages.into_iter().collect();
    store::batch::set_usage(&mut tx, &usages).await?;
    store::batch::enqueue_events(&mut tx, &events, now_db).await?;
    // Tokens name their payment, so they are written after the payments.
    for (index, provider, payment_id, claims) in tokens {
        let token = crate::services::tokens::issue_for_payment(
            &mut tx, state, provider, payment_id, &claims,
        )
        .await?;
        if let Some(Ok(Applied::Posted(_, slot))) = outcomes.get_mut(index) {
            *slot = Some(token);
        }
    }
    match tx.commit().await {
        Ok(()) => Ok(Some(outcomes)),
        Err(_) => Ok(None),
    }
}

/// Carries a posting out inside the settlement transaction. A guard that fails (a balance
/// changed under a race the lock should have prevented, or would overflow) is a refusal; the
/// caller drops the transaction, so nothing is written.
async fn post(
    state: &AppState,
    tx: &mut AnyConnection,
    checked: &Checked,
    payment_id: &str,
    posting: &Posting,
) -> Result<Result<(SettleResponse, Option<serde_json::Value>), Refusal>, ApiError> {
    let facts = &checked.facts;
    let payer = Some(facts.payer.as_str());
    let (amount, net, fee) = match db_amounts(posting, payer) {
        Ok(amounts) => amounts,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let asset = checked.asset_key.as_str();
    if !store::ledger::debit(tx, &checked.payer_wallet, asset, amount).await? {
        return Ok(Err(Refusal::new(
            Reason::InsufficientFunds,
            "the payer's balance is below the amount",
            payer,
        )));
    }
    let overflow = Refusal::new(
        Reason::BalanceOverflow,
        "settling would take a balance past what the ledger holds; nothing was written",
        payer,
    );
    if !store::ledger::credit(tx, &checked.payee_wallet, asset, net).await? {
        return Ok(Err(overflow));
    }
    if fee > 0 && !store::ledger::credit(tx, PLATFORM_WALLET, asset, fee).await? {
        return Ok(Err(overflow));
    }
    let postings = journal_lines(checked, payment_id, amount, net, fee);
    let now_db = now_i64();
    store::ledger::post(tx, &postings, now_db).await?;
    let response = posted_answer(checked, payment_id);
    let response_json =
        serde_json::to_string(&response).map_err(|e| ApiError::Internal(e.to_string()))?;
    store::payments::insert(
        tx,
        &store::payments::NewPayment {
            id: payment_id,
            network: &facts.network,
            payer: &facts.payer,
            nonce: &checked.nonce,
            payer_wallet: &checked.payer_wallet,
            payee_wallet: &checked.payee_wallet,
            provider_id: checked.provider_id.as_deref(),
            asset,
            amount,
            fee,
            net,
            fingerprint: &facts.request_fingerprint.to_hex(),
            payment_identifier: facts.identifier.as_deref(),
            terms_fingerprint: &facts.terms_fingerprint.to_hex(),
            response: &response_json,
            resource: kept_resource(facts),
        },
        now_db,
    )
    .await?;
    if let Some(usage) = &posting.usage {
        store::wallets::set_usage(tx, &checked.payer_wallet, usage).await?;
    }
    if let Some(provider) = &checked.provider_id {
        let data = settled_event_data(checked, payment_id, amount, fee, net);
        store::events::enqueue(
            tx,
            &new_ordered_id("evt"),
            provider,
            "payment.settled",
            &data,
            now_db,
        )
        .await?;
    }
    let token = match (&posting.token, &checked.provider_id) {
        (Some(claims), Some(provider)) => Some(
            crate::services::tokens::issue_for_payment(tx, state, provider, payment_id, claims)
                .await?,
        ),
        _ => None,
    };
    Ok(Ok((response, token)))
}
