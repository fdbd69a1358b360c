//! Access tokens: any text verifies or fails with a `token_*` code, never a panic; a valid
//! token with any byte changed or cut never verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paywire_core::token::{Claims, KeyRing, Scope, TokenRequest};

const NOW: u64 = 1_795_262_400;

fuzz_target!(|data: &[u8]| {
    let ring = KeyRing::new("k1", &[42; 32]).expect("a key ring");
    let request = TokenRequest {
        method: "GET",
        resource: "https://api.example.com/v1/weather/paris",
    };
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(error) = ring.verify(text, request, NOW, 0) {
            assert!(error.code().starts_with("token_"), "{}", error.code());
        }
        let _ = paywire_core::token::inspect(text);
    }
    // Mutate a genuine token at a position and with a byte the input chooses.
    let claims = Claims {
        id: "tok_1".into(),
        iss: "paywire:test".into(),
        sub: "wal_agent".into(),
        scope: Scope {
            resource: "https://api.example.com/v1/weather/".into(),
            methods: vec!["GET".into()],
        },
        iat: NOW - 10,
        exp: NOW + 3600,
        max_uses: Some(5),
    };
    let token = ring.issue(&claims).expect("issues");
    let (Some(&at), Some(&byte)) = (data.first(), data.get(1)) else {
        return;
    };
    let mut bytes = token.clone().into_bytes();
    let at = usize::from(at) % bytes.len();
    if bytes[at] == byte {
        return;
    }
    bytes[at] = byte;
    if let Ok(tampered) = String::from_utf8(bytes) {
        assert!(
            ring.verify(&tampered, request, NOW, 0).is_err(),
            "a changed token verified"
        );
    }
    assert!(ring.verify(&token[..at], request, NOW, 0).is_err(), "a cut token verified");
});
