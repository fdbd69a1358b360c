//! EVM chains the server settles on: their settings, their JSON-RPC ([`rpc`]: failover,
//! retries, breakers), the token and wallet calls a settlement makes (balance, nonce state,
//! simulation, ERC-1271, the EIP-712 domain, cached), and the facilitator's transactions
//! (nonces taken under a lock, gas estimated, EIP-1559 fees, signed locally). What to do with
//! their answers is decided in paywire-core and carried out in [`crate::settle::chain`].

pub mod rpc;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, Bytes, TxKind, B256, U256};
use alloy::rpc::types::{TransactionInput, TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolValue};
use paywire_core::protocol::evm::{self, ChainEvmPayment, SignerProof};
use paywire_core::settlement::chain::PreFlight;

alloy::sol! {
    /// The EIP-3009 surface of USDC (FiatToken v2.2) this settler uses.
    interface Eip3009Token {
        function balanceOf(address owner) external view returns (uint256);
        function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);
        function DOMAIN_SEPARATOR() external view returns (bytes32);
        function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external;
        function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, bytes signature) external;
    }

    /// ERC-1271: a contract wallet's answer about a signature.
    interface Erc1271 {
        function isValidSignature(bytes32 hash, bytes signature) external view returns (bytes4);
    }
}

/// The creation code of `server/contracts/Erc6492Validator.sol`, run deployless to validate ERC-6492
/// signatures.
const ERC6492_VALIDATOR: &str = include_str!("../../contracts/Erc6492Validator.bin");

/// An ERC-6492 signature, unwrapped.
pub struct Erc6492Signature {
    /// The factory that deploys the wallet.
    pub factory: Address,
    /// The call that deploys it.
    pub factory_calldata: Bytes,
    /// The wallet's own (ERC-1271) signature.
    pub signature: Bytes,
}

/// Unwraps `abi.encode(factory, factoryCalldata, signature) ‖ magic`; `None` when it is not
/// that.
pub fn unwrap_erc6492(signature: &[u8]) -> Option<Erc6492Signature> {
    let wrapped = signature.strip_suffix(&evm::ERC6492_MAGIC[..])?;
    let (factory, factory_calldata, signature) =
        <(Address, Bytes, Bytes)>::abi_decode_params(wrapped).ok()?;
    Some(Erc6492Signature {
        factory,
        factory_calldata,
        signature,
    })
}

/// ERC-1271's "valid" answer.
const ERC1271_MAGIC: [u8; 4] = [0x16, 0x26, 0xba, 0x7e];

/// One chain network's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainNetworkSettings {
    /// The CAIP-2 network (`eip155:8453`).
    pub network: String,
    /// Its JSON-RPC URLs, tried in this order.
    pub rpc_urls: Vec<String>,
}

impl std::str::FromStr for ChainNetworkSettings {
    type Err = String;

    /// `eip155:<chain id>=<url>[,<url>…]`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (network, urls) = text
            .split_once('=')
            .ok_or_else(|| "a chain is <CAIP-2 network>=<RPC URL>[,<RPC URL>…]".to_string())?;
        paywire_core::network::evm_chain_id(network.trim())
            .map_err(|_| format!("{network:?} is not an EVM network (eip155:<chain id>)"))?;
        let rpc_urls: Vec<String> = urls
            .split(',')
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if rpc_urls.is_empty() {
            return Err(format!("chain {network} has no RPC URL"));
        }
        Ok(ChainNetworkSettings {
            network: network.trim().to_string(),
            rpc_urls,
        })
    }
}

/// Settling on chains: the networks, the facilitator's key and how long to wait.
#[derive(Clone, Default)]
pub struct ChainSettings {
    /// The networks settled on chain.
    pub networks: Vec<ChainNetworkSettings>,
    /// The facilitator's signing key, `0x`-hex (from the environment or a file, never argv).
    pub signer_key: Option<zeroize::Zeroizing<String>>,
    /// How long `/settle` waits for a receipt before answering `settlement_pending`.
    pub receipt_timeout: Duration,
    /// Blocks a receipt needs (1: mined).
    pub confirmations: u64,
    /// One RPC call's timeout.
    pub rpc_timeout: Duration,
    /// How often the reconciler looks at open attempts.
    pub reconcile_interval: Duration,
    /// How long a transaction may wait unmined before it is replaced with higher fees.
    pub bump_after: Duration,
    /// Factories the settler may call to deploy a payer's wallet (ERC-6492), on every network.
    pub wallet_factories: Vec<String>,
    /// Tokens settled besides the built-in table (USDC on Base and Base Sepolia), as
    /// `eip155:<chain id>=<address>`.
    pub tokens: Vec<String>,
}

