//! Time-zone arithmetic, without I/O: offsets and where they change, local
//! dates and day, week and month starts, PagerDuty's interruption windows.
//!
//! Storage is UTC. To bucket by local day in SQL on both databases (SQLite
//! has no time-zone support), a period is cut into segments over which the
//! zone's UTC offset is constant; within a segment the local day of an
//! instant is `(epoch seconds + offset) / 86400`. A period of a year has at
//! most a handful of segments (one per daylight-saving change).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// The UTC offset of `tz` at `t`, in seconds.
pub fn offset_at(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The UTC offset of `tz` at Unix second `ts`, in seconds.
pub fn offset_secs(tz: Tz, ts: i64) -> i64 {
    DateTime::from_timestamp(ts, 0).map_or(0, |t| i64::from(offset_at(tz, t)))
}

/// The first Unix second in `(from, limit]` at which `tz`'s UTC offset
/// differs from its offset at `from`, or `limit` if it never does. Offsets
/// never change twice within six hours, so probing every six hours finds
/// every change, and a binary search finds its second (zones change offset
/// on a whole second). The one search both bucketing and business
/// calendars use.
pub fn next_offset_change(tz: Tz, from: i64, limit: i64) -> i64 {
    const PROBE_STEP_SECS: i64 = 6 * 3_600;
    let offset = offset_secs(tz, from);
    let mut same = from;
    loop {
        let probe = same.saturating_add(PROBE_STEP_SECS).min(limit);
        if offset_secs(tz, probe) != offset {
            let mut changed = probe;
            while changed - same > 1 {
                let mid = same + (changed - same) / 2;
                if offset_secs(tz, mid) == offset {
                    same = mid;
                } else {
                    changed = mid;
                }
            }
            return changed;
        }
        if probe >= limit {
            return limit;
        }
        same = probe;
    }
}

/// Segments of constant offset covering `[from, to)`: each is the instant
/// the segment starts and its offset; the first starts at `from`.
pub fn offset_segments(
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, i32)> {
    let mut out = vec![(from, offset_at(tz, from))];
    let (mut at, end) = (from.timestamp(), to.timestamp());
    loop {
        let change = next_offset_change(tz, at, end);
        if change >= end {
            return out;
        }
        let t = Utc.timestamp_opt(change, 0).single().unwrap_or(to);
        out.push((t, offset_at(tz, t)));
        at = change;
    }
}

/// The local date of day number `n` (days since 1970-01-01).
pub fn date_of_day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + Duration::days(n)
}

/// The day number (days since 1970-01-01) of a local date.
pub fn day_of_date(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
}

/// The local date of an instant.
pub fn local_date(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// The instant a local date begins. Where midnight does not exist (a
/// daylight-saving change at midnight) the day begins at the first local
/// time that does; where it occurs twice, at the first.
pub fn day_start(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    let midnight = d.and_hms_opt(0, 0, 0).expect("midnight");
    for minutes in 0..=180 {
        let local = midnight + Duration::minutes(minutes);
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    // No zone skips more than three hours; treat the date as UTC otherwise.
    Utc.from_utc_datetime(&midnight)
}

/// The first day of the month of `d`.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1")
}

/// The first day of the next month.
pub fn next_month(d: NaiveDate) -> NaiveDate {
    let first = month_start(d);
    if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1).expect("january")
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1).expect("next month")
    }
}

/// The Monday of the ISO week of `d`.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// PagerDuty's interruption windows, in a person's own time zone:
/// business hours are 08:00–18:00 Monday to Friday, sleep hours 22:00–08:00
/// every day, off hours the rest (weekday evenings and weekend days).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Window {
    Business,
    Off,
    Sleep,
}

/// The window a local time falls in.
pub fn window(local: NaiveDateTime) -> Window {
    use chrono::Timelike;
    let hour = local.hour();
    if !(8..22).contains(&hour) {
        Window::Sleep
    } else if hour < 18 && local.weekday().num_days_from_monday() < 5 {
        Window::Business
    } else {
        Window::Off
    }
}

/// Whether an instant falls in business hours in `tz` (the summary's
/// "outside business hours" is its negation).
pub fn in_business_hours(tz: Tz, t: DateTime<Utc>) -> bool {
    window(t.with_timezone(&tz).naive_local()) == Window::Business
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn segments_cut_at_daylight_saving_changes() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let segs = offset_segments(tz, utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"));
        assert_eq!(
            segs,
            vec![
                (utc("2026-01-01T00:00:00Z"), 3600),
                (utc("2026-03-29T01:00:00Z"), 7200),
                (utc("2026-10-25T01:00:00Z"), 3600),
            ]
        );
        let utc_segs = offset_segments(
            chrono_tz::UTC,
            utc("2026-01-01T00:00:00Z"),
            utc("2027-01-01T00:00:00Z"),
        );
        assert_eq!(utc_segs.len(), 1);
    }

    #[test]
    fn day_start_where_midnight_is_skipped() {
        // Chile springs forward at midnight: 2026-09-06 begins at 01:00.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let start = day_start(tz, d);
        assert_eq!(local_date(tz, start), d);
        assert_eq!(
            local_date(tz, start - Duration::seconds(1)),
            d.pred_opt().unwrap()
        );
    }

    #[test]
    fn windows() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(window(at("2026-11-23 08:00")), Window::Business); // Monday
        assert_eq!(window(at("2026-11-23 17:59")), Window::Business);
        assert_eq!(window(at("2026-11-23 18:00")), Window::Off);
        assert_eq!(window(at("2026-11-23 22:00")), Window::Sleep);
        assert_eq!(window(at("2026-11-23 07:59")), Window::Sleep);
        assert_eq!(window(at("2026-11-28 12:00")), Window::Off); // Saturday
        assert_eq!(window(at("2026-11-29 23:00")), Window::Sleep);
    }

    proptest! {
        /// The segment arithmetic SQL uses gives chrono-tz's local date for
        /// every instant, in zones with and without daylight saving.
        #[test]
        fn segment_day_numbers_agree_with_chrono(
            start in 1_600_000_000i64..1_900_000_000,
            len in 1i64..(400 * DAY),
            probe in 0.0f64..1.0,
            zone in 0usize..6,
        ) {
            let tz: Tz = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe",
                "Asia/Kolkata", "UTC", "America/Santiago"][zone].parse().unwrap();
            let from = Utc.timestamp_opt(start, 0).unwrap();
            let to = from + Duration::seconds(len);
            let segs = offset_segments(tz, from, to);
            let t = from + Duration::seconds((len as f64 * probe) as i64);
            let off = segs.iter().rev().find(|(s, _)| *s <= t).unwrap().1;
            let day = (t.timestamp() + i64::from(off)).div_euclid(DAY);
            prop_assert_eq!(date_of_day(day), local_date(tz, t));
        }

        #[test]
        fn day_start_is_the_first_instant_of_the_day(
            days in 18_000i64..22_000,
            zone in 0usize..4,
        ) {
            let tz: Tz = ["Europe/Paris", "America/Santiago", "Asia/Beirut", "America/Havana"][zone]
                .parse().unwrap();
            let d = date_of_day(days);
            let start = day_start(tz, d);
            prop_assert_eq!(local_date(tz, start), d);
            prop_assert!(local_date(tz, start - Duration::seconds(1)) < d);
        }
    }
}
