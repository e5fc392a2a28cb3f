//! The calendar against a brute-force minute count, its edges (DST,
//! holidays, overnight windows) and its inverse.

use chrono::{Datelike, Duration, NaiveDateTime, Timelike};
use proptest::prelude::*;

use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("valid RFC 3339 timestamp")
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("valid date")
}

fn calendar(tz: &str, weekly: &[(Weekday, &[&str])], holidays: &[&str]) -> BusinessCalendar {
    let weekly: Vec<(Weekday, Vec<String>)> = weekly
        .iter()
        .map(|(day, windows)| (*day, windows.iter().map(|w| (*w).to_owned()).collect()))
        .collect();
    let holidays: Vec<NaiveDate> = holidays.iter().map(|d| date(d)).collect();
    BusinessCalendar::new(tz, &weekly, &holidays).expect("valid calendar")
}

const ALL_DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The same windows on every day of the week.
fn daily(tz: &str, windows: &[&str]) -> BusinessCalendar {
    let weekly: Vec<(Weekday, &[&str])> = ALL_DAYS.iter().map(|d| (*d, windows)).collect();
    calendar(tz, &weekly, &[])
}

fn err(tz: &str, window: &str) -> CalendarError {
    BusinessCalendar::new(tz, &[(Weekday::Tue, vec![window.to_owned()])], &[])
        .expect_err("invalid calendar")
}

const H: i64 = 3_600;

#[test]
fn normal_week() {
    let cal = BusinessCalendar::weekdays_9_to_5("America/New_York").unwrap();
    assert_eq!(cal.time_zone(), chrono_tz::America::New_York);
    // Mon 2026-01-05 00:00 EST to the following Monday.
    let monday = utc("2026-01-05T05:00:00Z");
    assert_eq!(
        cal.business_seconds(monday, monday + Duration::days(7)),
        40 * H
    );
    assert!(cal.is_open(utc("2026-01-05T14:00:00Z")));
    assert!(!cal.is_open(utc("2026-01-05T13:59:59Z")));
    assert!(cal.is_open(utc("2026-01-05T21:59:59.999Z")));
    assert!(!cal.is_open(utc("2026-01-05T22:00:00Z")));
    // A full working day ends at 17:00 the same day, not 09:00 the next.
    assert_eq!(
        cal.add_business_seconds(utc("2026-01-05T14:00:00Z"), 8 * H),
        Some(utc("2026-01-05T22:00:00Z"))
    );
    assert_eq!(
        cal.add_business_seconds(utc("2026-01-05T14:00:00Z"), 8 * H + 1),
        Some(utc("2026-01-06T14:00:01Z"))
    );
    assert_eq!(cal.business_seconds(monday + Duration::days(1), monday), 0);
}

#[test]
fn friday_evening_start_crosses_the_weekend() {
    let cal = BusinessCalendar::weekdays_9_to_5("America/New_York").unwrap();
    let friday_4pm = utc("2026-01-09T21:00:00Z");
    let monday_10am = utc("2026-01-12T15:00:00Z");
    assert_eq!(cal.business_seconds(friday_4pm, monday_10am), 2 * H);
    assert_eq!(
        cal.add_business_seconds(friday_4pm, 2 * H),
        Some(monday_10am)
    );
    // Started after hours: the first second is Monday 09:00:00–09:00:01.
    assert_eq!(
        cal.add_business_seconds(utc("2026-01-09T22:30:00Z"), 1),
        Some(utc("2026-01-12T14:00:01Z"))
    );
    assert!(!cal.is_open(utc("2026-01-10T15:00:00Z")));
}

#[test]
fn holidays_do_not_count() {
    let weekdays: Vec<(Weekday, &[&str])> = ALL_DAYS[..5]
        .iter()
        .map(|d| (*d, &["09:00-17:00"][..]))
        .collect();
    let cal = calendar("America/New_York", &weekdays, &["2026-01-19"]);
    assert!(!cal.is_open(utc("2026-01-19T15:00:00Z")));
    let friday_4pm = utc("2026-01-16T21:00:00Z");
    assert_eq!(
        cal.add_business_seconds(friday_4pm, 2 * H),
        Some(utc("2026-01-20T15:00:00Z"))
    );
    assert_eq!(
        cal.business_seconds(utc("2026-01-19T05:00:00Z"), utc("2026-01-20T05:00:00Z")),
        0
    );
}