impl std::fmt::Debug for ChainSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainSettings")
            .field(
                "networks",
                &self
                    .networks
                    .iter()
                    .map(|n| {
                        (
                            &n.network,
                            n.rpc_urls
                                .iter()
                                .map(|u| rpc::redact(u))
                                .collect::<Vec<_>>(),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
            .field(
                "signer_key",
                &self.signer_key.as_ref().map(|_| "<redacted>"),
            )
            .field("receipt_timeout", &self.receipt_timeout)
            .field("confirmations", &self.confirmations)
            .field("rpc_timeout", &self.rpc_timeout)
            .field("reconcile_interval", &self.reconcile_interval)
            .field("bump_after", &self.bump_after)
            .field("wallet_factories", &self.wallet_factories)
            .field("tokens", &self.tokens)
            .finish()
    }
}

/// How long an account's lack of code is believed before the chain is asked again.
pub const NO_CODE_TTL: Duration = Duration::from_secs(10);
/// Accounts whose code is cached at most (the cache starts over past it).
const MAX_CACHED_CODES: usize = 65_536;

/// A network settled on chain.
pub struct ChainNetwork {
    /// The CAIP-2 network.
    pub network: String,
    /// Its JSON-RPC.
    pub rpc: rpc::Rpc,
    signer: PrivateKeySigner,
    /// The next transaction nonce of the signer, once read from the chain. Taken under the
    /// lock, so concurrent settlements never sign two transactions with one nonce; cleared
    /// when the chain disagrees, so the next one reads it again.
    next_nonce: tokio::sync::Mutex<Option<u64>>,
    /// Each token's EIP-712 domain separator, once read (it never changes).
    domains: std::sync::Mutex<HashMap<Address, B256>>,
    /// Whether accounts hold contract code, as last read: code once seen is kept (it stays),
    /// its absence for [`NO_CODE_TTL`] (a wallet may be deployed any time). A flood of forged
    /// contract-wallet signatures for one `from` costs one `eth_getCode`, not one each.
    codes: std::sync::Mutex<HashMap<Address, (bool, std::time::Instant)>>,
    /// How long `/settle` waits for a receipt.
    pub receipt_timeout: Duration,
    /// How long a transaction may wait unmined before it is replaced with higher fees.
    pub bump_after: Duration,
    confirmations: u64,
    wallet_factories: std::collections::HashSet<Address>,
    /// The configured tokens of this network (the built-in table is asked as well).
    tokens: std::collections::HashSet<Address>,
}

impl std::fmt::Debug for ChainNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainNetwork")
            .field("network", &self.network)
            .field("signer", &self.signer.address())
            .field("rpc", &self.rpc)
            .finish()
    }
}

/// The networks settled on chain, by CAIP-2 name.
#[derive(Debug, Default, Clone)]
pub struct Chains {
    by_network: HashMap<String, Arc<ChainNetwork>>,
    /// How often the reconciler runs.
    pub reconcile_interval: Duration,
}

