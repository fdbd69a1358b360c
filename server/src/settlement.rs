//! Verification and settlement of x402 payments against the ledger.
//!
//! A settlement is one database transaction: lock the payer's wallet, look for an earlier
//! settlement of the same `(network, payer, nonce)` (EIP-3009's once-only key: a retry gets the
//! first outcome again), check the payer's spending policy against its usage, debit the payer,
//! credit the provider's net and the platform's fee, write the balanced journal entry, the
//! payment, the new usage and a webhook outbox row — all or nothing.

use paywire_core::idempotency::fingerprint;
use paywire_core::policy::{Decision, PaymentIntent, Policy, Usage};
use paywire_core::pricing::split_fee;
use paywire_core::protocol::ledger::{self, WalletSecret};
use paywire_core::protocol::{
    evm, AnyRequirements, ExactPayload, FacilitatorRequest, Reason, SettleResponse, VerifyResponse,
};
use paywire_core::Amount;
use serde_json::json;
use sqlx::{AnyConnection, Row};

use crate::accounts::{asset_key, credit, post, to_db_amount, PLATFORM_WALLET};
use crate::error::ApiError;
use crate::util::{new_id, now_i64};
use crate::AppState;

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
    fn new(reason: Reason, message: impl Into<String>, payer: Option<&str>) -> Self {
        Refusal {
            reason,
            message: message.into(),
            payer: payer.map(str::to_string),
        }
    }

    fn from_core(error: paywire_core::Error, payer: Option<&str>) -> Self {
        let reason = match &error {
            paywire_core::Error::PaymentInvalid { reason, .. } => reason.clone(),
            other => Reason::parse(other.code()),
        };
        Refusal::new(reason, error.to_string(), payer)
    }
}

/// A payment whose signature and terms verified; what the ledger needs to settle it.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The network.
    pub network: String,
    /// The payer as the payment names it (wallet id, or checksummed EVM address).
    pub payer: String,
    /// The paying wallet.
    pub payer_wallet: String,
    /// The provider's payout wallet.
    pub payee_wallet: String,
    /// The provider.
    pub provider_id: Option<String>,
    /// The balance key of the asset.
    pub asset: String,
    /// The asset as the requirements name it (for the payer's policy).
    pub asset_address: String,
    /// `payTo`, for the payer's policy.
    pub pay_to: String,
    /// The resource URL, for the payer's policy.
    pub resource: Option<String>,
    /// Atomic units.
    pub amount: i64,
    /// The amount in whole units.
    pub amount_decimal: rust_decimal::Decimal,
    /// `0x` + 64 hex digits, lower case.
    pub nonce: String,
    /// The request's fingerprint: a retry must be the same request.
    pub fingerprint: String,
}

