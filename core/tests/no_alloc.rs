//! `Policy::evaluate` is on every payment's path in every runtime; it must not allocate.
//! A counting global allocator proves it for the whole evaluation, allow-lists included.
#![allow(unsafe_code)] // GlobalAlloc is an unsafe trait; the library itself forbids unsafe.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::str::FromStr;

use paywire_core::policy::{Decision, PaymentIntent, Policy, Usage, VelocityLimit, WindowMode};
use rust_decimal::Decimal;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // try_with: the thread-local may already be gone while a thread shuts down.
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

#[test]
fn evaluate_does_not_allocate_in_either_window_mode() {
    for windows in [
        WindowMode::Calendar {
            utc_offset_minutes: 60,
        },
        WindowMode::Rolling,
    ] {
        let policy = Policy {
            max_per_request: Some(d("1")),
            daily_limit: Some(d("10")),
            monthly_limit: Some(d("100")),
            allowed_payees: Some(vec![
                "0xAA".into(),
                "0x209693bc6afc0c5328ba36faf03c514ef312287c".into(),
            ]),
            allowed_networks: Some(vec!["base-sepolia".into()]),
            allowed_assets: Some(vec!["0x036CbD53842c5426634e7929541eC2318f3dCF7e".into()]),
            allowed_hosts: Some(vec!["*.example.com".into()]),
            velocity: Some(VelocityLimit {
                max_payments: 100,
                window_seconds: 60,
            }),
            approval_threshold: Some(d("0.5")),
            windows,
        };
        let mut usage = Usage::default();
        for i in 0..20 {
            policy.record(&mut usage, d("0.01"), 1_800_000_000 + i);
        }
        let intent = PaymentIntent {
            amount: d("0.01"),
            network: "eip155:84532".into(),
            asset: "0x036cbd53842c5426634e7929541ec2318f3dcf7e".into(),
            pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
            resource: Some("https://api.example.com/weather?city=SF".into()),
        };
        let mut decision = Decision::NeedsApproval;
        let count =
            allocations_during(|| decision = policy.evaluate(&intent, &usage, 1_800_000_030));
        assert_eq!(decision, Decision::Allow);
        assert_eq!(
            count, 0,
            "evaluate allocated {count} times with {windows:?}"
        );
    }
}