impl Chains {
    /// Opens every configured network (no I/O: URLs are checked on first use).
    pub fn open(settings: &ChainSettings) -> Result<Chains, String> {
        if settings.networks.is_empty() {
            return Ok(Chains::default());
        }
        let key = settings.signer_key.as_ref().ok_or(
            "settling on a chain needs the facilitator's key: PAYWIRE_CHAIN_SIGNER_KEY or --chain-signer-key-file",
        )?;
        let signer: PrivateKeySigner = key.trim().parse().map_err(|_| {
            "the chain signer key is not a 0x-hex secp256k1 private key".to_string()
        })?;
        let wallet_factories = settings
            .wallet_factories
            .iter()
            .map(|f| {
                f.trim()
                    .parse::<Address>()
                    .map_err(|_| format!("wallet factory {f:?} is not an address"))
            })
            .collect::<Result<std::collections::HashSet<_>, String>>()?;
        let mut tokens: HashMap<String, std::collections::HashSet<Address>> = HashMap::new();
        for entry in &settings.tokens {
            let (network, token) = entry
                .split_once('=')
                .ok_or_else(|| format!("a chain token is <network>=<address>, not {entry:?}"))?;
            let token = token
                .trim()
                .parse::<Address>()
                .map_err(|_| format!("chain token {token:?} is not an address"))?;
            tokens
                .entry(network.trim().to_string())
                .or_default()
                .insert(token);
        }
        let mut by_network = HashMap::new();
        for network in &settings.networks {
            let chain_id = paywire_core::network::evm_chain_id(&network.network)
                .map_err(|_| format!("{} is not an EVM network", network.network))?;
            let policy = rpc::RpcPolicy {
                timeout: settings.rpc_timeout,
                ..Default::default()
            };
            let chain = ChainNetwork {
                network: network.network.clone(),
                rpc: rpc::Rpc::new(chain_id, &network.rpc_urls, policy)?,
                signer: signer.clone(),
                next_nonce: tokio::sync::Mutex::new(None),
                domains: Default::default(),
                codes: Default::default(),
                receipt_timeout: settings.receipt_timeout,
                bump_after: settings.bump_after,
                confirmations: settings.confirmations.max(1),
                wallet_factories: wallet_factories.clone(),
                tokens: tokens.remove(&network.network).unwrap_or_default(),
            };
            by_network.insert(network.network.clone(), Arc::new(chain));
        }
        Ok(Chains {
            by_network,
            reconcile_interval: settings.reconcile_interval,
        })
    }

    /// The chain of `network`, if it is settled on chain.
    pub fn get(&self, network: &str) -> Option<&Arc<ChainNetwork>> {
        self.by_network.get(network)
    }

    /// Whether no network is settled on chain.
    pub fn is_empty(&self) -> bool {
        self.by_network.is_empty()
    }

    /// The networks, sorted.
    pub fn networks(&self) -> Vec<String> {
        let mut networks: Vec<String> = self.by_network.keys().cloned().collect();
        networks.sort();
        networks
    }

    /// `/supported`'s `signers`: the facilitator's address on each network.
    pub fn signers(&self) -> BTreeMap<String, Vec<String>> {
        self.by_network
            .iter()
            .map(|(network, chain)| {
                (
                    network.clone(),
                    vec![chain.signer.address().to_checksum(None)],
                )
            })
            .collect()
    }
}

/// The alloy form of a core address.
pub fn address(core: &evm::Address) -> Address {
    Address::from(*core.as_bytes())
}

impl ChainNetwork {
    /// A call from the facilitator's address: to `to`, or a deployless one without it.
    fn signer_request(&self, to: Option<Address>, input: Vec<u8>) -> TransactionRequest {
        TransactionRequest {
            from: Some(self.signer.address()),
            to: to.map(TxKind::Call),
            input: TransactionInput::new(input.into()),
            ..Default::default()
        }
    }

    /// `eth_call` from the signer.
    pub async fn call(&self, to: Address, data: Vec<u8>) -> Result<Bytes, rpc::RpcFailure> {
        let request = self.signer_request(Some(to), data);
        self.rpc.request("eth_call", (request, "latest")).await
    }

    /// The token's EIP-712 domain separator, read once.
    pub async fn domain_separator(&self, token: Address) -> Result<B256, rpc::RpcFailure> {
        if let Some(known) = self.domains.lock().expect("domains lock").get(&token) {
            return Ok(*known);
        }
        let answer = self
            .call(token, Eip3009Token::DOMAIN_SEPARATORCall {}.abi_encode())
            .await?;
        let separator = Eip3009Token::DOMAIN_SEPARATORCall::abi_decode_returns(&answer)
            .map_err(|e| rpc::RpcFailure::Unreachable(format!("DOMAIN_SEPARATOR(): {e}")))?;
        self.domains
            .lock()
            .expect("domains lock")
            .insert(token, separator);
        Ok(separator)
    }

    /// Whether the contract wallet at `wallet` says `signature` over `digest` is its own.
    pub async fn erc1271_valid(
        &self,
        wallet: Address,
        digest: [u8; 32],
        signature: &[u8],
    ) -> Result<bool, rpc::RpcFailure> {
        if !self.has_code(wallet).await? {
            return Ok(false);
        }
        let call = Erc1271::isValidSignatureCall {
            hash: B256::from(digest),
            signature: signature.to_vec().into(),
        };
        match self.call(wallet, call.abi_encode()).await {
            Ok(answer) => Ok(answer.len() >= 4 && answer[..4] == ERC1271_MAGIC),
            Err(rpc::RpcFailure::Answer { .. }) => Ok(false),
            Err(unreachable) => Err(unreachable),
        }
    }