#[test]
fn new_york_spring_forward() {
    // 2026-03-08: 02:00 EST (07:00Z) jumps to 03:00 EDT.
    let midnight = utc("2026-03-08T05:00:00Z");
    let next_midnight = utc("2026-03-09T04:00:00Z");
    let span = |windows: &[&str]| {
        daily("America/New_York", windows).business_seconds(midnight, next_midnight)
    };
    assert_eq!(span(&["00:00-04:00"]), 3 * H);
    assert_eq!(span(&["01:00-02:00"]), H);
    assert_eq!(span(&["02:00-03:00"]), 0);
    assert_eq!(span(&["02:15-02:45"]), 0);
    assert_eq!(span(&["01:30-02:30"]), H / 2);
    assert_eq!(span(&["00:00-24:00"]), 23 * H);

    let cal = daily("America/New_York", &["00:00-04:00"]);
    // 01:30 EST + 1h: half an hour to 02:00 EST = 03:00 EDT, then 03:30 EDT.
    assert_eq!(
        cal.add_business_seconds(utc("2026-03-08T06:30:00Z"), H),
        Some(utc("2026-03-08T07:30:00Z"))
    );
    assert!(cal.is_open(utc("2026-03-08T07:00:00Z")));
    assert!(!cal.is_open(utc("2026-03-08T08:00:00Z")));
}

#[test]
fn new_york_fall_back() {
    // 2026-11-01: 02:00 EDT (06:00Z) falls back to 01:00 EST.
    let midnight = utc("2026-11-01T04:00:00Z");
    let next_midnight = utc("2026-11-02T05:00:00Z");
    let span = |windows: &[&str]| {
        daily("America/New_York", windows).business_seconds(midnight, next_midnight)
    };
    assert_eq!(span(&["00:00-04:00"]), 5 * H);
    assert_eq!(span(&["01:00-02:00"]), 2 * H);
    assert_eq!(span(&["01:30-01:45"]), H / 2);
    assert_eq!(span(&["02:00-03:00"]), H);
    assert_eq!(span(&["00:00-24:00"]), 25 * H);

    let cal = daily("America/New_York", &["01:30-01:45"]);
    assert!(cal.is_open(utc("2026-11-01T05:30:00Z")));
    assert!(!cal.is_open(utc("2026-11-01T05:50:00Z")));
    assert!(cal.is_open(utc("2026-11-01T06:30:00Z")));
    // 20 minutes: 15 in the EDT pass, 5 more in the EST pass.
    assert_eq!(
        cal.add_business_seconds(utc("2026-11-01T05:00:00Z"), 20 * 60),
        Some(utc("2026-11-01T06:35:00Z"))
    );
}

#[test]
fn europe_london() {
    let cal = daily("Europe/London", &["00:00-24:00"]);
    // 2026-03-29: 01:00 GMT -> 02:00 BST; 2026-10-25: 02:00 BST -> 01:00 GMT.
    assert_eq!(
        cal.business_seconds(utc("2026-03-29T00:00:00Z"), utc("2026-03-29T23:00:00Z")),
        23 * H
    );
    assert_eq!(
        cal.business_seconds(utc("2026-10-24T23:00:00Z"), utc("2026-10-26T00:00:00Z")),
        25 * H
    );
    let cal = BusinessCalendar::weekdays_9_to_5("Europe/London").unwrap();
    assert!(cal.is_open(utc("2026-06-01T08:00:00Z")));
    assert!(!cal.is_open(utc("2026-06-01T07:59:59Z")));
    assert!(cal.is_open(utc("2026-12-01T16:59:59Z")));
    assert!(!cal.is_open(utc("2026-12-01T17:00:00Z")));
}

