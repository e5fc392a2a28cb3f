//! PagerDuty webhooks v3: signature verification (pure) and event handling.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// True when any `v1=` signature in `header` is the HMAC-SHA256 of `body`
/// under any of `secrets`. Compared in constant time.
pub fn verify_signature(header: Option<&str>, body: &[u8], secrets: &[String]) -> bool {
    let Some(header) = header else { return false };
    let signatures: Vec<Vec<u8>> = header
        .split(',')
        .filter_map(|s| s.trim().strip_prefix("v1="))
        .filter_map(|hex_sig| hex::decode(hex_sig).ok())
        .collect();
    secrets.iter().filter(|s| !s.is_empty()).any(|secret| {
        signatures.iter().any(|sig| {
            let mut mac =
                HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
            mac.update(body);
            mac.verify_slice(sig).is_ok()
        })
    })
}

/// The `X-PagerDuty-Signature` value for `body` under `secret`.
pub fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_with_any_current_secret() {
        let body = br#"{"event":{"id":"1"}}"#;
        let secrets = vec!["old".to_owned(), "new".to_owned()];
        assert!(verify_signature(Some(&sign(body, "new")), body, &secrets));
        let rotated = format!("{}, {}", sign(body, "other"), sign(body, "old"));
        assert!(verify_signature(Some(&rotated), body, &secrets));
        assert!(!verify_signature(
            Some(&sign(body, "wrong")),
            body,
            &secrets
        ));
        assert!(!verify_signature(
            Some(&sign(b"tampered", "new")),
            body,
            &secrets
        ));
        assert!(!verify_signature(None, body, &secrets));
        assert!(!verify_signature(Some("v1=zz"), body, &secrets));
        assert!(!verify_signature(
            Some(&sign(body, "")),
            body,
            &["".to_owned()]
        ));
    }
}
