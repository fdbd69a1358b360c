//! Spending policies: any JSON becomes a policy or `policy_invalid`; a policy evaluates,
//! selects and records any payment without panicking, and never allows what it denies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paywire_core::policy::{Decision, PaymentIntent, Policy, Usage};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let (policy, intent, usage, now) = match &value {
        serde_json::Value::Array(parts) if parts.len() == 4 => (
            parts[0].clone(),
            serde_json::from_value::<PaymentIntent>(parts[1].clone()).ok(),
            serde_json::from_value::<Usage>(parts[2].clone()).ok(),
            parts[3].as_u64(),
        ),
        other => (other.clone(), None, None, None),
    };
    let Ok(policy) = Policy::from_json(policy) else {
        return;
    };
    let intent = intent.unwrap_or(PaymentIntent {
        amount: "0.01".parse().expect("decimal"),
        network: "eip155:8453".into(),
        asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913".into(),
        pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
        resource: Some("https://api.example.com/x".into()),
    });
    let mut usage = usage.unwrap_or_default();
    let now = now.unwrap_or(1_795_262_400);
    let decision = policy.evaluate(&intent, &usage, now);
    if decision != Decision::Allow && decision != Decision::NeedsApproval {
        return;
    }
    // What was allowed, once recorded, counts: the same usage never allows an unbounded
    // amount past a daily limit.
    policy.record(&mut usage, intent.amount, now);
    if let Some(limit) = policy.daily_limit {
        if usage.spent_today > limit && policy.windows == Default::default() {
            assert_ne!(
                policy.evaluate(&intent, &usage, now),
                Decision::Allow,
                "over the daily limit yet allowed"
            );
        }
    }
});