#[test]
fn lord_howe_half_hour_shift() {
    // 2026-04-05: 02:00 LHDT (+11, 15:00Z) falls back to 01:30 LHST (+10:30).
    let span = |windows: &[&str], from: &str, to: &str| {
        daily("Australia/Lord_Howe", windows).business_seconds(utc(from), utc(to))
    };
    let (apr_from, apr_to) = ("2026-04-04T13:00:00Z", "2026-04-05T13:30:00Z");
    assert_eq!(span(&["00:00-24:00"], apr_from, apr_to), 24 * H + H / 2);
    assert_eq!(span(&["01:00-03:00"], apr_from, apr_to), 2 * H + H / 2);
    assert_eq!(span(&["01:45-01:50"], apr_from, apr_to), 10 * 60);
    // 2026-10-04: 02:00 LHST (+10:30, 15:30Z the day before) jumps to 02:30 LHDT.
    let (oct_from, oct_to) = ("2026-10-03T13:30:00Z", "2026-10-04T13:00:00Z");
    assert_eq!(span(&["00:00-24:00"], oct_from, oct_to), 23 * H + H / 2);
    assert_eq!(span(&["02:00-02:30"], oct_from, oct_to), 0);
    assert_eq!(span(&["01:00-03:00"], oct_from, oct_to), H + H / 2);
}

#[test]
fn window_ending_at_midnight() {
    let cal = calendar(
        "UTC",
        &[
            (Weekday::Mon, &["22:00-24:00"]),
            (Weekday::Tue, &["00:00-02:00"]),
        ],
        &[],
    );
    assert_eq!(
        cal.business_seconds(utc("2026-01-05T00:00:00Z"), utc("2026-01-07T00:00:00Z")),
        4 * H
    );
    assert_eq!(
        cal.add_business_seconds(utc("2026-01-05T23:00:00Z"), 2 * H),
        Some(utc("2026-01-06T01:00:00Z"))
    );
    assert!(cal.is_open(utc("2026-01-05T23:59:59Z")));
    assert!(cal.is_open(utc("2026-01-06T00:00:00Z")));
    assert!(!cal.is_open(utc("2026-01-06T02:00:00Z")));
}

#[test]
fn adjacent_windows_and_repeated_weekdays_are_accepted() {
    let cal = calendar(
        "UTC",
        &[
            (Weekday::Mon, &["09:00-12:00"]),
            (Weekday::Mon, &["12:00-17:00", "8:00-8:30"]),
        ],
        &[],
    );
    assert_eq!(
        cal.business_seconds(utc("2026-01-05T00:00:00Z"), utc("2026-01-06T00:00:00Z")),
        8 * H + H / 2
    );
}

#[test]
fn unreachable_and_degenerate_additions() {
    let closed = calendar("UTC", &[], &[]);
    let now = utc("2026-01-05T10:00:00.5Z");
    assert_eq!(closed.add_business_seconds(now, 1), None);
    assert_eq!(closed.add_business_seconds(now, 0), Some(now));
    assert_eq!(closed.add_business_seconds(now, -1), None);
    let once = calendar("UTC", &[(Weekday::Mon, &["09:00-10:00"])], &[]);
    assert_eq!(
        once.add_business_seconds(now, 3 * H),
        Some(utc("2026-01-26T10:00:00Z"))
    );
    // 500 Monday hours take 500 Mondays, nine and a half years: reached.
    let far = once.add_business_seconds(now, 500 * H).unwrap();
    assert_eq!(far, utc("2026-01-12T10:00:00Z") + Duration::weeks(499));
    assert_eq!(once.business_seconds(now, far), 500 * H);
    // 600 take more than eleven years: beyond the search horizon.
    assert_eq!(once.add_business_seconds(now, 600 * H), None);
}

