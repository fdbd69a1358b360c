//! The ledger settler: `exact` payments on the Paywire ledger and on devnet EVM networks,
//! settled against ledger balances.
//!
//! Both facilitator calls run the same steps: verify the payment (scheme, signature, terms:
//! paywire-core) and resolve payer and payee ([`check`]), read the ledger the decision needs,
//! and let [`paywire_core::settlement::ledger::decide`] say replay, refuse or post. `/verify`
//! reads the ledger as it is; `/settle` reads it under the payer's lock and carries the plan
//! out in one transaction ([`posting`]) — debit, credits, balanced journal, payment row (with
//! the payment identifier: the durable idempotency record), usage, outbox, bundle token — all
//! or nothing. Settlements arriving together share that transaction ([`pipeline`]); one alone
//! is a batch of one.
//!
//! Nothing is looked up before the payment verifies, and earlier payments are looked up by the
//! *verified* payer: a forged body learns nothing, and one payer's identifier never reaches
//! another payer's outcome.

pub mod check;
pub mod pipeline;
pub mod posting;

use paywire_core::protocol::{FacilitatorRequest, SettleResponse, VerifyResponse};
use paywire_core::settlement::ledger::{self as decision, Plan};
use paywire_core::Reason;

pub use check::Payment;
pub use pipeline::Pipeline;

use crate::base::error::ApiError;
use crate::base::util::new_ordered_id;
use crate::services::state::AppState;
use crate::settle::{failed, Settled, Settlement};
use posting::{Applied, Job};

/// `POST /verify`: everything `settle` checks, without moving money — by the same decision.
pub async fn verify(
    state: &AppState,
    kind: Payment,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<VerifyResponse, ApiError> {
    let checked = match check::check(state, kind, request, body, now).await? {
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
    let ledger = check::snapshot(state, &mut conn, &checked).await?;
    drop(conn);
    let offer = check::bundle_offer(state, &checked, String::new()).await?;
    let plan = decision::decide(
        &checked.facts,
        &ledger,
        offer.as_ref(),
        check::rules(state),
        now,
    )?;
    Ok(match plan {
        Plan::Refuse { reason, message } => {
            VerifyResponse::invalid(reason, message, Some(checked.facts.payer))
        }
        // The very payment that settled, sent again, is valid: `settle` answers it with the
        // first outcome instead of charging again.
        Plan::Replay { .. } | Plan::Post(_) => VerifyResponse::valid(checked.facts.payer),
    })
}

/// `POST /settle`: settles a payment exactly once. The payment is verified here, concurrently
/// with others; what must happen under the ledger's locks (the read, the decision, the
/// posting) goes to the group-commit pipeline when there is one, else runs as a batch of one.
pub async fn settle(
    state: &AppState,
    settlement: &Settlement,
    kind: Payment,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<Settled, ApiError> {
    let network = request.payment_requirements.network();
    let checked = match check::check(state, kind, request, body, now).await? {
        Ok(checked) => checked,
        Err(refusal) => return Ok(failed(network, refusal)),
    };
    // Counted once the payment verified: forged payments spend no payer's budget.
    state.rate_limits.per_payer.check(&format!(
        "{}|{}",
        checked.facts.network, checked.facts.payer
    ))?;
    let payment_id = new_ordered_id("pay");
    let offer = check::bundle_offer(
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
    match &settlement.pipeline {
        Some(pipeline) => pipeline.submit(state, job).await,
        None => pipeline::settle_alone(state, job).await,
    }
}

/// The answer of a job whose outcome is known (its transaction committed, or had nothing to
/// commit).
async fn answer(state: &AppState, job: &Job, applied: Applied) -> Result<Settled, ApiError> {
    let network = &job.checked.facts.network;
    let (mut response, token) = match applied {
        Applied::Refused(refusal) => return Ok(failed(network, refusal)),
        Applied::Replay(payment_id, stored) => {
            let response: SettleResponse = serde_json::from_str(&stored)
                .map_err(|e| ApiError::Internal(format!("stored response: {e}")))?;
            let token = crate::services::tokens::reissue_for_payment(state, &payment_id).await?;
            (response, token)
        }
        Applied::Posted(response, token) => (*response, token),
    };
    if let Some(token) = token {
        let mut extensions = serde_json::Map::new();
        extensions.insert(
            crate::services::tokens::ACCESS_TOKEN_EXTENSION.into(),
            token,
        );
        response.extensions = Some(extensions);
    }
    Ok(Settled {
        response,
        known: true,
    })
}

/// The answer of a job whose commit may or may not have happened: never a failure. A retry of
/// the same payment finds the first outcome or settles it now.
fn pending(job: &Job) -> Settled {
    Settled {
        response: SettleResponse {
            success: false,
            error_reason: Some(Reason::SettlementPending),
            error_message: Some("the outcome is not known yet; retry the same payment".into()),
            payer: Some(job.checked.facts.payer.clone()),
            transaction: String::new(),
            network: job.checked.facts.network.clone(),
            amount: None,
            extensions: None,
        },
        known: false,
    }
}