    /// The `transferWithAuthorization` call of a payment: `(v, r, s)` for an EOA signature,
    /// `bytes` for a contract wallet's.
    pub fn transfer_call(payment: &ChainEvmPayment) -> Vec<u8> {
        let a = &payment.authorization;
        let (from, to, value) = (
            address(&a.from),
            address(&a.to),
            U256::from(a.value.atomic()),
        );
        let (after, before, nonce) = (
            U256::from(a.valid_after),
            U256::from(a.valid_before),
            B256::from(a.nonce),
        );
        match (&payment.proof, payment.signature.len()) {
            (SignerProof::Recovered, 65) => {
                let s = &payment.signature;
                let v = if s[64] < 27 { s[64] + 27 } else { s[64] };
                Eip3009Token::transferWithAuthorization_0Call {
                    from,
                    to,
                    value,
                    validAfter: after,
                    validBefore: before,
                    nonce,
                    v,
                    r: B256::from_slice(&s[..32]),
                    s: B256::from_slice(&s[32..64]),
                }
                .abi_encode()
            }
            (proof, _) => {
                // The token knows nothing of ERC-6492: once the wallet is deployed, it asks the
                // wallet about the inner signature (ERC-1271).
                let signature = match proof {
                    SignerProof::CounterfactualWallet { .. } => unwrap_erc6492(&payment.signature)
                        .map(|wrapped| wrapped.signature)
                        .unwrap_or_default(),
                    _ => payment.signature.clone().into(),
                };
                Eip3009Token::transferWithAuthorization_1Call {
                    from,
                    to,
                    value,
                    validAfter: after,
                    validBefore: before,
                    nonce,
                    signature,
                }
                .abi_encode()
            }
        }
    }

    /// Whether there is contract code at `account`, from the cache when it knows
    /// ([`ChainNetwork::has_code_now`] asks the chain).
    pub async fn has_code(&self, account: Address) -> Result<bool, rpc::RpcFailure> {
        if let Some(&(known, at)) = self.codes.lock().expect("codes lock").get(&account) {
            if known || at.elapsed() < NO_CODE_TTL {
                return Ok(known);
            }
        }
        self.has_code_now(account).await
    }

    /// Whether there is contract code at `account`, asked of the chain now (before deploying a
    /// wallet, where a stale answer would deploy twice); the answer is cached.
    pub async fn has_code_now(&self, account: Address) -> Result<bool, rpc::RpcFailure> {
        let code: Bytes = self.rpc.request("eth_getCode", (account, "latest")).await?;
        let mut codes = self.codes.lock().expect("codes lock");
        if codes.len() >= MAX_CACHED_CODES {
            codes.clear();
        }
        codes.insert(account, (!code.is_empty(), std::time::Instant::now()));
        Ok(!code.is_empty())
    }

    /// Whether payments in `token` are settled here: a token of the built-in table on this
    /// network, or a configured one. Any other is refused before the chain is asked — the
    /// facilitator pays the gas of every settlement, and a token anyone deployed would let
    /// anyone spend it.
    pub fn settles_token(&self, token: Address) -> bool {
        self.tokens.contains(&token)
            || paywire_core::AssetRegistry::with_defaults()
                .find(&self.network, &token.to_checksum(None))
                .is_some()
    }

    /// Whether `factory` may be called to deploy a payer's wallet (ERC-6492).
    pub fn allows_factory(&self, factory: Address) -> bool {
        self.wallet_factories.contains(&factory)
    }

    /// ERC-6492 validation of `signature` by `signer` over `digest`, run deployless in an
    /// `eth_call` (a wallet not deployed yet is deployed inside the simulation only).
    pub async fn erc6492_valid(
        &self,
        signer: Address,
        digest: [u8; 32],
        signature: &[u8],
    ) -> Result<bool, rpc::RpcFailure> {
        let mut code =
            hex::decode(ERC6492_VALIDATOR.trim()).expect("the validator's bytecode is hex");
        code.extend(
            (signer, B256::from(digest), Bytes::from(signature.to_vec())).abi_encode_params(),
        );
        let request = self.signer_request(None, code);
        match self
            .rpc
            .request::<_, Bytes>("eth_call", (request, "latest"))
            .await
        {
            Ok(answer) => Ok(answer.as_ref() == [1]),
            Err(rpc::RpcFailure::Answer { .. }) => Ok(false),
            Err(unreachable) => Err(unreachable),
        }
    }

