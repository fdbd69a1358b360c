//! Access tokens: any text verifies or fails with a `token_*` code, never a panic; a valid
//! token with any byte changed or cut never verifies; a route-bound token verifies only for
//! its route, and on any resource path only where its canonical form is inside the scope.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paywire_core::token::{canonical_resource, resource_in_scope, Claims, KeyRing, Scope, TokenRequest};

const NOW: u64 = 1_795_262_400;

fuzz_target!(|data: &[u8]| {
    let ring = KeyRing::new("k1", &[42; 32]).expect("a key ring");
    const ROUTE: &str = "GET /v1/weather/:city";
    let request = TokenRequest::new("GET", "https://api.example.com/v1/weather/paris")
        .priced_by(Some(ROUTE));
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
            route: Some(ROUTE.into()),
        },
        iat: NOW - 10,
        exp: NOW + 3600,
        max_uses: Some(5),
    };
    let token = ring.issue(&claims).expect("issues");
    assert!(ring.verify(&token, request, NOW, 0).is_ok());
    assert!(ring.verify(&token, request.priced_by(None), NOW, 0).is_err(), "no route");
    if let Ok(path) = std::str::from_utf8(data) {
        let resource = format!("https://api.example.com/{path}");
        let at = TokenRequest::new("GET", &resource).priced_by(Some(ROUTE));
        if ring.verify(&token, at, NOW, 0).is_ok() {
            assert!(
                canonical_resource(&resource).starts_with("https://api.example.com/v1/weather/"),
                "{resource} is outside the scope once canonical"
            );
            assert!(resource_in_scope(&claims.scope.resource, &canonical_resource(&resource)));
        }
    }
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