#[test]
fn invalid_inputs_are_rejected_with_clear_messages() {
    let e = BusinessCalendar::weekdays_9_to_5("Mars/Olympus_Mons").unwrap_err();
    assert!(matches!(e, CalendarError::UnknownTimeZone { .. }));
    assert_eq!(
        e.to_string(),
        "unknown time zone \"Mars/Olympus_Mons\": expected an IANA name such as \"Europe/London\""
    );

    let e = err("UTC", "9-17");
    assert!(matches!(
        e,
        CalendarError::MalformedWindow {
            weekday: Weekday::Tue,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "malformed business-hours window \"9-17\" on Tue: a time is missing ':' between \
         hours and minutes (expected \"HH:MM-HH:MM\", e.g. \"09:00-17:30\")"
    );
    for (window, reason) in [
        ("09:00 17:00", "missing '-'"),
        ("09:00-17:60", "minutes must be between 00 and 59"),
        ("09:0-17:00", "minutes must be two digits"),
        ("25:00-26:00", "hours must be between 00 and 23"),
        ("09:00-24:30", "hours must be between 00 and 23"),
        ("24:00-24:00", "24:00 is only allowed as an end time"),
        ("+9:00-17:00", "hours must be one or two digits"),
        ("", "missing '-'"),
    ] {
        let message = err("UTC", window).to_string();
        assert!(message.contains(reason), "{window:?}: {message}");
    }

    for window in ["17:00-09:00", "09:00-09:00"] {
        let e = err("UTC", window);
        assert!(matches!(e, CalendarError::EmptyWindow { .. }), "{window}");
        assert!(e.to_string().contains("its start must be before its end"));
    }

    let e = BusinessCalendar::new(
        "UTC",
        &[(
            Weekday::Wed,
            vec!["11:00-13:00".to_owned(), "09:00-12:00".to_owned()],
        )],
        &[],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "business-hours windows \"09:00-12:00\" and \"11:00-13:00\" on Wed overlap"
    );
}

#[test]
fn multi_year_ranges_are_additive() {
    let cal = calendar(
        "America/New_York",
        &[
            (Weekday::Mon, &["00:00-04:00", "09:00-17:00"]),
            (Weekday::Sun, &["01:00-03:00"]),
        ],
        &["2026-12-25", "2027-01-01"],
    );
    let from = utc("2025-01-01T00:00:00Z");
    let to = utc("2030-01-01T00:00:00Z");
    let whole = cal.business_seconds(from, to);
    let mut pieces = 0;
    let mut cursor = from;
    while cursor < to {
        let next = (cursor + Duration::days(30)).min(to);
        pieces += cal.business_seconds(cursor, next);
        cursor = next;
    }
    assert_eq!(whole, pieces);
    assert_eq!(
        cal.add_business_seconds(from, whole),
        Some(utc("2029-12-31T22:00:00Z"))
    );
}

// ---- property tests ----------------------------------------------------

const ZONES: &[&str] = &[
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "UTC",
];

/// Around DST transitions (NY, London, Lord Howe) plus an ordinary date.
const ANCHORS: &[&str] = &[
    "2026-03-08T07:00:00Z",
    "2026-11-01T06:00:00Z",
    "2026-03-29T01:00:00Z",
    "2026-10-25T01:00:00Z",
    "2026-04-04T15:00:00Z",
    "2026-10-03T15:30:00Z",
    "2026-06-15T12:00:00Z",
];

/// A random calendar, kept in raw form for the brute-force reference.
#[derive(Clone, Debug)]
struct Spec {
    tz: &'static str,
    /// Windows in minutes since midnight, indexed by days from Monday.
    windows: Vec<Vec<(u32, u32)>>,
    holidays: Vec<NaiveDate>,
    anchor: DateTime<Utc>,
}

impl Spec {
    fn build(&self) -> BusinessCalendar {
        let hhmm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        let weekly: Vec<(Weekday, Vec<String>)> = self
            .windows
            .iter()
            .enumerate()
            .map(|(i, ws)| {
                let texts = ws.iter().map(|&(a, b)| format!("{}-{}", hhmm(a), hhmm(b)));
                (weekday_from_index(i), texts.collect())
            })
            .collect();
        BusinessCalendar::new(self.tz, &weekly, &self.holidays).expect("generated calendar")
    }

    fn has_windows(&self) -> bool {
        self.windows.iter().any(|ws| !ws.is_empty())
    }

    /// Reference: count whole minutes in `[from, to)` one by one.
    fn brute_force_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        let tz: Tz = self.tz.parse().expect("zone");
        let mut total = 0;
        let mut at = from;
        while at < to {
            let local: NaiveDateTime = at.with_timezone(&tz).naive_local();
            let minute = local.hour() * 60 + local.minute();
            let day = local.date();
            let windows = &self.windows[day.weekday().num_days_from_monday() as usize];
            if !self.holidays.contains(&day)
                && windows.iter().any(|&(a, b)| a <= minute && minute < b)
            {
                total += 60;
            }
            at += Duration::minutes(1);
        }
        total
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    // Quarter-hour boundaries 00:00..=24:00; consecutive pairs become windows.
    let day = proptest::collection::btree_set(0u32..=96, 0..=6).prop_map(|points| {
        let points: Vec<u32> = points.into_iter().collect();
        points
            .chunks_exact(2)
            .map(|p| (p[0] * 15, p[1] * 15))
            .collect::<Vec<_>>()
    });
    (
        proptest::sample::select(ZONES),
        proptest::collection::vec(day, 7),
        proptest::sample::select(ANCHORS),
        proptest::collection::vec(-14i64..21, 0..4),
    )
        .prop_map(|(tz, windows, anchor, holiday_offsets)| {
            let anchor = utc(anchor);
            let holidays = holiday_offsets
                .iter()
                .map(|d| anchor.date_naive() + Duration::days(*d))
                .collect();
            Spec {
                tz,
                windows,
                holidays,
                anchor,
            }
        })
}

const WEEK_SECS: i64 = 7 * 24 * 3_600;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn business_seconds_matches_minute_brute_force(
        spec in spec(),
        start_min in -(14 * 24 * 60i64)..(7 * 24 * 60),
        len_min in 0i64..=(21 * 24 * 60),
    ) {
        let cal = spec.build();
        let from = spec.anchor + Duration::minutes(start_min);
        let to = from + Duration::minutes(len_min);
        prop_assert_eq!(cal.business_seconds(from, to), spec.brute_force_seconds(from, to));
        prop_assert_eq!(cal.business_seconds(to, from), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn add_business_seconds_is_the_minimal_inverse(
        spec in spec(),
        start in -2 * WEEK_SECS..WEEK_SECS,
        secs in prop_oneof![0i64..=3 * 3_600, 0i64..=2 * WEEK_SECS],
    ) {
        let cal = spec.build();
        let from = spec.anchor + Duration::seconds(start);
        match cal.add_business_seconds(from, secs) {
            Some(t) => {
                prop_assert!(t >= from);
                prop_assert_eq!(cal.business_seconds(from, t), secs);
                if secs > 0 {
                    prop_assert_eq!(cal.business_seconds(from, t - Duration::seconds(1)), secs - 1);
                    // The last counted second is business time.
                    prop_assert!(cal.is_open(t - Duration::seconds(1)));
                } else {
                    prop_assert_eq!(t, from);
                }
            }
            // Out of reach: no hours, or not enough of them within the
            // search horizon (fifteen minutes a week take more than ten
            // years to hold two weeks' worth).
            None => prop_assert!(
                !spec.has_windows()
                    || cal.business_seconds(from, from + Duration::seconds(SEARCH_HORIZON_SECS))
                        < secs
            ),
        }
    }

    #[test]
    fn business_seconds_is_additive(
        spec in spec(),
        start in -2 * WEEK_SECS..WEEK_SECS,
        first in 0i64..=3 * WEEK_SECS,
        second in 0i64..=3 * WEEK_SECS,
    ) {
        let cal = spec.build();
        let a = spec.anchor + Duration::seconds(start);
        let b = a + Duration::seconds(first);
        let c = b + Duration::seconds(second);
        prop_assert_eq!(
            cal.business_seconds(a, c),
            cal.business_seconds(a, b) + cal.business_seconds(b, c)
        );
    }

    #[test]
    fn is_open_agrees_with_business_seconds(
        spec in spec(),
        start in -2 * WEEK_SECS..WEEK_SECS,
    ) {
        let cal = spec.build();
        let at = spec.anchor + Duration::seconds(start);
        let counted = cal.business_seconds(at, at + Duration::seconds(1));
        prop_assert_eq!(cal.is_open(at), counted == 1);
    }
}
