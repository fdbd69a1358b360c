//! Settlement on a real EVM chain: anvil (from npm, `tests/chain`), the EIP-3009 test token and
//! the ERC-1271 wallet compiled from `contracts/` and deployed here, and the server settling
//! through JSON-RPC with its own key — on SQLite and PostgreSQL.
//!
//! Cases: a settlement moves balances on chain and is recorded once (a replay answers the same
//! transaction); a used nonce, a short balance, an expired authorization and a wrong EIP-712
//! domain are refused before anything is broadcast; payments from many payers settle
//! concurrently (one signer, no nonce collisions); a receipt that does not come in time answers
//! `settlement_pending` and the reconciler settles it once the chain mines; a contract wallet
//! pays (ERC-1271); RPC URLs that refuse connections, stall or serve another chain are failed
//! over; Base Sepolia configured as a chain settles there, not on the devnet ledger. Without
//! anvil installed the tests say so and pass, unless `PAYWIRE_REQUIRE_CHAIN` is set (as
//! `scripts/test.sh` sets it).

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolValue};
use common::{Backend, TestApp};
use paywire_core::protocol::evm::{self, PrivateKey};
use paywire_core::protocol::{ExactPayload, PaymentRequired};
use paywire_server::app::settings::SettingsArgs;
use serde_json::{json, Value};

on_both_databases!(
    a_settlement_moves_balances_on_chain_once,
    what_the_chain_would_refuse_is_refused_before_broadcasting,
    many_payers_settle_concurrently_through_one_signer,
    a_late_receipt_is_pending_then_reconciled,
    a_contract_wallet_pays_through_erc1271,
    a_stuck_transaction_is_replaced_with_higher_fees,
    a_counterfactual_wallet_is_deployed_and_pays_through_erc6492,
    forged_contract_wallet_signatures_cost_bounded_rpc_calls,
    a_devnet_network_configured_as_a_chain_settles_on_the_chain,
);

/// Anvil's first two development accounts: the token's deployer, and the facilitator.
const DEPLOYER_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const FACILITATOR_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const NETWORK: &str = "eip155:31337";
const TOKEN_NAME: &str = "USD Coin";
const TOKEN_VERSION: &str = "2";

