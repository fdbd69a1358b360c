//! Settling EVM `exact` payments on a real chain: EIP-3009 `transferWithAuthorization`
//! submitted through JSON-RPC by the facilitator's own key.
//!
//! The steps, each decided in paywire-core and carried out here: verify the payment
//! ([`paywire_core::protocol::evm::verify_payment_for_chain`]; a signature that is not the
//! payer's EOA signature is asked of the payer's contract wallet, ERC-1271), check the token's
//! EIP-712 domain, look up the attempt at the same authorization
//! ([`paywire_core::settlement::chain::decide`]: replay, pending or submit), pre-flight on chain (nonce
//! state, balance, a simulation: [`paywire_core::settlement::chain::check_pre_flight`]), record the attempt,
//! sign and store the transaction, broadcast it, and wait for its receipt. A receipt that does
//! not come in time answers `settlement_pending` with the transaction hash, and the reconciler
//! ([`start_reconciler`]) settles the attempt later — broadcasting the stored transaction again,
//! never a second one — and records the payment in the ledger (payments, revenue, a
//! `payment.settled` event) exactly once.

use std::time::Duration;

use alloy::primitives::B256;
use paywire_core::idempotency::fingerprint;
use paywire_core::protocol::evm::{self, ChainEvmPayment, SignerProof};
use paywire_core::settlement::chain::{self as decisions, ChainPlan};

use crate::infra::connection::ClientAddr;
use paywire_core::protocol::{FacilitatorRequest, SettleResponse};
use paywire_core::Reason;
use serde_json::json;

use crate::base::error::ApiError;
use crate::base::util::{new_ordered_id, now_i64};
use crate::chain::{address, broadcast, rpc, ChainNetwork};
use crate::services::state::AppState;
use crate::settle::{failed, Refusal, Settled};
use crate::store;

/// A chain payment that verified, with its ledger parties.
struct ChainChecked {
    payment: ChainEvmPayment,
    payer: String,
    nonce: String,
}

fn refused(reason: Reason, message: impl Into<String>, payer: Option<&str>) -> Refusal {
    Refusal::new(reason, message, payer)
}

