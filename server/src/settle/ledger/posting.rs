//! The one builder of ledger postings: settlements applied in arrival order in one
//! transaction, set-based — one read per table for every member (under the payers' locks), the
//! core's decisions in memory, each seeing every earlier member's effects exactly as if they
//! had been settled one by one, then one write per table and one commit. A single settlement
//! is a batch of one.

use std::collections::{BTreeMap, HashMap};

use paywire_core::money::Amount;
use paywire_core::policy::{Policy, Usage};
use paywire_core::protocol::SettleResponse;
use paywire_core::settlement::ledger::{
    self as decision, BundleOffer, EarlierPayment, LedgerSnapshot, Plan, Posting,
};
use paywire_core::Reason;
use serde_json::json;
use sqlx::AnyConnection;

use super::check::{rules, Checked};
use crate::base::entry::Entry;
use crate::base::error::ApiError;
use crate::base::ledger::PLATFORM_WALLET;
use crate::base::util::{new_ordered_id, now_i64};
use crate::services::state::AppState;
use crate::settle::{kept_resource, Refusal};
use crate::store;
use crate::store::ledger::Applied as Written;

/// A verified payment waiting to be settled.
pub struct Job {
    /// The payment and its parties.
    pub checked: Checked,
    /// The bundle its payee sells with it, if any.
    pub offer: Option<BundleOffer>,
    /// The id its payment gets if it is posted.
    pub payment_id: String,
    /// When it was verified (Unix seconds).
    pub now: u64,
}

/// What the decision did with one member.
pub enum Applied {
    /// Refused; the refusal's event (if any) is written with the batch.
    Refused(Refusal),
    /// An earlier payment's outcome: its id and stored answer.
    Replay(String, String),
    /// Posted: the answer, and the bundle token issued with it.
    Posted(Box<SettleResponse>, Option<serde_json::Value>),
}

/// What applying members did.
pub enum BatchOutcome {
    /// The transaction committed, or had nothing to commit: each member's outcome.
    Done(Vec<Result<Applied, ApiError>>),
    /// Something was posted and the commit's outcome is unknown: every member is pending (a
    /// retry of any of them finds out).
    Unknown,
}