alloy::sol! {
    interface TestToken {
        function mint(address to, uint256 value) external;
        function balanceOf(address owner) external view returns (uint256);
    }

    interface WalletFactory {
        function deploy(address owner, bytes32 salt) external returns (address wallet);
        function walletAddress(address owner, bytes32 salt) external view returns (address);
    }
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running anvil, killed on drop.
struct Anvil {
    child: Child,
    url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts anvil (`extra` arguments added), or `None` when it is not installed and not
/// required.
async fn anvil(extra: &[&str]) -> Option<Anvil> {
    let binary = repository().join("tests/chain/node_modules/.bin/anvil");
    if !binary.exists() {
        assert!(
            std::env::var_os("PAYWIRE_REQUIRE_CHAIN").is_none(),
            "anvil is not installed: run `npm ci` in tests/chain"
        );
        eprintln!("SKIPPED: anvil is not installed (npm ci in tests/chain)");
        return None;
    }
    let port = free_port();
    let child = Command::new(binary)
        .args(["--port", &port.to_string(), "--silent"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("anvil starts");
    let anvil = Anvil {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    // Ready when it answers eth_chainId (bounded: 20 s).
    let provider = ProviderBuilder::new().connect_http(anvil.url.parse().unwrap());
    for _ in 0..400 {
        if provider.get_chain_id().await.is_ok() {
            return Some(anvil);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("anvil did not answer on {}", anvil.url);
}

/// The chain as the tests drive it: the deployer's provider and the token.
struct Chain {
    anvil: Anvil,
    token: Address,
    /// `eip155:<anvil's chain id>` ([`NETWORK`] unless started with `--chain-id`).
    network: String,
}

fn bytecode(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(repository().join(format!("contracts/out/{name}.bin")))
        .expect("contracts/out is built by scripts/build-contracts.sh");
    hex::decode(text.trim()).unwrap()
}

impl Chain {
    async fn start(extra: &[&str]) -> Option<Chain> {
        let anvil = anvil(extra).await?;
        let id = ProviderBuilder::new()
            .connect_http(anvil.url.parse().unwrap())
            .get_chain_id()
            .await
            .unwrap();
        let mut chain = Chain {
            anvil,
            token: Address::ZERO,
            network: format!("eip155:{id}"),
        };
        let mut code = bytecode("PaywireTestUSD");
        code.extend((TOKEN_NAME.to_string(), TOKEN_VERSION.to_string()).abi_encode_params());
        chain.token = chain.deploy(code).await;
        Some(chain)
    }

    fn deployer(&self) -> impl Provider {
        let signer: PrivateKeySigner = DEPLOYER_KEY.parse().unwrap();
        ProviderBuilder::new()
            .wallet(signer)
            .connect_http(self.anvil.url.parse().unwrap())
    }

    async fn deploy(&self, code: Vec<u8>) -> Address {
        let request = TransactionRequest::default().with_deploy_code(code);
        let receipt = self
            .deployer()
            .send_transaction(request)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        receipt.contract_address.expect("a deployment")
    }

    /// Turns automatic mining off (blocks come only from `evm_mine`); returns a client to
    /// mine with.
    async fn stop_mining(&self) -> impl Provider {
        let node = ProviderBuilder::new().connect_http(self.anvil.url.parse().unwrap());
        let _: Value = node
            .raw_request("evm_setAutomine".into(), (false,))
            .await
            .unwrap();
        node
    }

    async fn mint(&self, to: Address, value: u64) {
        let call = TestToken::mintCall {
            to,
            value: U256::from(value),
        };
        let request = TransactionRequest::default()
            .with_to(self.token)
            .with_input(call.abi_encode());
        let receipt = self
            .deployer()
            .send_transaction(request)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
    }

    async fn balance(&self, of: Address) -> u64 {
        let call = TestToken::balanceOfCall { owner: of };
        let request = TransactionRequest::default()
            .with_to(self.token)
            .with_input(call.abi_encode());
        let answer: Bytes = self.deployer().call(request).await.unwrap();
        let balance = TestToken::balanceOfCall::abi_decode_returns(&answer).unwrap();
        u64::try_from(balance).unwrap()
    }

    /// Server arguments settling this chain through `urls` (the chain's own URL when empty).
    fn args(&self, urls: &[String], receipt_timeout_ms: u64) -> SettingsArgs {
        let key_file = std::env::temp_dir().join(format!(
            "paywire-chain-key-{}",
            hex::encode(common::random8())
        ));
        std::fs::write(&key_file, FACILITATOR_KEY).unwrap();
        let urls = if urls.is_empty() {
            self.anvil.url.clone()
        } else {
            urls.join(",")
        };
        SettingsArgs {
            chains: vec![format!("{}={urls}", self.network)],
            chain_signer_key_file: Some(key_file),
            chain_receipt_timeout_ms: Some(receipt_timeout_ms),
            chain_rpc_timeout_ms: Some(500),
            chain_bump_after_ms: Some(60_000),
            chain_tokens: vec![format!("{}={}", self.network, self.token.to_checksum(None))],
            ..Default::default()
        }
    }

    fn requirements(&self, pay_to: &str, amount: u128) -> PaymentRequired {
        PaymentRequired::from_json_value(json!({"x402Version": 2,
            "resource": {"url": "https://api.example.com/v1/weather"},
            "accepts": [{"scheme": "exact", "network": self.network, "amount": amount.to_string(),
                "asset": self.token.to_checksum(None), "payTo": pay_to, "maxTimeoutSeconds": 60,
                "extra": {"name": TOKEN_NAME, "version": TOKEN_VERSION}}]}))
        .unwrap()
    }
}

/// A facilitator request paying `amount` to `pay_to` from `key`, with a fresh nonce.
fn payment(chain: &Chain, key: &PrivateKey, pay_to: &str, amount: u128) -> Value {
    let required = chain.requirements(pay_to, amount);
    let requirements = required.requirements(0).unwrap();
    let exact = evm::sign_payment(
        &requirements,
        key,
        &common::nonce(1),
        paywire_server::base::util::now(),
    )
    .unwrap();
    request(&required, exact)
}

fn request(required: &PaymentRequired, exact: ExactPayload) -> Value {
    let payload = required.payment(0, exact.to_object()).unwrap();
    json!({"x402Version": 2, "paymentPayload": payload, "paymentRequirements": required.requirements(0).unwrap()})
}

fn new_key() -> PrivateKey {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    PrivateKey::from_bytes(&bytes).unwrap()
}

fn alloy_address(key: &PrivateKey) -> Address {
    Address::from(*key.address().as_bytes())
}

/// Runs the reconciler until a pass concludes something (it takes attempts unchanged for a
/// second or more: bounded, 4 s); returns what it concluded.
async fn reconcile_until_one_concludes(app: &TestApp) -> usize {
    for _ in 0..40 {
        let concluded = paywire_server::settle::chain::reconcile_once(&app.state)
            .await
            .unwrap();
        if concluded > 0 {
            return concluded;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    0
}

/// A provider with an EVM payout address, and that address.
async fn provider(app: &TestApp) -> (common::Party, Address) {
    let payee = alloy_address(&new_key());
    let party = app.provider(Some(&payee.to_checksum(None))).await;
    (party, payee)
}

async fn a_settlement_moves_balances_on_chain_once(backend: Backend) {
    let Some(chain) = Chain::start(&[]).await else {
        return;
    };
    let app = TestApp::with_args(backend, chain.args(&[], 10_000)).await;
    let supported = app
        .call(axum::http::Method::GET, "/supported", None, None)
        .await
        .1;
    let facilitator = FACILITATOR_KEY
        .parse::<PrivateKeySigner>()
        .unwrap()
        .address();
    assert_eq!(
        supported["signers"][NETWORK],
        json!([facilitator.to_checksum(None)]),
        "{supported}"
    );
    assert!(supported["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["network"] == NETWORK && k["x402Version"] == 2));
    let (provider, payee) = provider(&app).await;
    let payer = new_key();
    chain.mint(alloy_address(&payer), 1_000_000).await;
    let body = payment(&chain, &payer, &payee.to_checksum(None), 10_000);
    assert_eq!(app.verify(&body).await["isValid"], true);
    let settled = app.settle(&body).await;
    assert_eq!(settled["success"], true, "{settled}");
    let transaction = settled["transaction"].as_str().unwrap().to_string();
    assert!(
        transaction.starts_with("0x") && transaction.len() == 66,
        "{transaction}"
    );
    assert_eq!(chain.balance(alloy_address(&payer)).await, 990_000);
    assert_eq!(chain.balance(payee).await, 10_000);
    // The same payment again: the first answer, no second transfer.
    let again = app.settle(&body).await;
    assert_eq!(
        (again["success"].clone(), again["transaction"].clone()),
        (json!(true), json!(transaction))
    );
    assert_eq!(chain.balance(payee).await, 10_000);
    // The ledger recorded it once, as the provider's revenue, with an event.
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 1);
    let (status, listed) = app
        .call(
            axum::http::Method::GET,
            "/v1/payments",
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::OK, "{listed}");
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_outbox WHERE event = 'payment.settled'")
            .await,
        1
    );
    app.finish().await;
}

async fn what_the_chain_would_refuse_is_refused_before_broadcasting(backend: Backend) {
    let Some(chain) = Chain::start(&[]).await else {
        return;
    };
    let app = TestApp::with_args(backend, chain.args(&[], 10_000)).await;
    let (_, payee) = provider(&app).await;
    let pay_to = payee.to_checksum(None);
    let rich = new_key();
    chain.mint(alloy_address(&rich), 1_000_000).await;
    // No tokens at all.
    let poor = new_key();
    let refused = app.settle(&payment(&chain, &poor, &pay_to, 10_000)).await;
    assert_eq!(refused["errorReason"], "insufficient_funds", "{refused}");
    // A nonce used on chain by another payment of the same payer.
    let first = payment(&chain, &rich, &pay_to, 10_000);
    assert_eq!(app.settle(&first).await["success"], true);
    let required = chain.requirements(&pay_to, 20_000);
    let exact =
        ExactPayload::from_object(first["paymentPayload"]["payload"].as_object().unwrap()).unwrap();
    let domain = evm::domain_for(&required.requirements(0).unwrap()).unwrap();
    let mut authorization = evm::build_authorization(
        &required.requirements(0).unwrap(),
        rich.address(),
        &<[u8; 32]>::try_from(
            hex::decode(exact.authorization.nonce.trim_start_matches("0x")).unwrap(),
        )
        .unwrap(),
        paywire_server::base::util::now(),
    )
    .unwrap();
    authorization.value = paywire_core::money::Amount::new(20_000);
    let signature = rich.sign_digest(&domain.signing_digest(&authorization));
    let exact = evm::payload_of(&authorization, signature.to_hex());
    let reused = app.settle(&request(&required, exact)).await;
    assert_eq!(
        reused["errorReason"], "invalid_exact_evm_nonce_already_used",
        "{reused}"
    );
    assert_eq!(
        reused["transaction"], "",
        "the first payment's transaction is not revealed"
    );
    // Expired: refused by the checks before the chain is asked.
    let required = chain.requirements(&pay_to, 10_000);
    let long_ago = paywire_server::base::util::now() - 3_600;
    let expired = evm::sign_payment(
        &required.requirements(0).unwrap(),
        &rich,
        &common::nonce(2),
        long_ago,
    )
    .unwrap();
    let refused = app.settle(&request(&required, expired)).await;
    assert_eq!(
        refused["errorReason"], "invalid_exact_evm_payload_authorization_valid_before",
        "{refused}"
    );
    // Signed for a token domain the contract does not have.
    let mut wrong = chain.requirements(&pay_to, 10_000);
    let mut value = serde_json::to_value(&wrong).unwrap();
    value["accepts"][0]["extra"]["name"] = json!("Not USDC");
    wrong = PaymentRequired::from_json_value(value).unwrap();
    let signed = evm::sign_payment(
        &wrong.requirements(0).unwrap(),
        &rich,
        &common::nonce(3),
        paywire_server::base::util::now(),
    )
    .unwrap();
    let refused = app.settle(&request(&wrong, signed)).await;
    assert_eq!(
        refused["errorReason"], "invalid_exact_evm_token_name_mismatch",
        "{refused}"
    );
    // A token this facilitator was not told to settle (a copy of the same contract): refused
    // before the chain is asked, so a token anyone deploys cannot spend the signer's gas.
    let mut code = bytecode("PaywireTestUSD");
    code.extend((TOKEN_NAME.to_string(), TOKEN_VERSION.to_string()).abi_encode_params());
    let other_token = chain.deploy(code).await;
    let mut value = serde_json::to_value(chain.requirements(&pay_to, 10_000)).unwrap();
    value["accepts"][0]["asset"] = json!(other_token.to_checksum(None));
    let unlisted = PaymentRequired::from_json_value(value).unwrap();
    let signed = evm::sign_payment(
        &unlisted.requirements(0).unwrap(),
        &rich,
        &common::nonce(4),
        paywire_server::base::util::now(),
    )
    .unwrap();
    let refused = app.settle(&request(&unlisted, signed)).await;
    assert_eq!(
        refused["errorReason"], "invalid_payment_requirements",
        "{refused}"
    );
    // Only the one good payment moved tokens or was recorded.
    assert_eq!(chain.balance(payee).await, 10_000);
    assert_eq!(app.count("SELECT COUNT(*) FROM chain_attempts").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 1);
    app.finish().await;
}

async fn many_payers_settle_concurrently_through_one_signer(backend: Backend) {
    let Some(chain) = Chain::start(&[]).await else {
        return;
    };
    let app = TestApp::with_args(backend, chain.args(&[], 20_000)).await;
    let (_, payee) = provider(&app).await;
    let pay_to = payee.to_checksum(None);
    let payers: Vec<PrivateKey> = (0..12).map(|_| new_key()).collect();
    for payer in &payers {
        chain.mint(alloy_address(payer), 50_000).await;
    }
    let tasks: Vec<_> = payers
        .iter()
        .map(|payer| {
            let body = payment(&chain, payer, &pay_to, 10_000);
            let router = app.router.clone();
            tokio::spawn(async move {
                use http_body_util::BodyExt;
                use tower::ServiceExt;
                let request = axum::http::Request::post("/settle")
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(serde_json::to_vec(&body).unwrap()))
                    .unwrap();
                let response = router.oneshot(request).await.unwrap();
                serde_json::from_slice::<Value>(
                    &response.into_body().collect().await.unwrap().to_bytes(),
                )
                .unwrap()
            })
        })
        .collect();
    let mut transactions = std::collections::HashSet::new();
    for task in tasks {
        let settled = task.await.unwrap();
        assert_eq!(settled["success"], true, "{settled}");
        transactions.insert(settled["transaction"].as_str().unwrap().to_string());
    }
    assert_eq!(transactions.len(), 12, "one transaction each");
    assert_eq!(chain.balance(payee).await, 120_000);
    for payer in &payers {
        assert_eq!(chain.balance(alloy_address(payer)).await, 40_000);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 12);
    app.finish().await;
}

async fn a_late_receipt_is_pending_then_reconciled(backend: Backend) {
    let Some(chain) = Chain::start(&[]).await else {
        return;
    };
    let app = TestApp::with_args(backend, chain.args(&[], 200)).await;
    let (_, payee) = provider(&app).await;
    let payer = new_key();
    chain.mint(alloy_address(&payer), 100_000).await;
    // From now on nothing is mined until the test mines a block: the settlement's
    // transaction waits in the pool past the receipt timeout.
    let node = chain.stop_mining().await;
    let body = payment(&chain, &payer, &payee.to_checksum(None), 10_000);
    let pending = app.settle(&body).await;
    assert_eq!(pending["errorReason"], "settlement_pending", "{pending}");
    let transaction = pending["transaction"].as_str().unwrap().to_string();
    assert_eq!(
        transaction.len(),
        66,
        "the hash is given, so the payer can follow it"
    );
    // A retry while it is pending is pending too, with the same transaction (nothing new sent).
    let retry = app.settle(&body).await;
    assert_eq!(
        (retry["errorReason"].clone(), retry["transaction"].clone()),
        (json!("settlement_pending"), json!(transaction))
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 0);
    // Nothing is concluded before the chain mines; then the reconciler settles it, once.
    let _: Value = node.raw_request("evm_mine".into(), ()).await.unwrap();
    // The reconciler looks at attempts unchanged for a second or more (the store keeps whole
    // seconds): try until it concludes, boundedly.
    let concluded = reconcile_until_one_concludes(&app).await;
    assert_eq!(concluded, 1);
    assert_eq!(
        paywire_server::settle::chain::reconcile_once(&app.state)
            .await
            .unwrap(),
        0,
        "concluded once"
    );
    assert_eq!(chain.balance(payee).await, 10_000);
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_outbox WHERE event = 'payment.settled'")
            .await,
        1,
        "the provider hears of it when it resolves"
    );
    let settled = app.settle(&body).await;
    assert_eq!(
        (settled["success"].clone(), settled["transaction"].clone()),
        (json!(true), json!(transaction))
    );
    app.finish().await;
}

async fn a_contract_wallet_pays_through_erc1271(backend: Backend) {
    let Some(chain) = Chain::start(&[]).await else {
        return;
    };
    let app = TestApp::with_args(backend, chain.args(&[], 10_000)).await;
    let (_, payee) = provider(&app).await;
    let owner = new_key();
    let mut code = bytecode("PaywireTestWallet");
    code.extend(alloy_address(&owner).abi_encode());
    let wallet = chain.deploy(code).await;
    chain.mint(wallet, 100_000).await;
    let required = chain.requirements(&payee.to_checksum(None), 10_000);
    let requirements = required.requirements(0).unwrap();
    let domain = evm::domain_for(&requirements).unwrap();
    let from = evm::Address::parse(&wallet.to_checksum(None)).unwrap();
    let authorization = evm::build_authorization(
        &requirements,
        from,
        &common::nonce(7),
        paywire_server::base::util::now(),
    )
    .unwrap();
    // The wallet's owner signs; the wallet vouches for it on chain.
    let signature = owner.sign_digest(&domain.signing_digest(&authorization));
    let exact = evm::payload_of(&authorization, signature.to_hex());
    let body = request(&required, exact.clone());
    assert_eq!(app.verify(&body).await["isValid"], true);
    let settled = app.settle(&body).await;
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(settled["payer"], wallet.to_checksum(None));
    assert_eq!(chain.balance(wallet).await, 90_000);
    assert_eq!(chain.balance(payee).await, 10_000);
    // Someone else's signature is not the wallet's.
    let stranger = new_key();
    let mut forged = exact;
    forged.authorization.nonce = format!("0x{}", hex::encode(common::nonce(8)));
    let mut forged_auth = authorization;
    forged_auth.nonce = common::nonce(8);
    forged.authorization.nonce = format!("0x{}", hex::encode(forged_auth.nonce));
    forged.signature = stranger
        .sign_digest(&domain.signing_digest(&forged_auth))
        .to_hex();
    let refused = app.settle(&request(&required, forged)).await;
    assert_eq!(
        refused["errorReason"], "invalid_exact_evm_signature",
        "{refused}"
    );
    assert_eq!(chain.balance(wallet).await, 90_000);
    app.finish().await;
}

/// RPC URLs that refuse connections, stall, or serve another chain are passed over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rpc_urls_are_failed_over() {
    let Some(chain) = Chain::start(&[]).await else {
        return;
    };
    // Refuses: a port nobody listens on.
    let refusing = format!("http://127.0.0.1:{}", free_port());
    // Stalls: accepts and never answers.
    let stalling_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stalling = format!("http://{}", stalling_listener.local_addr().unwrap());
    let stalled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stall = tokio::spawn({
        let stalled = stalled.clone();
        async move {
            let mut held = vec![];
            loop {
                if let Ok((socket, _)) = stalling_listener.accept().await {
                    stalled.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    held.push(socket);
                }
            }
        }
    });
    // Lies: answers every call as another chain would, with nonsense.
    let lying_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lying = format!("http://{}", lying_listener.local_addr().unwrap());
    let lies = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let liar = axum::Router::new().route(
        "/",
        axum::routing::post({
            let lies = lies.clone();
            move |axum::Json(call): axum::Json<Value>| async move {
                lies.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                axum::Json(json!({"jsonrpc": "2.0", "id": call["id"], "result": "0x1"}))
            }
        }),
    );
    let lie = tokio::spawn(async move { axum::serve(lying_listener, liar).await.unwrap() });
    let urls = vec![refusing, stalling, lying, chain.anvil.url.clone()];
    let app = TestApp::with_args(Backend::Sqlite, chain.args(&urls, 10_000)).await;
    let (_, payee) = provider(&app).await;
    let payer = new_key();
    chain.mint(alloy_address(&payer), 100_000).await;
    let settled = app
        .settle(&payment(&chain, &payer, &payee.to_checksum(None), 10_000))
        .await;
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(chain.balance(payee).await, 10_000);
    let (stalled_before, lies_before) = (
        stalled.load(std::sync::atomic::Ordering::SeqCst),
        lies.load(std::sync::atomic::Ordering::SeqCst),
    );
    assert!(
        stalled_before > 0 && lies_before > 0,
        "the bad URLs were tried first"
    );
    // Their breakers are open now: the next payment goes straight to the good URL.
    let payer = new_key();
    chain.mint(alloy_address(&payer), 100_000).await;
    let settled = app
        .settle(&payment(&chain, &payer, &payee.to_checksum(None), 10_000))
        .await;
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(
        (
            stalled.load(std::sync::atomic::Ordering::SeqCst),
            lies.load(std::sync::atomic::Ordering::SeqCst)
        ),
        (stalled_before, lies_before),
        "no call went to a URL whose breaker is open"
    );
    stall.abort();
    lie.abort();
    app.finish().await;
}

async fn a_stuck_transaction_is_replaced_with_higher_fees(backend: Backend) {
    let Some(chain) = Chain::start(&[]).await else {
        return;
    };
    let mut args = chain.args(&[], 1_500);
    args.chain_bump_after_ms = Some(300);
    let app = TestApp::with_args(backend, args).await;
    let (_, payee) = provider(&app).await;
    let payer = new_key();
    chain.mint(alloy_address(&payer), 100_000).await;
    // Nothing is mined from now on: the transaction is stuck in the pool.
    let node = chain.stop_mining().await;
    let body = payment(&chain, &payer, &payee.to_checksum(None), 10_000);
    let pending = app.settle(&body).await;
    assert_eq!(pending["errorReason"], "settlement_pending", "{pending}");
    let latest = pending["transaction"].as_str().unwrap().to_string();
    let signed = app.count("SELECT COUNT(*) FROM chain_transactions").await;
    assert!(
        signed >= 2,
        "replaced at least once while waiting ({signed} transactions)"
    );
    // The pool holds only the replacement: mining settles it, not the first.
    let _: Value = node.raw_request("evm_mine".into(), ()).await.unwrap();
    let concluded = reconcile_until_one_concludes(&app).await;
    assert_eq!(concluded, 1);
    let settled = app.settle(&body).await;
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(
        settled["transaction"],
        json!(latest),
        "the replacement was mined"
    );
    assert_eq!(
        chain.balance(payee).await,
        10_000,
        "paid once, whatever was replaced"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 1);
    app.finish().await;
}

async fn a_counterfactual_wallet_is_deployed_and_pays_through_erc6492(backend: Backend) {
    let Some(chain) = Chain::start(&[]).await else {
        return;
    };
    let factory = chain.deploy(bytecode("PaywireTestWalletFactory")).await;
    let owner = new_key();
    let salt = alloy::primitives::B256::repeat_byte(7);
    let call = WalletFactory::walletAddressCall {
        owner: alloy_address(&owner),
        salt,
    };
    let answer: Bytes = chain
        .deployer()
        .call(
            TransactionRequest::default()
                .with_to(factory)
                .with_input(call.abi_encode()),
        )
        .await
        .unwrap();
    let wallet = WalletFactory::walletAddressCall::abi_decode_returns(&answer).unwrap();
    // Paid into before it exists.
    chain.mint(wallet, 100_000).await;
    let mut args = chain.args(&[], 10_000);
    args.chain_wallet_factories = vec![factory.to_checksum(None)];
    let app = TestApp::with_args(backend, args).await;
    let (_, payee) = provider(&app).await;
    let required = chain.requirements(&payee.to_checksum(None), 10_000);
    let requirements = required.requirements(0).unwrap();
    let domain = evm::domain_for(&requirements).unwrap();
    let from = evm::Address::parse(&wallet.to_checksum(None)).unwrap();
    let sign = |n: u64, factory: Address, key: &PrivateKey| {
        let authorization = evm::build_authorization(
            &requirements,
            from,
            &common::nonce(n),
            paywire_server::base::util::now(),
        )
        .unwrap();
        let inner = key.sign_digest(&domain.signing_digest(&authorization));
        let deploy = WalletFactory::deployCall {
            owner: alloy_address(&owner),
            salt,
        };
        let mut signature = (
            factory,
            Bytes::from(deploy.abi_encode()),
            Bytes::from(inner.to_bytes().to_vec()),
        )
            .abi_encode_params();
        signature.extend(evm::ERC6492_MAGIC);
        request(
            &required,
            evm::payload_of(&authorization, format!("0x{}", hex::encode(signature))),
        )
    };
    // A factory this facilitator does not call is refused, and nothing is deployed.
    let stranger_factory = alloy_address(&new_key());
    let refused = app.settle(&sign(20, stranger_factory, &owner)).await;
    assert_eq!(
        refused["errorReason"], "invalid_exact_evm_eip6492_factory_not_allowed",
        "{refused}"
    );
    // Someone else's inner signature fails ERC-6492 validation (run deployless), and nothing
    // is deployed.
    let forged = app.settle(&sign(23, factory, &new_key())).await;
    assert_eq!(
        forged["errorReason"], "invalid_exact_evm_signature",
        "{forged}"
    );
    let code: Bytes = chain.deployer().get_code_at(wallet).await.unwrap();
    assert!(code.is_empty(), "a simulation deploys nothing");
    let body = sign(21, factory, &owner);
    assert_eq!(app.verify(&body).await["isValid"], true);
    let settled = app.settle(&body).await;
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(settled["payer"], wallet.to_checksum(None));
    let code: Bytes = chain.deployer().get_code_at(wallet).await.unwrap();
    assert!(!code.is_empty(), "the wallet was deployed by its factory");
    assert_eq!(chain.balance(wallet).await, 90_000);
    assert_eq!(chain.balance(payee).await, 10_000);
    // Deployed now: its next 6492-wrapped payment needs no deployment and still settles.
    let again = app.settle(&sign(22, factory, &owner)).await;
    assert_eq!(again["success"], true, "{again}");
    assert_eq!(chain.balance(payee).await, 20_000);
    app.finish().await;
}

/// A JSON-RPC proxy in front of anvil that counts calls by method (and `eth_call` by
/// selector) and can be taken down: while down it answers 503 to everything.
struct Proxy {
    url: String,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    down_after_broadcast: std::sync::Arc<std::sync::atomic::AtomicBool>,
    calls: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        use std::sync::atomic::Ordering;
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let down_after_broadcast = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let calls = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
        let client = reqwest::Client::new();
        let upstream = upstream.to_string();
        let router = axum::Router::new().route(
            "/",
            axum::routing::post({
                let (down, after, calls) =
                    (down.clone(), down_after_broadcast.clone(), calls.clone());
                move |axum::Json(call): axum::Json<Value>| {
                    let (down, after, calls, client, upstream) = (
                        down.clone(),
                        after.clone(),
                        calls.clone(),
                        client.clone(),
                        upstream.clone(),
                    );
                    async move {
                        use axum::response::IntoResponse;
                        if down.load(Ordering::SeqCst) {
                            return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down")
                                .into_response();
                        }
                        let method = call["method"].as_str().unwrap_or_default().to_string();
                        let key = match (
                            method.as_str(),
                            call["params"][0]["input"]
                                .as_str()
                                .or(call["params"][0]["data"].as_str()),
                        ) {
                            ("eth_call", Some(data)) if data.len() >= 10 => {
                                format!("eth_call:{}", &data[..10])
                            }
                            _ => method.clone(),
                        };
                        *calls.lock().unwrap().entry(key).or_insert(0) += 1;
                        let answer: Value = client
                            .post(&upstream)
                            .json(&call)
                            .send()
                            .await
                            .unwrap()
                            .json()
                            .await
                            .unwrap();
                        if method == "eth_sendRawTransaction" && after.load(Ordering::SeqCst) {
                            down.store(true, Ordering::SeqCst);
                        }
                        axum::Json(answer).into_response()
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Proxy {
            url,
            down,
            down_after_broadcast,
            calls,
            task,
        }
    }

    fn count(&self, key: &str) -> usize {
        self.calls.lock().unwrap().get(key).copied().unwrap_or(0)
    }
}

/// The RPC goes down right after the transaction is broadcast: `/settle` answers pending with
/// the hash; once the RPC is back the reconciler settles it. Immutable answers (the chain id,
/// the token's domain separator) were asked once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_down_after_broadcast_is_pending_then_reconciled() {
    use std::sync::atomic::Ordering;
    let Some(chain) = Chain::start(&[]).await else {
        return;
    };
    let proxy = Proxy::start(&chain.anvil.url).await;
    let app = TestApp::with_args(
        Backend::Sqlite,
        chain.args(std::slice::from_ref(&proxy.url), 1_000),
    )
    .await;
    let (_, payee) = provider(&app).await;
    let payer = new_key();
    chain.mint(alloy_address(&payer), 100_000).await;
    // One payment while all is well.
    let first = app
        .settle(&payment(&chain, &payer, &payee.to_checksum(None), 10_000))
        .await;
    assert_eq!(first["success"], true, "{first}");
    // The next one loses the RPC right after its broadcast.
    proxy.down_after_broadcast.store(true, Ordering::SeqCst);
    let body = payment(&chain, &payer, &payee.to_checksum(None), 10_000);
    let pending = app.settle(&body).await;
    assert_eq!(pending["errorReason"], "settlement_pending", "{pending}");
    let transaction = pending["transaction"].as_str().unwrap().to_string();
    assert!(proxy.down.load(Ordering::SeqCst));
    // Down, the reconciler concludes nothing; back up, it settles the payment once.
    assert_eq!(
        paywire_server::settle::chain::reconcile_once(&app.state)
            .await
            .unwrap(),
        0
    );
    proxy.down_after_broadcast.store(false, Ordering::SeqCst);
    proxy.down.store(false, Ordering::SeqCst);
    let concluded = reconcile_until_one_concludes(&app).await;
    assert_eq!(concluded, 1);
    let settled = app.settle(&body).await;
    assert_eq!(
        (settled["success"].clone(), settled["transaction"].clone()),
        (json!(true), json!(transaction))
    );
    assert_eq!(chain.balance(payee).await, 20_000);
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 2);
    assert_eq!(
        proxy.count("eth_chainId"),
        1,
        "the chain id is asked once per URL"
    );
    assert_eq!(
        proxy.count("eth_call:0x3644e515"),
        1,
        "the domain separator is asked once per token"
    );
    proxy.task.abort();
    app.finish().await;
}

/// A body anyone can write — a signature that is not `from`'s — is left to the chain as a
/// contract wallet's, and asking costs RPC calls. They stay bounded: a signature past 4 KB is
/// refused with no call at all (a 30 KB one was forwarded in a 60 KB `eth_call`); a `from`
/// without code is looked up once, not once per request; and such attempts are counted per
/// claimed payer and per client before any call, answered 429 past their burst.
async fn forged_contract_wallet_signatures_cost_bounded_rpc_calls(backend: Backend) {
    let Some(chain) = Chain::start(&[]).await else {
        return;
    };
    let proxy = Proxy::start(&chain.anvil.url).await;
    let args = SettingsArgs {
        chain_vouch_per_second_per_payer: Some(1),
        chain_vouch_per_second_per_client: Some(3),
        ..chain.args(std::slice::from_ref(&proxy.url), 10_000)
    };
    let app = TestApp::with_args(backend, args).await;
    let (_, payee) = provider(&app).await;
    let required = chain.requirements(&payee.to_checksum(None), 10_000);
    let requirements = required.requirements(0).unwrap();
    let domain = evm::domain_for(&requirements).unwrap();
    let stranger = new_key();
    // A payment "from" `victim`, signed by the stranger (or carrying `signature` as given).
    let forged = |victim: &PrivateKey, n: u64, signature: Option<String>| {
        let from = victim.address();
        let authorization = evm::build_authorization(
            &requirements,
            from,
            &common::nonce(n),
            paywire_server::base::util::now(),
        )
        .unwrap();
        let signature = signature.unwrap_or_else(|| {
            stranger
                .sign_digest(&domain.signing_digest(&authorization))
                .to_hex()
        });
        request(&required, evm::payload_of(&authorization, signature))
    };
    let calls = |proxy: &Proxy| {
        (
            proxy.count("eth_getCode"),
            proxy.count("eth_call:0x1626ba7e"),
        )
    };
    let before = calls(&proxy);
    let victim = new_key();
    let huge = forged(&victim, 1, Some(format!("0x{}", "ab".repeat(30 * 1024))));
    let (status, refused) = app
        .call(axum::http::Method::POST, "/verify", None, Some(huge))
        .await;
    assert_eq!(
        (status.as_u16(), refused["invalidReason"].as_str()),
        (200, Some("invalid_exact_evm_signature")),
        "{refused}"
    );
    assert_eq!(calls(&proxy), before, "a 30 KB signature costs no RPC call");
    // One claimed payer, ten forgeries: a burst of two reaches the chain (one code lookup,
    // the answer cached), the rest are refused with 429 before any call.
    let mut statuses = vec![];
    for n in 0..10 {
        let (status, body) = app
            .call(
                axum::http::Method::POST,
                if n % 2 == 0 { "/verify" } else { "/settle" },
                None,
                Some(forged(&victim, 10 + n, None)),
            )
            .await;
        if status.as_u16() == 200 {
            let reason = body["invalidReason"]
                .as_str()
                .or(body["errorReason"].as_str());
            assert_eq!(reason, Some("invalid_exact_evm_signature"), "{body}");
        } else {
            assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        }
        statuses.push(status.as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        8,
        "{statuses:?}"
    );
    assert_eq!(
        calls(&proxy),
        (before.0 + 1, before.1),
        "one code lookup for the claimed payer, no isValidSignature (it has no code)"
    );
    // Many claimed payers from one client: its burst of six, then 429 whatever the payer.
    let mut reached = 0;
    for n in 0..12 {
        let (status, _) = app
            .call(
                axum::http::Method::POST,
                "/verify",
                None,
                Some(forged(&new_key(), 100 + n, None)),
            )
            .await;
        reached += usize::from(status.as_u16() == 200);
    }
    // The client's bucket also held the two above; it refills at 3/s, so a slow machine may
    // see one more through.
    assert!((4..=6).contains(&reached), "{reached} reached the chain");
    assert!(
        calls(&proxy).0 <= before.0 + 1 + 6,
        "code lookups bounded by the client's burst: {:?}",
        calls(&proxy)
    );
    // Nothing moved and nothing was recorded.
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 0);
    proxy.task.abort();
    app.finish().await;
}

/// Base Sepolia is one of the devnet networks (settled against ledger balances) and can also be
/// configured as a real chain: then it settles on the chain — the settler is picked chain
/// first. Anvil stands in for Base Sepolia with its chain id.
async fn a_devnet_network_configured_as_a_chain_settles_on_the_chain(backend: Backend) {
    let Some(chain) = Chain::start(&["--chain-id", "84532"]).await else {
        return;
    };
    assert_eq!(chain.network, "eip155:84532");
    assert!(paywire_server::base::ledger::DEVNET_NETWORKS.contains(&"eip155:84532"));
    let app = TestApp::with_args(backend, chain.args(&[], 10_000)).await;
    let (_provider, payee) = provider(&app).await;
    let payer = new_key();
    // The payer holds tokens on the chain and nothing in the ledger: the devnet ledger would
    // refuse this payment (insufficient_funds); the chain settles it.
    chain.mint(alloy_address(&payer), 50_000).await;
    let body = payment(&chain, &payer, &payee.to_checksum(None), 20_000);
    assert_eq!(app.verify(&body).await["isValid"], true);
    let settled = app.settle(&body).await;
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(settled["network"], "eip155:84532");
    let transaction = settled["transaction"].as_str().unwrap();
    assert!(
        transaction.starts_with("0x") && transaction.len() == 66,
        "an on-chain transaction, not a ledger payment id: {transaction}"
    );
    assert_eq!(chain.balance(alloy_address(&payer)).await, 30_000);
    assert_eq!(chain.balance(payee).await, 20_000);
    app.finish().await;
}
