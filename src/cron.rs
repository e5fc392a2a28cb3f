//! Cron expressions: six fields with seconds first (five are accepted and
//! run at second 0), their next and latest occurrences in a time zone, and
//! the key that makes one tick enqueue its job once. Pure code, used by the
//! configuration (to check `PAGERLENS_CRON_*`), the job scheduler and
//! report schedules.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// Normalises and parses a cron expression: six fields with seconds first,
/// or five (run at second 0).
///
/// # Errors
/// A message saying what is wrong.
pub fn parse(expression: &str) -> Result<(String, Cron), String> {
    let trimmed = expression.split_whitespace().collect::<Vec<_>>();
    let normalised = match trimmed.len() {
        5 => format!("0 {}", trimmed.join(" ")),
        6 => trimmed.join(" "),
        n => {
            return Err(format!(
                "expected six fields (seconds minutes hours day-of-month month day-of-week), got {n}"
            ));
        }
    };
    let cron = CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(&normalised)
        .map_err(|e| e.to_string())?;
    // An expression that never fires (31 February) is a mistake too.
    cron.find_next_occurrence(&Utc::now(), false)
        .map_err(|e| format!("it never fires: {e}"))?;
    Ok((normalised, cron))
}

/// The next time `expression` fires after `now`, in `tz`.
pub fn next_run<Tz: chrono::TimeZone>(
    expression: &str,
    now: DateTime<Tz>,
) -> Option<DateTime<Utc>> {
    use chrono::SubsecRound;
    let (_, cron) = parse(expression).ok()?;
    cron.find_next_occurrence(&now.trunc_subsecs(0), false)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The scheduled instant of the tick that fired at `now` (the latest
/// occurrence at or before it).
pub fn tick_at<Tz: chrono::TimeZone>(cron: &Cron, now: DateTime<Tz>) -> Option<DateTime<Utc>> {
    use chrono::SubsecRound;
    cron.find_previous_occurrence(&now.trunc_subsecs(0), true)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The key that makes a tick enqueue once.
pub fn tick_key(kind: &str, at: DateTime<Utc>) -> String {
    format!(
        "{kind}@{}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_and_six_fields_are_accepted_and_garbage_is_not() {
        assert_eq!(parse("*/5 * * * *").unwrap().0, "0 */5 * * * *");
        assert_eq!(parse("0 */5 * * * *").unwrap().0, "0 */5 * * * *");
        assert!(parse("every five minutes").is_err());
        assert!(parse("0 61 * * * *").is_err());
        assert!(parse("0 0 0 31 2 *").is_err(), "31 February never fires");
        assert!(parse("").is_err());
    }

    #[test]
    fn a_tick_is_keyed_by_its_scheduled_instant_not_by_when_it_ran() {
        let (_, cron) = parse("0 */5 * * * *").unwrap();
        let scheduled = Utc.with_ymd_and_hms(2026, 11, 23, 10, 5, 0).unwrap();
        // Two replicas fire a little late, at different moments.
        let a = tick_at(&cron, scheduled + chrono::Duration::milliseconds(300)).unwrap();
        let b = tick_at(&cron, scheduled + chrono::Duration::seconds(2)).unwrap();
        assert_eq!(a, scheduled);
        assert_eq!(tick_key("sla_check", a), tick_key("sla_check", b));
        assert_eq!(tick_key("sla_check", a), "sla_check@2026-11-23T10:05:00Z");
    }

    #[test]
    fn next_run_respects_the_time_zone() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let tz: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        // 08:00 in Paris is 07:00 UTC in winter.
        let next = next_run("0 0 8 * * *", now.with_timezone(&tz)).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 11, 24, 7, 0, 0).unwrap());
    }
}
