//! SLA clock arithmetic: elapsed time, deadlines and remaining time.
//!
//! An SLA clock starts at some instant, counts seconds according to a
//! [`Clock`] (every second, or only business hours of a
//! [`BusinessCalendar`]), and stops while the item is paused (for example
//! while waiting for the customer). Pauses are given as a list of
//! [`Pause`]s that may overlap each other, begin before the clock started or
//! still be running (`end == None`); they are merged before use.
//!
//! Like the calendar, all counting is done in whole seconds: instants are
//! truncated (floored) to the second they fall in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;

/// Which seconds an SLA clock counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Every second counts (24×7).
    AroundTheClock,
    /// Only business time of the calendar counts.
    Business(BusinessCalendar),
}

impl Clock {
    /// Counted seconds in `[from, to)` (0 if `to <= from`).
    #[must_use]
    pub fn counted_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        match self {
            Self::AroundTheClock => (to.timestamp() - from.timestamp()).max(0),
            Self::Business(calendar) => calendar.business_seconds(from, to),
        }
    }

    /// The earliest instant `t >= from` with `counted_seconds(from, t) == secs`.
    ///
    /// Returns `from` itself for `secs == 0`, and `None` if `secs` is
    /// negative or the instant is out of reach (out of chrono's range, or
    /// beyond the business calendar's search horizon of about ten years).
    #[must_use]
    pub fn add(&self, from: DateTime<Utc>, secs: i64) -> Option<DateTime<Utc>> {
        match self {
            Self::AroundTheClock => match secs {
                ..0 => None,
                0 => Some(from),
                _ => from
                    .timestamp()
                    .checked_add(secs)
                    .and_then(|ts| DateTime::from_timestamp(ts, 0)),
            },
            Self::Business(calendar) => calendar.add_business_seconds(from, secs),
        }
    }
}

/// An interval `[start, end)` during which the SLA clock is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// When the pause began.
    pub start: DateTime<Utc>,
    /// When the pause ended; `None` while it is still in effect.
    pub end: Option<DateTime<Utc>>,
}

impl Pause {
    /// A finished pause `[start, end)`.
    #[must_use]
    pub fn closed(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            start,
            end: Some(end),
        }
    }

    /// A pause that began at `start` and is still in effect.
    #[must_use]
    pub fn open(start: DateTime<Utc>) -> Self {
        Self { start, end: None }
    }
}

/// Counted seconds in `[start, now)`, excluding paused intervals.
///
/// Pauses may overlap each other and lie partly (or entirely) before `start`
/// or after `now`; an open pause counts as paused from its start onwards.
/// Pauses whose end is not after their start are ignored. Returns 0 if
/// `now <= start`.
#[must_use]
pub fn elapsed(clock: &Clock, start: DateTime<Utc>, now: DateTime<Utc>, pauses: &[Pause]) -> i64 {
    if now <= start {
        return 0;
    }
    let mut total = 0;
    let mut cursor = start;
    for span in merge(pauses, start) {
        if span.start >= now {
            break;
        }
        total += clock.counted_seconds(cursor, span.start);
        match span.end {
            Some(end) if end < now => cursor = end,
            _ => return total,
        }
    }
    total + clock.counted_seconds(cursor, now)
}

/// The instant at which `target_secs` counted seconds will have elapsed since
/// `start`, given the pauses so far.
///
/// This is the earliest `t` with
/// `elapsed(clock, start, t, pauses) == target_secs`: paused intervals do
/// not count, and a closed pause reaching beyond `t` only matters up to `t`.
///
/// Returns `None` (there is no deadline) if an open pause begins before the
/// target would be reached, because the clock is stopped; an open pause that
/// begins exactly when the target is reached does not prevent it. Also
/// returns `None` if `target_secs` is negative or the instant is out of reach
/// (see [`Clock::add`]). A `target_secs` of 0 gives `start`.
#[must_use]
pub fn deadline(
    clock: &Clock,
    start: DateTime<Utc>,
    target_secs: i64,
    pauses: &[Pause],
) -> Option<DateTime<Utc>> {
    if target_secs < 0 {
        return None;
    }
    let mut remaining = target_secs;
    let mut cursor = start;
    for span in merge(pauses, start) {
        let available = clock.counted_seconds(cursor, span.start);
        if available >= remaining {
            return clock.add(cursor, remaining);
        }
        remaining -= available;
        cursor = span.end?;
    }
    clock.add(cursor, remaining)
}

