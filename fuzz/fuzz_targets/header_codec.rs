//! x402 header codec: any text decodes to a value or a coded error, never a panic; what
//! decodes re-encodes and decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paywire_core::protocol::header;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for limit in [64, 8 * 1024, 64 * 1024] {
        if let Ok(required) = header::decode_payment_required(text, limit) {
            let again = header::decode_payment_required(&header::encode(&required), usize::MAX)
                .expect("an encoded 402 decodes");
            assert_eq!(again, required);
        }
        if let Ok(payment) = header::decode_payment_payload(text, limit) {
            let again = header::decode_payment_payload(&header::encode(&payment), usize::MAX)
                .expect("an encoded payment decodes");
            assert_eq!(again, payment);
        }
        if let Ok(settled) = header::decode_settle_response(text, limit) {
            let again = header::decode_settle_response(&header::encode(&settled), usize::MAX)
                .expect("an encoded settle response decodes");
            assert_eq!(again, settled);
        }
        if let Err(error) = header::decode_bytes(text, limit) {
            assert!(!error.code().is_empty());
        }
    }
});