/// Verifies a chain payment: the core's checks, the contract wallet's word when the signature
/// is not an EOA's, the token's domain, and the payee.
async fn check(
    state: &AppState,
    chain: &ChainNetwork,
    client: Option<ClientAddr>,
    request: &FacilitatorRequest,
    now: u64,
) -> Result<Result<ChainChecked, Refusal>, ApiError> {
    let requirements = &request.payment_requirements;
    let payment = match evm::verify_payment_for_chain(&request.payment_payload, requirements, now) {
        Ok(payment) => payment,
        Err(e) => return Ok(Err(Refusal::from_core(e, None))),
    };
    let payer = payment.payer.to_checksum();
    let unreachable = |e: rpc::RpcFailure| {
        Ok(Err(refused(
            Reason::UnexpectedVerifyError,
            format!("the chain could not be asked: {e}"),
            Some(&payer),
        )))
    };
    // What needs no chain comes first: a body aimed at a token or a payee this facilitator
    // does not settle costs no RPC call.
    if !chain.settles_token(address(&payment.domain.verifying_contract)) {
        return Ok(Err(refused(
            Reason::InvalidPaymentRequirements,
            format!(
                "this facilitator does not settle that token on {}",
                chain.network
            ),
            Some(&payer),
        )));
    }
    let Some(_payee) = store::wallets::provider_wallet_by_address(
        &state.pool,
        &payment.authorization.to.to_checksum(),
    )
    .await?
    else {
        return Ok(Err(refused(
            Reason::InvalidExactEvmRecipientMismatch,
            "payTo is not a provider of this facilitator",
            Some(&payer),
        )));
    };
    if i64::try_from(payment.authorization.value.atomic()).is_err() {
        return Ok(Err(refused(
            Reason::BalanceOverflow,
            "the amount does not fit the ledger's records",
            Some(&payer),
        )));
    }
    let wallet = address(&payment.payer);
    if !matches!(payment.proof, SignerProof::Recovered) {
        // Only the chain can vouch for this signature, and asking costs RPC calls: anyone
        // can write such a body, so they are counted per claimed payer and per client first
        // (the payer first: its refusals do not spend the client's budget).
        state
            .rate_limits
            .chain_vouch_payer
            .check(&format!("{}/{payer}", chain.network))?;
        let client = client.map_or_else(|| "in-process".to_string(), |c| c.0.to_string());
        state.rate_limits.chain_vouch_client.check(&client)?;
    }
    let vouched = match &payment.proof {
        SignerProof::Recovered => Ok(true),
        SignerProof::ContractWallet { digest } => {
            chain
                .erc1271_valid(wallet, *digest, &payment.signature)
                .await
        }
        SignerProof::CounterfactualWallet { digest } => {
            let Some(wrapped) = crate::chain::unwrap_erc6492(&payment.signature) else {
                return Ok(Err(refused(
                    Reason::InvalidExactEvmSignature,
                    "an ERC-6492 signature that does not decode",
                    Some(&payer),
                )));
            };
            match chain.has_code(wallet).await {
                // Deployed since it signed: the wallet answers for the inner signature.
                Ok(true) => {
                    chain
                        .erc1271_valid(wallet, *digest, &wrapped.signature)
                        .await
                }
                Ok(false) if !chain.allows_factory(wrapped.factory) => return Ok(Err(refused(
                    Reason::InvalidExactEvmEip6492FactoryNotAllowed,
                    "the wallet is not deployed and its factory is not one this facilitator calls",
                    Some(&payer),
                ))),
                Ok(false) => {
                    chain
                        .erc6492_valid(wallet, *digest, &payment.signature)
                        .await
                }
                Err(e) => Err(e),
            }
        }
    };
    match vouched {
        Ok(true) => {}
        Ok(false) => {
            return Ok(Err(refused(
                Reason::InvalidExactEvmSignature,
                "the signature is neither authorization.from's nor accepted by a contract wallet there (ERC-1271/6492)",
                Some(&payer),
            )))
        }
        Err(e) => return unreachable(e),
    }
    match chain
        .domain_separator(address(&payment.domain.verifying_contract))
        .await
    {
        Ok(separator) if separator.0 == *payment.domain.separator() => {}
        Ok(_) => {
            return Ok(Err(refused(
                Reason::InvalidExactEvmTokenNameMismatch,
                "extra.name and extra.version are not the token's EIP-712 domain",
                Some(&payer),
            )))
        }
        Err(rpc::RpcFailure::Answer { .. }) => {
            return Ok(Err(refused(
                Reason::InvalidExactEvmEip3009NotSupported,
                "the asset has no EIP-712 domain: not an EIP-3009 token",
                Some(&payer),
            )))
        }
        Err(e) => return unreachable(e),
    }
    Ok(Ok(ChainChecked {
        nonce: format!("0x{}", hex::encode(payment.authorization.nonce)),
        payment,
        payer,
    }))
}