/// Checks everything that needs no lock: scheme and network support, the signature and the
/// authorization's terms (in paywire-core), and that payer and payee are known here.
pub async fn check(
    state: &AppState,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<Result<Checked, Refusal>, ApiError> {
    let requirements = &request.payment_requirements;
    let network = requirements.network().to_string();
    let fingerprint = fingerprint("POST", "/settle", body).to_hex();
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
            return Ok(Err(Refusal::from_core(e, Some(&wallet_id))));
        }
        (
            wallet_id.clone(),
            wallet_id,
            crate::accounts::LEDGER_DECIMALS,
        )
    } else if state.devnet_networks.contains(&network) {
        let verified = match evm::verify_payment(&request.payment_payload, requirements, now) {
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
        let wallet = sqlx::query("SELECT id FROM wallets WHERE address = $1")
            .bind(&payer)
            .fetch_optional(&state.pool)
            .await?;
        let Some(wallet) = wallet else {
            return Ok(Err(Refusal::new(
                Reason::InsufficientFunds,
                "this address has no devnet funds",
                Some(&payer),
            )));
        };
        (payer, wallet.try_get::<String, _>("id")?, asset.decimals)
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
    let (payee_wallet, provider_id) = match payee(state, &network, requirements.pay_to()).await? {
        Some(found) => found,
        None => {
            return Ok(Err(Refusal::new(
                Reason::InvalidExactEvmRecipientMismatch,
                "payTo is not a provider of this ledger",
                Some(&payer),
            )))
        }
    };
    let amount = match to_db_amount(requirements.amount()) {
        Ok(amount) => amount,
        Err(_) => {
            return Ok(Err(Refusal::new(
                Reason::InvalidPaymentRequirements,
                "amount too large",
                Some(&payer),
            )))
        }
    };
    let asset = paywire_core::money::Asset::new(&network, requirements.asset(), "", decimals)?;
    let exact = ExactPayload::from_object(request.payment_payload.payload())?;
    Ok(Ok(Checked {
        network: network.clone(),
        payer,
        payer_wallet,
        payee_wallet,
        provider_id,
        asset: asset_key(&network, requirements.asset()),
        asset_address: requirements.asset().to_string(),
        pay_to: requirements.pay_to().to_string(),
        resource: resource_url(request),
        amount,
        amount_decimal: asset.to_decimal(requirements.amount())?,
        nonce: exact.authorization.nonce.to_ascii_lowercase(),
        fingerprint,
    }))
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
    let row = sqlx::query("SELECT secret_hex FROM wallets WHERE id = $1 AND kind = 'agent'")
        .bind(wallet_id)
        .fetch_optional(&state.pool)
        .await?;
    Ok(row
        .and_then(|row| {
            row.try_get::<Option<String>, _>("secret_hex")
                .ok()
                .flatten()
        })
        .and_then(|hex_text| WalletSecret::from_hex(&hex_text).ok()))
}

/// The provider wallet `payTo` names: a provider wallet id on the ledger, the provider's
/// registered EVM address on devnet networks.
async fn payee(
    state: &AppState,
    network: &str,
    pay_to: &str,
) -> Result<Option<(String, Option<String>)>, ApiError> {
    let row = if network == state.ledger_network {
        sqlx::query("SELECT id, tenant_id FROM wallets WHERE id = $1 AND kind = 'provider'")
            .bind(pay_to)
            .fetch_optional(&state.pool)
            .await?
    } else {
        let Ok(address) = evm::Address::parse(pay_to) else {
            return Ok(None);
        };
        sqlx::query("SELECT w.id, w.tenant_id FROM wallets w JOIN tenants t ON t.id = w.tenant_id WHERE t.evm_address = $1 AND w.kind = 'provider'")
            .bind(address.to_checksum())
            .fetch_optional(&state.pool)
            .await?
    };
    row.map(|row| Ok((row.try_get("id")?, row.try_get("tenant_id")?)))
        .transpose()
}

/// `POST /verify`: everything `settle` checks, without moving money.
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
    if let Some(refusal) = ledger_refusal(&mut conn, &checked, now).await? {
        return Ok(VerifyResponse::invalid(
            refusal.reason,
            refusal.message,
            refusal.payer,
        ));
    }
    Ok(VerifyResponse::valid(checked.payer))
}

/// The ledger-side reasons a verified payment cannot settle: a used nonce, the payer's policy,
/// the balance. (`settle` makes the same checks under the payer's lock, where an earlier
/// settlement of the same request is replayed instead of refused.)
async fn ledger_refusal(
    conn: &mut AnyConnection,
    checked: &Checked,
    now: u64,
) -> Result<Option<Refusal>, ApiError> {
    let payer = Some(checked.payer.as_str());
    let earlier = sqlx::query(
        "SELECT fingerprint FROM payments WHERE network = $1 AND payer = $2 AND nonce = $3",
    )
    .bind(&checked.network)
    .bind(&checked.payer)
    .bind(&checked.nonce)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = earlier {
        // The very payment that settled, sent again (a client whose answer was lost): valid,
        // because `settle` answers it with the first outcome instead of charging again.
        if row.try_get::<String, _>("fingerprint")? == checked.fingerprint {
            return Ok(None);
        }
        return Ok(Some(Refusal::new(
            Reason::InvalidExactEvmNonceAlreadyUsed,
            "this authorization was settled before",
            payer,
        )));
    }
    let wallet = sqlx::query("SELECT policy, usage FROM wallets WHERE id = $1")
        .bind(&checked.payer_wallet)
        .fetch_one(&mut *conn)
        .await?;
    if let Some(reason) = policy_refusal(&wallet, checked, now)? {
        return Ok(Some(Refusal::new(
            Reason::parse(reason.code()),
            format!("the payer's policy refuses: {reason}"),
            payer,
        )));
    }
    let balance: Option<i64> =
        sqlx::query("SELECT amount FROM balances WHERE wallet_id = $1 AND asset = $2")
            .bind(&checked.payer_wallet)
            .bind(&checked.asset)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.try_get("amount"))
            .transpose()?;
    if balance.unwrap_or(0) < checked.amount {
        return Ok(Some(Refusal::new(
            Reason::InsufficientFunds,
            "the payer's balance is below the amount",
            payer,
        )));
    }
    Ok(None)
}

fn policy_and_usage(wallet: &sqlx::any::AnyRow) -> Result<(Option<Policy>, Usage), ApiError> {
    let policy: Option<String> = wallet.try_get("policy")?;
    let usage: String = wallet.try_get("usage")?;
    let policy = policy
        .map(|p| serde_json::from_str::<Policy>(&p))
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("stored policy: {e}")))?;
    let usage = serde_json::from_str::<Usage>(&usage).unwrap_or_default();
    Ok((policy, usage))
}

