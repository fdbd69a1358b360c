//! Paid MCP tool calls: any JSON events, fed in any order to an MCP paywall (with a key ring)
//! and to an MCP client flow, answer an action and never panic — a hostile client's `_meta`
//! (a payment as an object, JSON text or base64; a token) and a hostile server's results (a
//! 402 in any of its places, a settlement in any form, a JSON-RPC error) included.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paywire_core::flow::{McpClientEvent, McpClientFlow, McpPaywall, McpPaywallEvent, McpPaywallFlow};
use paywire_core::token::KeyRing;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Array(events)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let paywall = McpPaywall::from_json(json!({
        "tools": {"search": "$0.01", "report": {"price": "$0.05", "bundle": {"maxUses": 3, "seconds": 3600}}},
        "accepts": [
            {"asset": {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6}, "payTo": "wal_provider"},
            {"asset": {"network": "eip155:84532", "address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
                       "symbol": "USDC", "decimals": 6, "extra": {"name": "USDC", "version": "2"}},
             "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"},
        ],
    }))
    .expect("the fuzzed paywall's configuration is valid");
    let keys = KeyRing::new("k1", &[9; 32]).expect("a 32-byte key");
    let config = serde_json::from_value(json!({
        "policy": {"maxPerRequest": "1.00", "dailyLimit": "5.00", "approvalThreshold": "0.5"},
        "payer": {"type": "ledger", "walletId": "wal_agent"},
    }))
    .expect("the fuzzed client's configuration is valid");
    let mut server = McpPaywallFlow::default();
    let mut client = McpClientFlow::new(&config, "search").expect("a tool name");
    for event in events {
        if let Ok(event) = serde_json::from_value::<McpPaywallEvent>(event.clone()) {
            let action = paywall.feed(&mut server, event, Some(&keys));
            let _ = serde_json::to_string(&action);
        }
        if let Ok(event) = serde_json::from_value::<McpClientEvent>(event) {
            let action = client.feed(event);
            let _ = serde_json::to_string(&action);
        }
    }
});