/// `target_secs` minus the [`elapsed`] counted seconds at `now`; negative
/// once the target is overdue.
#[must_use]
pub fn remaining(
    clock: &Clock,
    start: DateTime<Utc>,
    target_secs: i64,
    pauses: &[Pause],
    now: DateTime<Utc>,
) -> i64 {
    target_secs.saturating_sub(elapsed(clock, start, now, pauses))
}

/// Wall-clock seconds in `[start, now)` minus pauses, ignoring any calendar
/// (for display next to business time).
#[must_use]
pub fn wall_elapsed(start: DateTime<Utc>, now: DateTime<Utc>, pauses: &[Pause]) -> i64 {
    elapsed(&Clock::AroundTheClock, start, now, pauses)
}

/// A paused interval `[start, end)`; `end == None` means unbounded.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
}

/// The pauses clipped to begin no earlier than `from`, with empty ones
/// dropped, sorted and merged into disjoint, non-touching spans.
fn merge(pauses: &[Pause], from: DateTime<Utc>) -> Vec<Span> {
    let mut spans: Vec<Span> = pauses
        .iter()
        .filter_map(|pause| {
            let start = pause.start.max(from);
            match pause.end {
                Some(end) if end <= start => None,
                end => Some(Span { start, end }),
            }
        })
        .collect();
    spans.sort_by_key(|span| span.start);

    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if last.end.is_none_or(|end| span.start <= end) => {
                last.end = last.end.zip(span.end).map(|(a, b)| a.max(b));
            }
            _ => merged.push(span),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Weekday};
    use proptest::prelude::*;

    use super::*;

    const H: i64 = 3_600;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("valid RFC 3339 timestamp")
    }

    fn new_york_9_to_5() -> Clock {
        Clock::Business(BusinessCalendar::weekdays_9_to_5("America/New_York").unwrap())
    }

    #[test]
    fn around_the_clock_basics() {
        let clock = Clock::AroundTheClock;
        let start = utc("2026-01-05T00:00:00Z");
        assert_eq!(clock.counted_seconds(start, start + Duration::hours(1)), H);
        assert_eq!(clock.counted_seconds(start + Duration::hours(1), start), 0);
        assert_eq!(clock.add(start, 90), Some(utc("2026-01-05T00:01:30Z")));
        assert_eq!(clock.add(start, -1), None);
        assert_eq!(
            elapsed(&clock, start, start + Duration::hours(5), &[]),
            5 * H
        );
        assert_eq!(
            deadline(&clock, start, 4 * H, &[]),
            Some(utc("2026-01-05T04:00:00Z"))
        );
        assert_eq!(deadline(&clock, start, 0, &[]), Some(start));
        assert_eq!(deadline(&clock, start, -1, &[]), None);
    }

    #[test]
    fn pauses_are_merged_and_clipped() {
        let clock = Clock::AroundTheClock;
        let start = utc("2026-01-05T10:00:00Z");
        let now = utc("2026-01-05T20:00:00Z");
        let pauses = [
            // Partly before start: 10:00–11:00 counts as paused.
            Pause::closed(utc("2026-01-05T08:00:00Z"), utc("2026-01-05T11:00:00Z")),
            // Overlapping pair: 12:00–14:30.
            Pause::closed(utc("2026-01-05T12:00:00Z"), utc("2026-01-05T14:00:00Z")),
            Pause::closed(utc("2026-01-05T13:00:00Z"), utc("2026-01-05T14:30:00Z")),
            // Nested inside the previous one.
            Pause::closed(utc("2026-01-05T12:30:00Z"), utc("2026-01-05T12:45:00Z")),
            // Partly after now: 19:00–20:00.
            Pause::closed(utc("2026-01-05T19:00:00Z"), utc("2026-01-05T23:00:00Z")),
            // Entirely before start, entirely after now, and inverted: ignored.
            Pause::closed(utc("2026-01-05T01:00:00Z"), utc("2026-01-05T02:00:00Z")),
            Pause::closed(utc("2026-01-05T21:00:00Z"), utc("2026-01-05T22:00:00Z")),
            Pause::closed(utc("2026-01-05T16:00:00Z"), utc("2026-01-05T15:00:00Z")),
        ];
        // 10h - 1h - 2.5h - 1h.
        assert_eq!(elapsed(&clock, start, now, &pauses), 5 * H + H / 2);
        assert_eq!(wall_elapsed(start, now, &pauses), 5 * H + H / 2);
        assert_eq!(elapsed(&clock, now, start, &pauses), 0);

        let open = [Pause::open(utc("2026-01-05T15:00:00Z"))];
        assert_eq!(elapsed(&clock, start, now, &open), 5 * H);
        let open_before_start = [Pause::open(utc("2026-01-05T09:00:00Z"))];
        assert_eq!(elapsed(&clock, start, now, &open_before_start), 0);
    }

    #[test]
    fn deadlines_with_pauses() {
        let clock = Clock::AroundTheClock;
        let start = utc("2026-01-05T00:00:00Z");
        let closed = [Pause::closed(
            utc("2026-01-05T01:00:00Z"),
            utc("2026-01-05T02:00:00Z"),
        )];
        assert_eq!(
            deadline(&clock, start, 4 * H, &closed),
            Some(utc("2026-01-05T05:00:00Z"))
        );

        // An open pause before the deadline stops the clock: no deadline.
        let open_early = [Pause::open(utc("2026-01-05T03:00:00Z"))];
        assert_eq!(deadline(&clock, start, 4 * H, &open_early), None);
        // An open pause after (or exactly at) the deadline does not matter.
        for at in ["2026-01-05T04:00:00Z", "2026-01-05T06:00:00Z"] {
            let open_late = [Pause::open(utc(at))];
            assert_eq!(
                deadline(&clock, start, 4 * H, &open_late),
                Some(utc("2026-01-05T04:00:00Z"))
            );
        }
        // A closed pause starting at the deadline does not move it either.
        let at_deadline = [Pause::closed(
            utc("2026-01-05T04:00:00Z"),
            utc("2026-01-06T00:00:00Z"),
        )];
        assert_eq!(
            deadline(&clock, start, 4 * H, &at_deadline),
            Some(utc("2026-01-05T04:00:00Z"))
        );
    }

    #[test]
    fn business_deadline_crosses_weekend_and_pause() {
        let clock = new_york_9_to_5();
        let friday_4pm = utc("2026-01-09T21:00:00Z");
        assert_eq!(
            deadline(&clock, friday_4pm, 2 * H, &[]),
            Some(utc("2026-01-12T15:00:00Z"))
        );
        // Paused Monday 09:00–09:30: half an hour later.
        let pauses = [Pause::closed(
            utc("2026-01-12T14:00:00Z"),
            utc("2026-01-12T14:30:00Z"),
        )];
        let due = deadline(&clock, friday_4pm, 2 * H, &pauses);
        assert_eq!(due, Some(utc("2026-01-12T15:30:00Z")));
        // A weekend pause costs nothing.
        let weekend = [Pause::closed(
            utc("2026-01-10T12:00:00Z"),
            utc("2026-01-11T12:00:00Z"),
        )];
        assert_eq!(
            deadline(&clock, friday_4pm, 2 * H, &weekend),
            Some(utc("2026-01-12T15:00:00Z"))
        );
        // Paused over the weekend and still paused: no deadline.
        let open = [Pause::open(utc("2026-01-10T12:00:00Z"))];
        assert_eq!(deadline(&clock, friday_4pm, 2 * H, &open), None);

        let monday_noon = utc("2026-01-12T17:00:00Z");
        assert_eq!(
            elapsed(&clock, friday_4pm, monday_noon, &pauses),
            3 * H + H / 2
        );
        assert_eq!(
            remaining(&clock, friday_4pm, 2 * H, &pauses, monday_noon),
            -(H + H / 2)
        );
        assert_eq!(
            remaining(&clock, friday_4pm, 8 * H, &pauses, monday_noon),
            4 * H + H / 2
        );
        // Wall time ignores the calendar: 68h - 0.5h.
        assert_eq!(
            wall_elapsed(friday_4pm, monday_noon, &pauses),
            67 * H + H / 2
        );
    }

    #[test]
    fn pause_constructors() {
        let pause = Pause::open(utc("2026-01-05T00:00:00Z"));
        assert_eq!(pause.end, None);
        assert_eq!(
            Pause::closed(pause.start, pause.start).end,
            Some(pause.start)
        );
    }

    // ---- property tests ----------------------------------------------------

    fn clocks() -> Vec<Clock> {
        let daily = |tz: &str, windows: &[&str]| {
            let weekly: Vec<(Weekday, Vec<String>)> = [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ]
            .into_iter()
            .map(|d| (d, windows.iter().map(|w| (*w).to_owned()).collect()))
            .collect();
            let holidays = ["2026-11-03".parse().unwrap()];
            Clock::Business(BusinessCalendar::new(tz, &weekly, &holidays).unwrap())
        };
        vec![
            Clock::AroundTheClock,
            new_york_9_to_5(),
            daily("America/New_York", &["00:00-04:00", "09:00-17:00"]),
            daily("Europe/London", &["01:00-02:00", "22:00-24:00"]),
            daily("Australia/Lord_Howe", &["01:30-02:15", "08:00-18:00"]),
            Clock::Business(BusinessCalendar::new("UTC", &[], &[]).unwrap()),
        ]
    }

    /// Seconds relative to 2026-10-25T00:00Z (London and New York fall back).
    fn base() -> DateTime<Utc> {
        utc("2026-10-25T00:00:00Z")
    }

    const DAY: i64 = 86_400;

    fn pause() -> impl Strategy<Value = Pause> {
        (-3 * DAY..21 * DAY, 1i64..3 * DAY, prop::bool::weighted(0.2)).prop_map(
            |(start, len, open)| {
                let start = base() + Duration::seconds(start);
                Pause {
                    start,
                    end: (!open).then(|| start + Duration::seconds(len)),
                }
            },
        )
    }

    fn clock() -> impl Strategy<Value = Clock> {
        proptest::sample::select(clocks())
    }

    /// `None` (no deadline) sorts after every instant.
    fn later_or_equal(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
        match (a, b) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => a >= b,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn paused_time_never_counts(
            clock in clock(),
            start in 0i64..7 * DAY,
            pause_at in 0i64..7 * DAY,
            pause_len in 0i64..3 * DAY,
            after in 0i64..7 * DAY,
        ) {
            let start = base() + Duration::seconds(start);
            let pause_start = start + Duration::seconds(pause_at);
            let pause_end = pause_start + Duration::seconds(pause_len);
            let now = pause_end + Duration::seconds(after);
            let pauses = [Pause::closed(pause_start, pause_end)];
            prop_assert_eq!(
                elapsed(&clock, start, now, &pauses),
                elapsed(&clock, start, now, &[]) - clock.counted_seconds(pause_start, pause_end)
            );
            prop_assert_eq!(
                wall_elapsed(start, now, &pauses),
                (now - start).num_seconds() - pause_len
            );
        }

        #[test]
        fn adding_a_pause_never_moves_the_deadline_earlier(
            clock in clock(),
            start in 0i64..7 * DAY,
            target in prop_oneof![0i64..=8 * 3_600, 0i64..=5 * DAY],
            pauses in proptest::collection::vec(pause(), 0..4),
            extra in pause(),
        ) {
            let start = base() + Duration::seconds(start);
            let before = deadline(&clock, start, target, &pauses);
            let mut more = pauses.clone();
            more.push(extra);
            let after = deadline(&clock, start, target, &more);
            prop_assert!(later_or_equal(after, before), "{:?} < {:?}", after, before);
        }

        #[test]
        fn elapsed_is_monotone_and_consistent_with_deadline(
            clock in clock(),
            start in 0i64..7 * DAY,
            now in 0i64..14 * DAY,
            later in 0i64..3 * DAY,
            target in prop_oneof![0i64..=8 * 3_600, 0i64..=5 * DAY],
            pauses in proptest::collection::vec(pause(), 0..4),
        ) {
            let start = base() + Duration::seconds(start);
            let now = base() + Duration::seconds(now);
            let later = now + Duration::seconds(later);
            let at_now = elapsed(&clock, start, now, &pauses);
            prop_assert!(at_now >= 0);
            prop_assert!(at_now <= elapsed(&clock, start, later, &pauses));
            prop_assert_eq!(remaining(&clock, start, target, &pauses, now), target - at_now);

            if let Some(due) = deadline(&clock, start, target, &pauses) {
                prop_assert!(due >= start);
                prop_assert_eq!(elapsed(&clock, start, due, &pauses), target);
                if due > start {
                    // Minimal: one second earlier the target was not yet reached.
                    let just_before = elapsed(&clock, start, due - Duration::seconds(1), &pauses);
                    prop_assert!(just_before < target);
                }
            } else if target > 0 && !matches!(&clock, Clock::Business(c) if c.add_business_seconds(start, 1).is_none()) {
                // No deadline means an open pause stops the clock first.
                prop_assert!(pauses.iter().any(|p| p.end.is_none()));
            }
        }
    }
}
