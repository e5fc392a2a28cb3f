//! Retry policy as pure functions: which failures are worth another try, how
//! long to wait (exponential backoff with full jitter), and how long a 429
//! asks us to wait (`ratelimit-reset` / `Retry-After`).

use std::time::Duration;

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after backoff.
    Retry,
    /// Rate limited: wait as long as the server says (or back off).
    RateLimited,
    /// Do not retry (a 4xx other than 408/429: the request itself is wrong).
    Permanent,
}

/// Classifies an HTTP status.
pub fn classify_status(status: u16) -> Verdict {
    match status {
        429 => Verdict::RateLimited,
        408 | 500..=599 => Verdict::Retry,
        _ => Verdict::Permanent,
    }
}

/// The backoff before retry number `attempt` (0-based): `base · 2^attempt`,
/// capped at `max`, scaled by `jitter` in [0, 1] ("full jitter"), and never
/// below a tenth of the capped value so retries are not instantaneous.
pub fn backoff(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.min(20)));
    let capped = exp.min(max);
    let jitter = jitter.clamp(0.0, 1.0);
    let floor = capped / 10;
    floor + (capped - floor).mul_f64(jitter)
}

/// How long a 429 response asks us to wait, from `Retry-After` (seconds) or
/// PagerDuty's `ratelimit-reset` (seconds until the window resets). `None`
/// when neither is present or readable: then back off exponentially.
pub fn rate_limit_wait(
    retry_after: Option<&str>,
    ratelimit_reset: Option<&str>,
) -> Option<Duration> {
    let secs = |v: Option<&str>| {
        v.and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
    };
    secs(retry_after)
        .or_else(|| secs(ratelimit_reset))
        .map(|s| Duration::from_secs_f64(s.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn statuses() {
        assert_eq!(classify_status(429), Verdict::RateLimited);
        assert_eq!(classify_status(503), Verdict::Retry);
        assert_eq!(classify_status(408), Verdict::Retry);
        assert_eq!(classify_status(400), Verdict::Permanent);
        assert_eq!(classify_status(401), Verdict::Permanent);
        assert_eq!(classify_status(404), Verdict::Permanent);
    }

    #[test]
    fn rate_limit_headers() {
        assert_eq!(
            rate_limit_wait(None, Some("7")),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            rate_limit_wait(Some("2"), Some("7")),
            Some(Duration::from_secs(2))
        );
        assert_eq!(rate_limit_wait(None, Some("soon")), None);
        assert_eq!(rate_limit_wait(None, None), None);
        assert_eq!(rate_limit_wait(Some("-1"), None), None);
    }

    proptest! {
        #[test]
        fn backoff_is_bounded_and_grows(attempt in 0u32..40, jitter in 0.0f64..=1.0) {
            let base = Duration::from_millis(100);
            let max = Duration::from_secs(30);
            let d = backoff(attempt, base, max, jitter);
            prop_assert!(d <= max);
            prop_assert!(d >= backoff(attempt, base, max, 0.0));
            // The ceiling never shrinks as attempts grow.
            prop_assert!(backoff(attempt + 1, base, max, 1.0) >= backoff(attempt, base, max, 1.0));
        }
    }
}