/// The payer's policy decision, by paywire-core. `NeedsApproval` passes: approval is asked by
/// the client before it signs; the server enforces the limits.
fn policy_refusal(
    wallet: &sqlx::any::AnyRow,
    checked: &Checked,
    now: u64,
) -> Result<Option<paywire_core::DenyReason>, ApiError> {
    let (policy, usage) = policy_and_usage(wallet)?;
    let Some(policy) = policy else {
        return Ok(None);
    };
    let intent = PaymentIntent {
        amount: checked.amount_decimal,
        network: checked.network.clone(),
        asset: checked.asset_address.clone(),
        pay_to: checked.pay_to.clone(),
        resource: checked.resource.clone(),
    };
    Ok(match policy.evaluate(&intent, &usage, now) {
        Decision::Deny(reason) => Some(reason),
        Decision::Allow | Decision::NeedsApproval => None,
    })
}

fn token_extensions(token: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut extensions = serde_json::Map::new();
    extensions.insert(crate::tokens::ACCESS_TOKEN_EXTENSION.into(), token);
    extensions
}

/// `POST /settle`: settles a payment exactly once.
pub async fn settle(
    state: &AppState,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<SettleResponse, ApiError> {
    let network = request.payment_requirements.network().to_string();
    let failed = |refusal: Refusal| SettleResponse {
        success: false,
        error_reason: Some(refusal.reason),
        error_message: Some(refusal.message),
        payer: refusal.payer,
        transaction: String::new(),
        network: network.clone(),
        amount: None,
        extensions: None,
    };
    // x402's payment-identifier: the client's own idempotency key for this payment. A retry
    // (even re-signed with a new nonce) gets the first outcome; another request under the
    // same id is refused.
    let identifier = match &request.payment_payload {
        paywire_core::PaymentPayload::V2(p) => {
            paywire_core::protocol::extensions::payment_identifier(p.extensions.as_ref())?
                .map(str::to_string)
        }
        paywire_core::PaymentPayload::V1(_) => None,
    };
    let Some(identifier) = identifier else {
        return settle_once(state, request, body, now, failed).await;
    };
    let key = paywire_core::IdempotencyKey::parse(&identifier)?;
    let fp = payment_fingerprint(request);
    let scope = "payment-identifier";
    match crate::idempotency::begin(state, scope, &key, &fp).await? {
        paywire_core::Begin::Replay(outcome) => {
            return serde_json::from_str(&outcome.body)
                .map_err(|e| ApiError::BadRequest(format!("stored response: {e}")))
        }
        paywire_core::Begin::Proceed => {}
    }
    let outcome = settle_once(state, request, body, now, failed).await;
    match &outcome {
        Ok(response) if response.error_reason != Some(Reason::SettlementPending) => {
            let body =
                serde_json::to_string(response).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            crate::idempotency::complete(
                state,
                scope,
                &key,
                &fp,
                &paywire_core::idempotency::StoredOutcome { status: 200, body },
            )
            .await?;
        }
        Ok(_) => {}
        Err(_) => crate::idempotency::abandon(state, scope, &key, &fp).await?,
    }
    outcome
}

/// The fingerprint of what a payment asks for, independent of its signature and nonce: a
/// client that re-signs after a lost response is retrying, not asking for something new.
fn payment_fingerprint(request: &FacilitatorRequest) -> paywire_core::idempotency::Fingerprint {
    let requirements = serde_json::to_vec(&request.payment_requirements).unwrap_or_default();
    fingerprint("POST", "/settle#payment-identifier", &requirements)
}

async fn settle_once(
    state: &AppState,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
    failed: impl Fn(Refusal) -> SettleResponse,
) -> Result<SettleResponse, ApiError> {
    let checked = match check(state, request, body, now).await? {
        Ok(checked) => checked,
        Err(refusal) => return Ok(failed(refusal)),
    };
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    // Lock the payer's wallet first: every later read in this transaction sees the state no
    // concurrent settlement of the same payer can change until we commit.
    let wallet = sqlx::query(state.dialect.lock_wallet())
        .bind(&checked.payer_wallet)
        .fetch_one(&mut *tx)
        .await?;
    let earlier = sqlx::query("SELECT fingerprint, response FROM payments WHERE network = $1 AND payer = $2 AND nonce = $3")
        .bind(&checked.network)
        .bind(&checked.payer)
        .bind(&checked.nonce)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = earlier {
        let first: String = row.try_get("fingerprint")?;
        if first == checked.fingerprint {
            let response: String = row.try_get("response")?;
            let mut response: SettleResponse = serde_json::from_str(&response)
                .map_err(|e| ApiError::BadRequest(format!("stored response: {e}")))?;
            // Nothing to write: end the transaction before reading the token's claims.
            drop(tx);
            if let Some(token) =
                crate::tokens::reissue_for_payment(state, &response.transaction).await?
            {
                response.extensions = Some(token_extensions(token));
            }
            return Ok(response);
        }
        return Ok(failed(Refusal::new(
            Reason::InvalidExactEvmNonceAlreadyUsed,
            "this authorization was settled before",
            Some(&checked.payer),
        )));
    }
    if let Some(reason) = policy_refusal(&wallet, &checked, now)? {
        return Ok(failed(Refusal::new(
            Reason::parse(reason.code()),
            format!("the payer's policy refuses: {reason}"),
            Some(&checked.payer),
        )));
    }
    let debited = sqlx::query("UPDATE balances SET amount = amount - $1 WHERE wallet_id = $2 AND asset = $3 AND amount >= $1")
        .bind(checked.amount)
        .bind(&checked.payer_wallet)
        .bind(&checked.asset)
        .execute(&mut *tx)
        .await?;
    if debited.rows_affected() != 1 {
        return Ok(failed(Refusal::new(
            Reason::InsufficientFunds,
            "the payer's balance is below the amount",
            Some(&checked.payer),
        )));
    }
    let (fee, net) = split_fee(Amount::new(checked.amount as u128), state.fee_bps)?;
    let (fee, net) = (fee.atomic() as i64, net.atomic() as i64);
    let payment_id = new_id("pay");
    credit(&mut tx, &checked.payee_wallet, &checked.asset, net).await?;
    post(
        &mut tx,
        &payment_id,
        &checked.payer_wallet,
        &checked.asset,
        -checked.amount,
        "payment",
    )
    .await?;
    post(
        &mut tx,
        &payment_id,
        &checked.payee_wallet,
        &checked.asset,
        net,
        "payment",
    )
    .await?;
    if fee > 0 {
        credit(&mut tx, PLATFORM_WALLET, &checked.asset, fee).await?;
        post(
            &mut tx,
            &payment_id,
            PLATFORM_WALLET,
            &checked.asset,
            fee,
            "fee",
        )
        .await?;
    }
    let response = SettleResponse {
        success: true,
        error_reason: None,
        error_message: None,
        payer: Some(checked.payer.clone()),
        transaction: payment_id.clone(),
        network: checked.network.clone(),
        amount: None,
        extensions: None,
    };
    let response_json =
        serde_json::to_string(&response).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    sqlx::query(
        "INSERT INTO payments (id, network, payer, nonce, payer_wallet, payee_wallet, provider_id, asset, amount, fee, net, fingerprint, response, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&payment_id)
    .bind(&checked.network)
    .bind(&checked.payer)
    .bind(&checked.nonce)
    .bind(&checked.payer_wallet)
    .bind(&checked.payee_wallet)
    .bind(checked.provider_id.as_deref())
    .bind(&checked.asset)
    .bind(checked.amount)
    .bind(fee)
    .bind(net)
    .bind(&checked.fingerprint)
    .bind(&response_json)
    .bind(now_i64())
    .execute(&mut *tx)
    .await?;
    let (policy, mut usage) = policy_and_usage(&wallet)?;
    if let Some(policy) = policy {
        policy.record(&mut usage, checked.amount_decimal, now);
        sqlx::query("UPDATE wallets SET usage = $1 WHERE id = $2")
            .bind(serde_json::to_string(&usage).map_err(|e| ApiError::BadRequest(e.to_string()))?)
            .bind(&checked.payer_wallet)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(provider) = &checked.provider_id {
        let event = json!({"type": "payment.settled", "paymentId": payment_id, "network": checked.network,
            "payer": checked.payer, "asset": checked.asset, "amount": checked.amount.to_string(),
            "fee": fee.to_string(), "net": net.to_string()});
        sqlx::query("INSERT INTO webhook_outbox (id, tenant_id, event, payload, created_at, delivered_at) VALUES ($1, $2, $3, $4, $5, NULL)")
            .bind(new_id("evt"))
            .bind(provider)
            .bind("payment.settled")
            .bind(event.to_string())
            .bind(now_i64())
            .execute(&mut *tx)
            .await?;
    }
    let token = match &checked.provider_id {
        Some(provider) => {
            crate::tokens::issue_for_payment(
                &mut tx,
                state,
                provider,
                &payment_id,
                &checked.payer,
                checked.resource.as_deref(),
                now,
            )
            .await?
        }
        None => None,
    };
    let mut response = response;
    match tx.commit().await {
        Ok(()) => {
            if let Some(token) = token {
                response.extensions = Some(token_extensions(token));
            }
            Ok(response)
        }
        // The commit may or may not have happened: never report a failure. A retry of the same
        // payment finds the first outcome or settles it now.
        Err(_) => Ok(SettleResponse {
            success: false,
            error_reason: Some(Reason::SettlementPending),
            error_message: Some("the outcome is not known yet; retry the same payment".into()),
            ..response
        }),
    }
}