/// `POST /verify` on a chain network.
pub async fn verify(
    state: &AppState,
    chain: &ChainNetwork,
    client: Option<ClientAddr>,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<Result<String, Refusal>, ApiError> {
    let checked = match check(state, chain, client, request, now).await? {
        Ok(checked) => checked,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let payer = Some(checked.payer.as_str());
    let earlier =
        store::chain::find(&state.pool, &chain.network, &checked.payer, &checked.nonce).await?;
    match decisions::decide(
        &fingerprint("POST", "/settle", body),
        earlier.as_ref().map(|e| &e.attempt),
    ) {
        // The very payment that settled (or is settling), sent again, is valid: `settle`
        // answers it with that outcome.
        ChainPlan::Settled { .. } | ChainPlan::Pending { .. } => return Ok(Ok(checked.payer)),
        ChainPlan::Refuse {
            reason, message, ..
        } => return Ok(Err(refused(reason, message, payer))),
        ChainPlan::Submit => {}
    }
    match chain.pre_flight(&checked.payment).await {
        Ok(pre_flight) => match decisions::check_pre_flight(
            checked.payment.authorization.value.atomic(),
            &pre_flight,
        ) {
            Ok(()) => Ok(Ok(checked.payer)),
            Err((reason, message)) => Ok(Err(refused(reason, message, payer))),
        },
        Err(e) => Ok(Err(refused(
            Reason::UnexpectedVerifyError,
            format!("the chain could not be asked: {e}"),
            payer,
        ))),
    }
}

fn answer(
    network: &str,
    payer: &str,
    transaction: &str,
    outcome: Result<(), (Reason, String)>,
    known: bool,
) -> Settled {
    let (success, error_reason, error_message) = match outcome {
        Ok(()) => (true, None, None),
        Err((reason, message)) => (false, Some(reason), Some(message)),
    };
    Settled {
        response: SettleResponse {
            success,
            error_reason,
            error_message,
            payer: Some(payer.to_string()),
            transaction: transaction.to_string(),
            network: network.to_string(),
            amount: None,
            extensions: None,
        },
        known,
    }
}

fn pending(network: &str, payer: &str, transaction: Option<&str>) -> Settled {
    answer(
        network,
        payer,
        transaction.unwrap_or(""),
        Err((
            Reason::SettlementPending,
            "submitted to the chain; the receipt has not come yet: retry the same payment".into(),
        )),
        false,
    )
}

/// `POST /settle` on a chain network.
pub async fn settle(
    state: &AppState,
    chain: &ChainNetwork,
    client: Option<ClientAddr>,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<Settled, ApiError> {
    let network = chain.network.as_str();
    let checked = match check(state, chain, client, request, now).await? {
        Ok(checked) => checked,
        Err(refusal) => return Ok(failed(network, refusal)),
    };
    let payer = checked.payer.as_str();
    let request_fingerprint = fingerprint("POST", "/settle", body);
    let earlier = store::chain::find(&state.pool, network, payer, &checked.nonce).await?;
    if let Some(settled) = replay(network, payer, &request_fingerprint, earlier.as_ref()) {
        return Ok(settled);
    }
    let pre_flight = match chain.pre_flight(&checked.payment).await {
        Ok(pre_flight) => pre_flight,
        Err(e) => {
            return Ok(failed(
                network,
                refused(
                    Reason::UnexpectedSettleError,
                    format!("the chain could not be asked: {e}"),
                    Some(payer),
                ),
            ))
        }
    };
    if let Err((reason, message)) =
        decisions::check_pre_flight(checked.payment.authorization.value.atomic(), &pre_flight)
    {
        return Ok(failed(network, refused(reason, message, Some(payer))));
    }
    let id = new_ordered_id("pay");
    let request_json = String::from_utf8_lossy(body).into_owned();
    let recorded = store::chain::insert(
        &state.pool,
        &store::chain::NewAttempt {
            id: &id,
            network,
            payer,
            nonce: &checked.nonce,
            fingerprint: &request_fingerprint.to_hex(),
            request: &request_json,
        },
        now_i64(),
    )
    .await?;
    if !recorded {
        // A concurrent request for the same authorization recorded it first.
        let earlier = store::chain::find(&state.pool, network, payer, &checked.nonce).await?;
        return Ok(
            replay(network, payer, &request_fingerprint, earlier.as_ref())
                .unwrap_or_else(|| pending(network, payer, None)),
        );
    }
    drive(state, chain, &id, &checked.payment, &request_json, true).await
}

/// The answer to a request whose authorization has an attempt already, if it has.
fn replay(
    network: &str,
    payer: &str,
    request: &paywire_core::idempotency::Fingerprint,
    earlier: Option<&store::chain::StoredAttempt>,
) -> Option<Settled> {
    match decisions::decide(request, earlier.map(|e| &e.attempt)) {
        ChainPlan::Submit => None,
        ChainPlan::Settled { transaction } => {
            Some(answer(network, payer, &transaction, Ok(()), true))
        }
        ChainPlan::Pending { transaction } => Some(pending(network, payer, transaction.as_deref())),
        ChainPlan::Refuse {
            reason,
            message,
            transaction,
        } => Some(answer(
            network,
            payer,
            transaction.as_deref().unwrap_or(""),
            Err((reason, message)),
            true,
        )),
    }
}

/// Signs, stores, broadcasts and waits for attempt `id` (recorded as `submitting`). With
/// `wait`, waits up to the receipt timeout; else returns after the broadcast.
async fn drive(
    state: &AppState,
    chain: &ChainNetwork,
    id: &str,
    payment: &ChainEvmPayment,
    request_json: &str,
    wait: bool,
) -> Result<Settled, ApiError> {
    let network = chain.network.as_str();
    let payer = payment.payer.to_checksum();
    // A counterfactual wallet is deployed first, through its (allowed) factory.
    if matches!(payment.proof, SignerProof::CounterfactualWallet { .. }) {
        let wallet = address(&payment.payer);
        let deployed = match crate::chain::unwrap_erc6492(&payment.signature) {
            Some(wrapped) if chain.allows_factory(wrapped.factory) => {
                match chain.has_code_now(wallet).await {
                    Ok(true) => Ok(()),
                    Ok(false) => {
                        chain
                            .deploy_wallet(wrapped.factory, &wrapped.factory_calldata)
                            .await
                    }
                    Err(e) => Err(e),
                }
            }
            _ => Err(rpc::RpcFailure::Unreachable("no allowed factory".into())),
        };
        if let Err(e) = deployed {
            store::chain::forget(&state.pool, id).await?;
            return Ok(failed(
                network,
                refused(
                    Reason::InvalidExactEvmPayloadUndeployedSmartWallet,
                    format!("the payer's wallet could not be deployed: {e}"),
                    Some(&payer),
                ),
            ));
        }
    }
    let (hash, raw, signer_nonce) = match chain.sign(payment).await {
        Ok(signed) => signed,
        Err(failure) => {
            // Nothing was broadcast: the attempt is forgotten, so the same payment may be
            // submitted again once the chain answers.
            store::chain::forget(&state.pool, id).await?;
            let reason = match &failure {
                rpc::RpcFailure::Answer { .. } => decisions::reason_for_revert(
                    &failure.revert_text().unwrap_or_default(),
                    Reason::InvalidExactEvmTransactionSimulationFailed,
                ),
                rpc::RpcFailure::Unreachable(_) => Reason::UnexpectedSettleError,
            };
            return Ok(failed(
                network,
                refused(
                    reason,
                    format!("the transaction could not be prepared: {failure}"),
                    Some(&payer),
                ),
            ));
        }
    };
    let hash_text = format!("{hash:#x}");
    store::chain::signed(
        &state.pool,
        id,
        &hash_text,
        &format!("0x{}", hex::encode(&raw)),
        signer_nonce,
        now_i64(),
    )
    .await?;
    if let Err(failure) = broadcast(chain, &raw).await {
        if let rpc::RpcFailure::Answer { message, .. } = &failure {
            // The node refused the transaction (it will never be mined): nothing is on the
            // chain, the signer's nonce is read again, and the attempt is forgotten.
            tracing::warn!(network, error = %message, "the node refused a settlement transaction");
            chain.forget_nonce().await;
            store::chain::forget(&state.pool, id).await?;
            return Ok(failed(
                network,
                refused(
                    Reason::UnexpectedSettleError,
                    format!("the node refused the transaction: {message}"),
                    Some(&payer),
                ),
            ));
        }
        // Unknown whether it reached the node: pending; the reconciler broadcasts it again.
        return Ok(pending(network, &payer, Some(&hash_text)));
    }
    if !wait {
        return Ok(pending(network, &payer, Some(&hash_text)));
    }
    let deadline = tokio::time::Instant::now() + chain.receipt_timeout;
    let mut next_bump = tokio::time::Instant::now() + chain.bump_after;
    let (mut latest, mut latest_raw, mut hashes) = (hash_text.clone(), raw, vec![hash]);
    let mut delay = Duration::from_millis(20);
    loop {
        // Any of the transactions may be the one mined (a replacement, or the first after all).
        for candidate in hashes.iter().rev() {
            if let Ok(Some(receipt)) = chain.confirmed_receipt(*candidate).await {
                let mined = format!("{candidate:#x}");
                return conclude(
                    state,
                    network,
                    id,
                    &payer,
                    &mined,
                    receipt.status(),
                    request_json,
                )
                .await;
            }
        }
        let now = tokio::time::Instant::now();
        if now + delay > deadline {
            return Ok(pending(network, &payer, Some(&latest)));
        }
        if now >= next_bump && hashes.len() <= MAX_BUMPS {
            if let Some((hash, raw)) = bump(state, chain, id, &latest_raw, signer_nonce).await? {
                latest = format!("{hash:#x}");
                latest_raw = raw;
                hashes.push(hash);
            }
            next_bump = now + chain.bump_after;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}

/// Replacements of one transaction at most (each 12.5 % dearer).
const MAX_BUMPS: usize = 3;

/// Replaces the unmined transaction `raw` of attempt `id` with a dearer one (stored, then
/// broadcast). `None` when it could not be made; a broadcast the node refuses (the first was
/// mined meanwhile, say) is not an error: the receipts say what happened.
async fn bump(
    state: &AppState,
    chain: &ChainNetwork,
    id: &str,
    raw: &[u8],
    signer_nonce: u64,
) -> Result<Option<(B256, Vec<u8>)>, ApiError> {
    let (hash, replacement) = match chain.bump(raw).await {
        Ok(bumped) => bumped,
        Err(e) => {
            tracing::warn!(network = %chain.network, error = %e, "a stuck settlement could not be replaced");
            return Ok(None);
        }
    };
    store::chain::signed(
        &state.pool,
        id,
        &format!("{hash:#x}"),
        &format!("0x{}", hex::encode(&replacement)),
        signer_nonce,
        now_i64(),
    )
    .await?;
    if let Err(e) = broadcast(chain, &replacement).await {
        tracing::info!(network = %chain.network, error = %e, "a fee-bumped replacement was not accepted");
    }
    tracing::info!(network = %chain.network, attempt = id, transaction = %format!("{hash:#x}"), "replaced a stuck settlement transaction with higher fees");
    Ok(Some((hash, replacement)))
}

/// Ends attempt `id` by its receipt: settled (the payment recorded in the ledger, a
/// `payment.settled` event) or failed. Exactly once, whoever gets here first.
async fn conclude(
    state: &AppState,
    network: &str,
    id: &str,
    payer: &str,
    transaction: &str,
    success: bool,
    request_json: &str,
) -> Result<Settled, ApiError> {
    let request: FacilitatorRequest = serde_json::from_str(request_json)
        .map_err(|e| ApiError::Internal(format!("stored chain request: {e}")))?;
    let requirements = &request.payment_requirements;
    let pay_to = evm::Address::parse(requirements.pay_to())
        .map(|a| a.to_checksum())
        .unwrap_or_default();
    let payee = store::wallets::provider_wallet_by_address(&state.pool, &pay_to).await?;
    // A payer on chain has no ledger funds, but its payments are recorded against a wallet.
    let payer_wallet = store::wallets::evm_wallet(&state.pool, payer, now_i64()).await?;
    let now = now_i64();
    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
    if !success {
        let reason = Reason::InvalidExactEvmTransactionFailed;
        if store::chain::fail(&mut tx, id, Some(transaction), &reason, now).await? {
            if let Some((_, Some(provider))) = &payee {
                let data = json!({"network": network, "payer": payer, "transaction": transaction,
                    "reason": reason.as_str(), "message": "the settlement transaction reverted"});
                store::events::enqueue(
                    &mut tx,
                    &new_ordered_id("evt"),
                    provider,
                    "payment.refused",
                    &data.to_string(),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        return Ok(answer(
            network,
            payer,
            transaction,
            Err((reason, "the settlement transaction reverted".into())),
            true,
        ));
    }
    let response = answer(network, payer, transaction, Ok(()), true).response;
    if store::chain::settle(&mut tx, id, transaction, now).await? {
        let (payee_wallet, provider_id) = payee.unwrap_or_default();
        let amount = crate::base::ledger::to_db_amount(requirements.amount())?;
        let nonce =
            paywire_core::protocol::ExactPayload::from_object(request.payment_payload.payload())
                .map(|e| e.authorization.nonce.to_ascii_lowercase())
                .unwrap_or_default();
        // Kept as every settler keeps it: the v2 payload's or the v1 requirements' resource,
        // cut to MAX_KEPT_RESOURCE bytes.
        let resource = crate::settle::resource_url(&request);
        let resource = crate::settle::kept_resource(resource.as_deref());
        let asset = crate::base::ledger::asset_key(network, requirements.asset());
        let response_json =
            serde_json::to_string(&response).map_err(|e| ApiError::Internal(e.to_string()))?;
        store::payments::insert(
            &mut tx,
            &store::payments::NewPayment {
                id,
                network,
                payer,
                nonce: &nonce,
                payer_wallet: &payer_wallet,
                payee_wallet: &payee_wallet,
                provider_id: provider_id.as_deref(),
                asset: &asset,
                amount,
                fee: 0,
                net: amount,
                fingerprint: &fingerprint("POST", "/settle", request_json.as_bytes()).to_hex(),
                payment_identifier: None,
                terms_fingerprint: &paywire_core::settlement::terms_fingerprint(requirements)
                    .to_hex(),
                response: &response_json,
                resource,
            },
            now,
        )
        .await?;
        if let Some(provider) = &provider_id {
            let data = json!({"paymentId": id, "network": network, "payer": payer, "payerWallet": payer_wallet,
                "asset": asset, "amount": amount.to_string(), "fee": "0", "net": amount.to_string(),
                "resource": resource, "transaction": transaction});
            store::events::enqueue(
                &mut tx,
                &new_ordered_id("evt"),
                provider,
                "payment.settled",
                &data.to_string(),
                now,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Settled {
        response,
        known: true,
    })
}

/// Resolves attempts whose request stopped waiting: every `interval`, each attempt open for
/// longer than the receipt timeout is looked up by its transaction (concluded when mined,
/// broadcast again when not), or — recorded but never signed — checked against the token's
/// nonce state and submitted.
pub fn start_reconciler(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    if state.chains.is_empty() {
        return None;
    }
    let interval = state
        .chains
        .reconcile_interval
        .max(Duration::from_millis(10));
    Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = reconcile_once(&state).await {
                tracing::warn!(error = %e, "chain reconciliation failed; trying again");
            }
        }
    }))
}

/// One pass of the reconciler. Returns how many attempts it concluded.
pub async fn reconcile_once(state: &AppState) -> Result<usize, ApiError> {
    let mut concluded = 0;
    for network in state.chains.networks() {
        let Some(chain) = state.chains.get(&network).cloned() else {
            continue;
        };
        // An attempt is the request's own while it waits for its receipt; the reconciler takes
        // it once it has been unchanged for longer (at least a second: the store keeps seconds).
        let grace = i64::try_from(chain.receipt_timeout.as_secs().max(1)).unwrap_or(i64::MAX);
        let open = store::chain::open(&state.pool, now_i64().saturating_sub(grace), 100).await?;
        for stored in open.into_iter().filter(|s| s.network == network) {
            if reconcile_attempt(state, &chain, &stored).await? {
                concluded += 1;
            } else {
                store::chain::touch(&state.pool, &stored.attempt.payment_id, now_i64()).await?;
            }
        }
    }
    Ok(concluded)
}

async fn reconcile_attempt(
    state: &AppState,
    chain: &ChainNetwork,
    stored: &store::chain::StoredAttempt,
) -> Result<bool, ApiError> {
    let id = stored.attempt.payment_id.as_str();
    let request: FacilitatorRequest = serde_json::from_str(&stored.request)
        .map_err(|e| ApiError::Internal(format!("stored chain request: {e}")))?;
    let exact =
        paywire_core::protocol::ExactPayload::from_object(request.payment_payload.payload())?;
    let payer = evm::Address::parse(&exact.authorization.from)?.to_checksum();
    match (&stored.attempt.state, &stored.raw_tx) {
        (paywire_core::settlement::chain::AttemptState::Submitted { .. }, Some(raw)) => {
            let hashes = store::chain::transactions(&state.pool, id).await?;
            for text in &hashes {
                let hash: B256 = text
                    .parse()
                    .map_err(|_| ApiError::Internal(format!("stored transaction hash {text}")))?;
                match chain.confirmed_receipt(hash).await {
                    Ok(Some(receipt)) => {
                        conclude(
                            state,
                            &chain.network,
                            id,
                            &payer,
                            text,
                            receipt.status(),
                            &stored.request,
                        )
                        .await?;
                        return Ok(true);
                    }
                    Ok(None) => {}
                    Err(_) => return Ok(false),
                }
            }
            let raw = hex::decode(raw.trim_start_matches("0x"))
                .map_err(|_| ApiError::Internal("stored raw transaction".into()))?;
            // Unmined: replace it with a dearer one when it has waited long enough, else send
            // the same one again (a node that lost it gets it back; one that has it ignores it).
            let waited = u64::try_from(now_i64().saturating_sub(stored.updated_at)).unwrap_or(0);
            if waited >= chain.bump_after.as_secs().max(1) && hashes.len() <= MAX_BUMPS {
                let nonce = stored.signer_nonce.unwrap_or_default();
                bump(state, chain, id, &raw, nonce).await?;
            } else if let Err(e) = broadcast(chain, &raw).await {
                tracing::info!(network = %chain.network, error = %e, "broadcasting a pending settlement again");
            }
            Ok(false)
        }
        _ => {
            // Recorded, never signed: the request stopped before. Submit it now, unless the
            // token says its authorization is used (then it was not ours to settle).
            // The time window is the chain's to judge now: the rest is verified as at its start.
            let Ok(payment) = evm::verify_payment_for_chain(
                &request.payment_payload,
                &request.payment_requirements,
                exact.authorization.valid_after,
            ) else {
                let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
                store::chain::fail(&mut tx, id, None, &Reason::InvalidPayload, now_i64()).await?;
                tx.commit().await?;
                return Ok(true);
            };
            match chain.pre_flight(&payment).await {
                Ok(pre_flight) if pre_flight.nonce_used => {
                    let mut tx = state.pool.begin_with(state.dialect.begin_write()).await?;
                    store::chain::fail(
                        &mut tx,
                        id,
                        None,
                        &Reason::InvalidExactEvmNonceAlreadyUsed,
                        now_i64(),
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }
                Ok(_) => {
                    drive(state, chain, id, &payment, &stored.request, false).await?;
                    Ok(false)
                }
                Err(_) => Ok(false),
            }
        }
    }
}
