//! Payment payload and facilitator JSON: any bytes parse or fail with a code; what parses
//! verifies (ledger and EVM schemes) without panicking, whatever the signature and terms.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paywire_core::protocol::{
    evm, ledger, AnyRequirements, ExactPayload, FacilitatorRequest, PaymentPayload, PaymentRequired,
};

const NOW: u64 = 1_795_262_400;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(payment) = PaymentPayload::from_json_value(value.clone()) {
        if let Ok(exact) = ExactPayload::from_object(payment.payload()) {
            let _ = exact.to_object();
        }
    }
    let _ = PaymentRequired::from_json_value(value.clone());
    let _ = AnyRequirements::from_json_value(value.clone());
    if let Ok(request) = serde_json::from_value::<FacilitatorRequest>(value) {
        let secret = ledger::WalletSecret::from_bytes(&[7; 32]).expect("a 32-byte secret");
        let _ = ledger::verify_payment(
            &request.payment_payload,
            &request.payment_requirements,
            NOW,
            |_| Some(secret),
        );
        let _ = evm::verify_payment(&request.payment_payload, &request.payment_requirements, NOW);
        let _ = paywire_core::settlement::terms_fingerprint(&request.payment_requirements);
    }
});