/// Applies `jobs` in one transaction. A guard that fails (the decisions and the database
/// disagree: a race the locks should have prevented, or a credit past the ledger's maximum)
/// writes nothing: a lone member is refused for it; a batch is an `Err`, and its caller
/// settles the members one by one, where each guard answers for its own payment. Any other
/// `Err` also means nothing was committed.
pub async fn apply(state: &AppState, jobs: &[&Job]) -> Result<BatchOutcome, ApiError> {
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    let mut view = BatchView::read(state, &mut tx, jobs).await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut events = Vec::new();
    let mut payments = Vec::new();
    let mut entries = Vec::new();
    let mut usages = BTreeMap::<&str, String>::new();
    let mut tokens = Vec::new();
    for job in jobs {
        let checked = &job.checked;
        let payer = Some(checked.facts.payer.as_str());
        let snapshot = view.snapshot(job)?;
        let plan = decision::decide(
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
                let payment_id = job.payment_id.as_str();
                entries.push(payment_entry(checked, payment_id, amount, net, fee)?);
                let response = posted_answer(checked, payment_id);
                let answer = serde_json::to_string(&response)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                if let Some(usage) = &posting.usage {
                    let usage_json = serde_json::to_string(usage)
                        .map_err(|e| ApiError::Internal(e.to_string()))?;
                    usages.insert(&checked.payer_wallet, usage_json);
                }
                view.posted(job, (amount, net, fee), posting.usage.as_ref(), &answer);
                if let Some(provider) = &checked.provider_id {
                    events.push(store::batch::NewEvent {
                        id: new_ordered_id("evt"),
                        tenant_id: provider,
                        event_type: "payment.settled",
                        data: settled_event_data(checked, payment_id, amount, fee, net),
                        once_key: None,
                    });
                }
                payments.push((job, (amount, fee, net), answer));
                if let (Some(claims), Some(provider)) =
                    (posting.token.clone(), &checked.provider_id)
                {
                    tokens.push((outcomes.len(), provider, payment_id, claims));
                }
                outcomes.push(Ok(Applied::Posted(Box::new(response), None)));
            }
        }
    }
    if payments.is_empty() {
        // Nothing moves: the answers stand whether or not the refusals' events are stored.
        if !events.is_empty() {
            store::batch::enqueue_events(&mut tx, &events, now_i64()).await?;
            if let Err(e) = tx.commit().await {
                tracing::warn!(error = %e, "payment.refused events not stored");
            }
        }
        return Ok(BatchOutcome::Done(outcomes));
    }
    let now_db = now_i64();
    let lone = jobs.len() == 1;
    let payer = Some(jobs[0].checked.facts.payer.as_str());
    match store::ledger::apply(&mut tx, &entries, now_db).await? {
        Written::Done => {}
        Written::Short if lone => {
            return Ok(BatchOutcome::Done(vec![Ok(Applied::Refused(
                Refusal::new(
                    Reason::InsufficientFunds,
                    "the payer's balance is below the amount",
                    payer,
                ),
            ))]))
        }
        Written::Full if lone => {
            return Ok(BatchOutcome::Done(vec![Ok(Applied::Refused(
                Refusal::new(
                    Reason::BalanceOverflow,
                    "settling would take a balance past what the ledger holds; nothing was written",
                    payer,
                ),
            ))]))
        }
        Written::Short => {
            return Err(ApiError::Internal(
                "a batch's debit found a balance short".into(),
            ))
        }
        Written::Full => {
            return Err(ApiError::Internal(
                "a batch's credit would pass the ledger's maximum".into(),
            ))
        }
    }
    let fingerprints: Vec<(String, String)> = payments
        .iter()
        .map(|(job, ..)| {
            let facts = &job.checked.facts;
            (
                facts.request_fingerprint.to_hex(),
                facts.terms_fingerprint.to_hex(),
            )
        })
        .collect();
    let rows: Vec<store::payments::NewPayment> = payments
        .iter()
        .zip(&fingerprints)
        .map(|((job, (amount, fee, net), answer), (request, terms))| {
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
                fingerprint: request,
                payment_identifier: facts.identifier.as_deref(),
                terms_fingerprint: terms,
                response: answer,
                resource: kept_resource(facts.resource.as_deref()),
            }
        })
        .collect();
    store::payments::insert_many(&mut tx, &rows, now_db).await?;
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
        Ok(()) => Ok(BatchOutcome::Done(outcomes)),
        // Committed or not, nobody can tell: never report a failure.
        Err(_) => Ok(BatchOutcome::Unknown),
    }
}

/// What a batch's decisions have seen and done so far: the ledger as read at the batch's
/// start (under the payers' locks), updated by each posting, so a member's decision sees every
/// earlier member's effects exactly as if they had been settled one by one.
struct BatchView {
    payers: HashMap<String, (Option<Policy>, Usage)>,
    /// Every balance of the payers, the payees and the platform, by `(wallet, asset)`.
    balances: HashMap<(String, String), i64>,
    /// `(network, payer, nonce)` → the payment that settled it.
    by_nonce: HashMap<(String, String, String), EarlierPayment>,
    /// `(network, payer, identifier)` → the payment that settled it.
    by_identifier: HashMap<(String, String, String), EarlierPayment>,
    /// Answers of the batch's own postings, for a member that replays one of them.
    answers: HashMap<String, String>,
}