    /// Deploys a payer's wallet through `factory` (an allowed one) and waits for the receipt.
    pub async fn deploy_wallet(
        &self,
        factory: Address,
        calldata: &[u8],
    ) -> Result<(), rpc::RpcFailure> {
        let (hash, raw, _) = self.sign_call(factory, calldata.to_vec()).await?;
        broadcast(self, &raw).await?;
        let deadline = tokio::time::Instant::now() + self.receipt_timeout;
        loop {
            if let Some(receipt) = self.confirmed_receipt(hash).await? {
                return if receipt.status() {
                    Ok(())
                } else {
                    Err(rpc::RpcFailure::Unreachable(
                        "the wallet's deployment reverted".into(),
                    ))
                };
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(rpc::RpcFailure::Unreachable(
                    "the wallet's deployment was not mined in time".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Balance, nonce state and a simulation of the transfer.
    pub async fn pre_flight(
        &self,
        payment: &ChainEvmPayment,
    ) -> Result<PreFlight, rpc::RpcFailure> {
        let token = address(&payment.domain.verifying_contract);
        let from = address(&payment.authorization.from);
        let balance = self
            .call(
                token,
                Eip3009Token::balanceOfCall { owner: from }.abi_encode(),
            )
            .await?;
        let balance = Eip3009Token::balanceOfCall::abi_decode_returns(&balance)
            .map_err(|e| rpc::RpcFailure::Unreachable(format!("balanceOf: {e}")))?;
        let used = self
            .call(
                token,
                Eip3009Token::authorizationStateCall {
                    authorizer: from,
                    nonce: B256::from(payment.authorization.nonce),
                }
                .abi_encode(),
            )
            .await?;
        let nonce_used = Eip3009Token::authorizationStateCall::abi_decode_returns(&used)
            .map_err(|e| rpc::RpcFailure::Unreachable(format!("authorizationState: {e}")))?;
        let undeployed = matches!(payment.proof, SignerProof::CounterfactualWallet { .. })
            && !self.has_code(from).await?;
        // A wallet that is not deployed yet cannot authorize the transfer until it is: its
        // simulation waits for the deployment (its signature was validated per ERC-6492).
        let simulated = if undeployed {
            Ok(Bytes::new())
        } else {
            self.call(token, Self::transfer_call(payment)).await
        };
        let simulation_revert = match simulated {
            Ok(_) => None,
            Err(failure @ rpc::RpcFailure::Answer { .. }) => failure.revert_text(),
            Err(unreachable) => return Err(unreachable),
        };
        Ok(PreFlight {
            balance: u128::try_from(balance).unwrap_or(u128::MAX),
            nonce_used,
            simulation_revert,
        })
    }

    /// Takes the signer's next transaction nonce.
    pub async fn take_nonce(&self) -> Result<u64, rpc::RpcFailure> {
        let mut next = self.next_nonce.lock().await;
        let nonce = match *next {
            Some(nonce) => nonce,
            None => {
                let count: alloy::primitives::U64 = self
                    .rpc
                    .request(
                        "eth_getTransactionCount",
                        (self.signer.address(), "pending"),
                    )
                    .await?;
                count.to::<u64>()
            }
        };
        *next = Some(nonce + 1);
        Ok(nonce)
    }

    /// Forgets the signer's nonce: the chain disagreed, read it again next time.
    pub async fn forget_nonce(&self) {
        *self.next_nonce.lock().await = None;
    }

    /// Estimates, signs and returns the transaction of `payment`: `(hash, raw, nonce)`.
    pub async fn sign(
        &self,
        payment: &ChainEvmPayment,
    ) -> Result<(B256, Vec<u8>, u64), rpc::RpcFailure> {
        let token = address(&payment.domain.verifying_contract);
        self.sign_call(token, Self::transfer_call(payment)).await
    }

    /// Estimates and signs a call of `to` with `input` and the signer's next nonce:
    /// `(hash, raw, nonce)`. The estimate comes first: a call that would revert takes no nonce.
    async fn sign_call(
        &self,
        to: Address,
        input: Vec<u8>,
    ) -> Result<(B256, Vec<u8>, u64), rpc::RpcFailure> {
        let request = self.signer_request(Some(to), input.clone());
        let gas: alloy::primitives::U64 = self.rpc.request("eth_estimateGas", (request,)).await?;
        let gas = gas.to::<u64>();
        let gas_price: U256 = self.rpc.request("eth_gasPrice", ()).await?;
        let priority: U256 = self
            .rpc
            .request("eth_maxPriorityFeePerGas", ())
            .await
            .unwrap_or(U256::from(1_000_000_000u64));
        let gas_price = u128::try_from(gas_price).unwrap_or(u128::MAX / 4);
        let priority = u128::try_from(priority).unwrap_or(0).min(gas_price);
        let nonce = self.take_nonce().await?;
        let tx = TxEip1559 {
            chain_id: self.rpc.chain_id(),
            nonce,
            // 20 % over the estimate: the state may change between estimate and inclusion.
            gas_limit: gas.saturating_mul(6) / 5,
            // Twice the current price: room for the base fee to rise for a few blocks.
            max_fee_per_gas: gas_price.saturating_mul(2).saturating_add(priority),
            max_priority_fee_per_gas: priority,
            to: TxKind::Call(to),
            value: U256::ZERO,
            access_list: Default::default(),
            input: input.into(),
        };
        let (hash, raw) = self.sign_transaction(tx)?;
        Ok((hash, raw, nonce))
    }

    /// Signs `tx` with the facilitator's key: `(hash, raw)`.
    fn sign_transaction(&self, mut tx: TxEip1559) -> Result<(B256, Vec<u8>), rpc::RpcFailure> {
        let signature = self
            .signer
            .sign_transaction_sync(&mut tx)
            .map_err(|e| rpc::RpcFailure::Unreachable(format!("signing: {e}")))?;
        let envelope = TxEnvelope::from(tx.into_signed(signature));
        Ok((*envelope.tx_hash(), envelope.encoded_2718()))
    }

    /// A replacement of the signed transaction `raw`: the same nonce and call, with fees
    /// raised by 12.5 % (nodes replace a pooled transaction only for at least 10 % more) or to
    /// the current price, whichever is higher. `(hash, raw)`.
    pub async fn bump(&self, raw: &[u8]) -> Result<(B256, Vec<u8>), rpc::RpcFailure> {
        use alloy::eips::eip2718::Decodable2718;
        let envelope = TxEnvelope::decode_2718(&mut &raw[..]).map_err(|e| {
            rpc::RpcFailure::Unreachable(format!("a stored transaction does not decode: {e}"))
        })?;
        let TxEnvelope::Eip1559(signed) = envelope else {
            return Err(rpc::RpcFailure::Unreachable(
                "a stored transaction is not EIP-1559".into(),
            ));
        };
        let mut tx = signed.tx().clone();
        let raise = |fee: u128| fee.saturating_add(fee / 8).saturating_add(1);
        let price: U256 = self.rpc.request("eth_gasPrice", ()).await?;
        let price = u128::try_from(price).unwrap_or(u128::MAX / 4);
        tx.max_priority_fee_per_gas = raise(tx.max_priority_fee_per_gas);
        tx.max_fee_per_gas = raise(tx.max_fee_per_gas).max(
            price
                .saturating_mul(2)
                .saturating_add(tx.max_priority_fee_per_gas),
        );
        self.sign_transaction(tx)
    }

    /// The receipt of `hash` once it has the configured confirmations, if it has.
    pub async fn confirmed_receipt(
        &self,
        hash: B256,
    ) -> Result<Option<TransactionReceipt>, rpc::RpcFailure> {
        let receipt: Option<TransactionReceipt> = self
            .rpc
            .request("eth_getTransactionReceipt", (hash,))
            .await?;
        let Some(receipt) = receipt else {
            return Ok(None);
        };
        if self.confirmations <= 1 {
            return Ok(Some(receipt));
        }
        let head: alloy::primitives::U64 = self.rpc.request("eth_blockNumber", ()).await?;
        let mined = receipt.block_number.unwrap_or(u64::MAX);
        Ok((head.to::<u64>().saturating_sub(mined) + 1 >= self.confirmations).then_some(receipt))
    }
}

/// Broadcasts a signed transaction; a node that has it already is not an error.
pub async fn broadcast(chain: &ChainNetwork, raw: &[u8]) -> Result<(), rpc::RpcFailure> {
    match chain
        .rpc
        .request::<_, B256>(
            "eth_sendRawTransaction",
            (format!("0x{}", hex::encode(raw)),),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(rpc::RpcFailure::Answer { message, .. })
            if message.to_ascii_lowercase().contains("already known") =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}