impl BatchView {
    /// Reads, in a few statements, what every member's decision needs.
    async fn read(
        state: &AppState,
        tx: &mut AnyConnection,
        jobs: &[&Job],
    ) -> Result<BatchView, ApiError> {
        let mut payers: Vec<&str> = jobs
            .iter()
            .map(|job| job.checked.payer_wallet.as_str())
            .collect();
        payers.sort_unstable();
        payers.dedup();
        // The lock comes first: every later read sees a state no other settlement of these
        // payers can change until the batch commits.
        let locked = store::batch::lock_payers(tx, state.dialect, &payers).await?;
        let mut wallets = payers.clone();
        wallets.extend(jobs.iter().map(|job| job.checked.payee_wallet.as_str()));
        wallets.push(PLATFORM_WALLET);
        wallets.sort_unstable();
        wallets.dedup();
        let balances = store::batch::balances(tx, &wallets).await?;
        let mut networks: Vec<&str> = jobs
            .iter()
            .map(|job| job.checked.facts.network.as_str())
            .collect();
        networks.sort_unstable();
        networks.dedup();
        let (mut by_nonce, mut by_identifier) = (HashMap::new(), HashMap::new());
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
            payers: locked,
            balances,
            by_nonce,
            by_identifier,
            answers: HashMap::new(),
        })
    }

    fn balance(&self, wallet: &str, asset: &str) -> Amount {
        let balance = self
            .balances
            .get(&(wallet.to_string(), asset.to_string()))
            .copied()
            .unwrap_or(0);
        Amount::new(u128::try_from(balance).unwrap_or(0))
    }

    /// The snapshot `job`'s decision reads.
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
        let key = |once: &str| (facts.network.clone(), facts.payer.clone(), once.to_string());
        Ok(LedgerSnapshot {
            payer_balance: self.balance(&checked.payer_wallet, &checked.asset_key),
            policy,
            usage,
            earlier_by_nonce: self.by_nonce.get(&key(&checked.nonce)).cloned(),
            earlier_by_identifier: facts
                .identifier
                .as_deref()
                .and_then(|id| self.by_identifier.get(&key(id)).cloned()),
            payee_balance: self.balance(&checked.payee_wallet, &checked.asset_key),
            platform_balance: self.balance(PLATFORM_WALLET, &checked.asset_key),
        })
    }

    /// Records what posting `job` did, for the members after it.
    fn posted(
        &mut self,
        job: &Job,
        (amount, net, fee): (i64, i64, i64),
        usage: Option<&Usage>,
        answer: &str,
    ) {
        let checked = &job.checked;
        let facts = &checked.facts;
        let asset = &checked.asset_key;
        for (wallet, change) in [
            (checked.payer_wallet.as_str(), -amount),
            (checked.payee_wallet.as_str(), net),
            (PLATFORM_WALLET, fee),
        ] {
            let balance = self
                .balances
                .entry((wallet.to_string(), asset.clone()))
                .or_insert(0);
            *balance = balance.saturating_add(change);
        }
        if let (Some(usage), Some(payer)) = (usage, self.payers.get_mut(&checked.payer_wallet)) {
            payer.1 = usage.clone();
        }
        let key = |once: &str| (facts.network.clone(), facts.payer.clone(), once.to_string());
        self.by_nonce.insert(
            key(&checked.nonce),
            EarlierPayment {
                payment_id: job.payment_id.clone(),
                fingerprint: facts.request_fingerprint,
            },
        );
        if let Some(identifier) = &facts.identifier {
            self.by_identifier.insert(
                key(identifier),
                EarlierPayment {
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
        "amount": facts.amount.atomic().to_string(),
        "resource": kept_resource(facts.resource.as_deref()),
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
        "resource": kept_resource(facts.resource.as_deref())})
    .to_string()
}

/// The entry of a posted payment: the payer gives the amount, the payee takes the net and the
/// platform the fee (no line when there is none).
fn payment_entry(
    checked: &Checked,
    payment_id: &str,
    amount: i64,
    net: i64,
    fee: i64,
) -> Result<Entry, ApiError> {
    let entry = Entry::split(
        payment_id,
        &checked.asset_key,
        (&checked.payer_wallet, "payment"),
        &[
            (&checked.payee_wallet, net, "payment"),
            (PLATFORM_WALLET, fee, "fee"),
        ],
    )
    .map_err(|e| ApiError::Internal(format!("payment {payment_id}: {e}")))?;
    // The core splits the amount into net and fee; an entry that takes anything else from the
    // payer is a fault here, not a payment.
    if entry.legs()[0].amount != -amount {
        return Err(ApiError::Internal(format!(
            "payment {payment_id}: net and fee do not sum to the amount"
        )));
    }
    Ok(entry)
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
