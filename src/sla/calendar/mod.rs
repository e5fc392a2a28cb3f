//! Business-hours calendars.
//!
//! A [`BusinessCalendar`] describes when a business-hours SLA clock runs: an
//! IANA time zone, a list of local wall-clock windows for every weekday, and a
//! set of holidays (local dates on which nothing counts).
//!
//! # Definition
//!
//! An instant is *business time* iff its **local wall-clock time** in the
//! calendar's time zone falls in `[start, end)` of one of the windows of that
//! local date's weekday, and that local date is not a holiday.
//!
//! Because the definition is about wall-clock time, daylight-saving
//! transitions have visible effects:
//!
//! * on a spring-forward day a `00:00-04:00` window lasts one hour less, and a
//!   window lying entirely inside the skipped hour contributes nothing;
//! * on a fall-back day a `00:00-04:00` window lasts one hour more, and a
//!   window inside the repeated hour counts twice.
//!
//! # Precision
//!
//! All arithmetic is done in whole seconds: instants are truncated (floored)
//! to the second they fall in. Results of [`BusinessCalendar::add_business_seconds`]
//! are therefore whole-second instants (except for a zero amount, which
//! returns the input unchanged).
//!
//! # Implementation
//!
//! `chrono-tz` does not expose its transition table, so a UTC range is split
//! into segments of constant UTC offset by probing the offset every few hours
//! and binary-searching (to the second) where it changes. Within a segment,
//! local time is UTC shifted by a constant, so the segment's naive local
//! interval is intersected day by day with the weekly windows. The cost is
//! proportional to the number of local days in the range, not to its length
//! in seconds or minutes.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::ops::ControlFlow;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

const SECS_PER_DAY: i64 = 86_400;

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// How far [`BusinessCalendar::add_business_seconds`] searches before giving up.
const SEARCH_HORIZON_SECS: i64 = 10 * 366 * SECS_PER_DAY;

/// Why a [`BusinessCalendar`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The time zone is not a known IANA name.
    #[error("unknown time zone {name:?}: expected an IANA name such as \"Europe/London\"")]
    UnknownTimeZone {
        /// The rejected name.
        name: String,
    },
    /// A window is not of the form `HH:MM-HH:MM`.
    #[error(
        "malformed business-hours window {window:?} on {weekday}: {reason} \
         (expected \"HH:MM-HH:MM\", e.g. \"09:00-17:30\")"
    )]
    MalformedWindow {
        /// The weekday the window was given for.
        weekday: Weekday,
        /// The rejected window text.
        window: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A window's start is not before its end.
    #[error(
        "business-hours window {window:?} on {weekday} is empty: its start must be before its end"
    )]
    EmptyWindow {
        /// The weekday the window was given for.
        weekday: Weekday,
        /// The rejected window text.
        window: String,
    },
    /// Two windows of the same weekday overlap.
    #[error("business-hours windows {first:?} and {second:?} on {weekday} overlap")]
    OverlappingWindows {
        /// The weekday the windows were given for.
        weekday: Weekday,
        /// The earlier-starting window.
        first: String,
        /// The window that starts before `first` ends.
        second: String,
    },
}

/// A daily window in seconds since local midnight: `0 <= start < end <= 86_400`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    start: i64,
    end: i64,
}

/// Business hours in one time zone: weekly windows minus holidays.
///
/// See the [module documentation](self) for the exact definition of business
/// time, including its behaviour around daylight-saving transitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessCalendar {
    tz: Tz,
    /// Sorted, non-overlapping windows, indexed by days from Monday.
    weekly: [Vec<Window>; 7],
    holidays: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    /// Builds a calendar.
    ///
    /// * `tz`: an IANA time zone name such as `"America/New_York"`.
    /// * `weekly`: for each weekday, a list of `"HH:MM-HH:MM"` local
    ///   wall-clock windows (start inclusive, end exclusive; the end may be
    ///   `"24:00"`). Weekdays that are not listed have no business hours; a
    ///   weekday listed more than once gets the union of its lists.
    /// * `holidays`: local dates on which nothing counts.
    ///
    /// # Errors
    ///
    /// * [`CalendarError::UnknownTimeZone`] if `tz` is not a known IANA name;
    /// * [`CalendarError::MalformedWindow`] if a window is not `HH:MM-HH:MM`
    ///   with hours `00`–`23` and minutes `00`–`59` (or an end of `24:00`);
    /// * [`CalendarError::EmptyWindow`] if a window's start is not before its end;
    /// * [`CalendarError::OverlappingWindows`] if two windows of one weekday
    ///   overlap (touching windows such as `09:00-12:00` and `12:00-17:00`
    ///   are fine).
    pub fn new(
        tz: &str,
        weekly: &[(Weekday, Vec<String>)],
        holidays: &[NaiveDate],
    ) -> Result<Self, CalendarError> {
        let zone: Tz = tz.parse().map_err(|_| CalendarError::UnknownTimeZone {
            name: tz.to_owned(),
        })?;

        let mut parsed: [Vec<(Window, &str)>; 7] = Default::default();
        for (weekday, windows) in weekly {
            for text in windows {
                let window = parse_window(*weekday, text)?;
                parsed[weekday.num_days_from_monday() as usize].push((window, text));
            }
        }

        let mut days: [Vec<Window>; 7] = Default::default();
        for (index, (windows, day)) in parsed.iter_mut().zip(&mut days).enumerate() {
            windows.sort_by_key(|(window, _)| window.start);
            if let Some(pair) = windows
                .windows(2)
                .find(|pair| pair[0].0.end > pair[1].0.start)
            {
                return Err(CalendarError::OverlappingWindows {
                    weekday: weekday_from_index(index),
                    first: pair[0].1.to_owned(),
                    second: pair[1].1.to_owned(),
                });
            }
            *day = windows.iter().map(|(window, _)| *window).collect();
        }

        Ok(Self {
            tz: zone,
            weekly: days,
            holidays: holidays.iter().copied().collect(),
        })
    }

    /// A Monday–Friday `09:00-17:00` calendar without holidays.
    ///
    /// # Errors
    ///
    /// [`CalendarError::UnknownTimeZone`] if `tz` is not a known IANA name.
    pub fn weekdays_9_to_5(tz: &str) -> Result<Self, CalendarError> {
        let weekly: Vec<(Weekday, Vec<String>)> = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|day| (day, vec!["09:00-17:00".to_owned()]))
        .collect();
        Self::new(tz, &weekly, &[])
    }

    /// The calendar's time zone.
    #[must_use]
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// Whether `at` is business time.
    #[must_use]
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let ts = at.timestamp();
        let local = ts + self.offset_at(ts);
        let day = local.div_euclid(SECS_PER_DAY);
        let time_of_day = local.rem_euclid(SECS_PER_DAY);
        !self.is_holiday(day)
            && self.weekly[weekday_index(day)]
                .iter()
                .any(|window| window.start <= time_of_day && time_of_day < window.end)
    }

    /// Seconds in `[from, to)` that are business time (0 if `to <= from`).
    #[must_use]
    pub fn business_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        let mut total = 0;
        let ControlFlow::Continue(()) =
            self.walk::<Infallible>(from.timestamp(), to.timestamp(), |start, end| {
                total += end - start;
                ControlFlow::Continue(())
            });
        total
    }

    /// The earliest instant `t >= from` with `business_seconds(from, t) == secs`.
    ///
    /// Returns `from` itself for `secs == 0`, and `None` if `secs` is negative
    /// or the amount cannot be reached within about ten years after `from`
    /// (for instance because the calendar has no business hours at all).
    #[must_use]
    pub fn add_business_seconds(&self, from: DateTime<Utc>, secs: i64) -> Option<DateTime<Utc>> {
        match secs {
            ..0 => return None,
            0 => return Some(from),
            _ => {}
        }
        if self.weekly.iter().all(Vec::is_empty) {
            return None;
        }
        let start = from.timestamp();
        let limit = start
            .saturating_add(SEARCH_HORIZON_SECS)
            .min(DateTime::<Utc>::MAX_UTC.timestamp());
        let mut remaining = secs;
        let found = self.walk(start, limit, |open, close| {
            if remaining <= close - open {
                ControlFlow::Break(open + remaining)
            } else {
                remaining -= close - open;
                ControlFlow::Continue(())
            }
        });
        match found {
            ControlFlow::Break(ts) => DateTime::from_timestamp(ts, 0),
            ControlFlow::Continue(()) => None,
        }
    }

    /// Calls `visit(start, end)` (UTC Unix seconds) for every business
    /// interval within `[from, to)`, in chronological order, until it breaks.
    fn walk<B>(
        &self,
        from: i64,
        to: i64,
        mut visit: impl FnMut(i64, i64) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let mut cursor = from;
        while cursor < to {
            let offset = self.offset_at(cursor);
            let segment_end = self.next_offset_change(cursor, to);
            self.walk_segment(cursor + offset, segment_end + offset, offset, &mut visit)?;
            cursor = segment_end;
        }
        ControlFlow::Continue(())
    }

    /// Like [`Self::walk`] for the local interval `[from, to)` of a segment
    /// with the constant UTC offset `offset`.
    fn walk_segment<B>(
        &self,
        from: i64,
        to: i64,
        offset: i64,
        visit: &mut impl FnMut(i64, i64) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        for day in from.div_euclid(SECS_PER_DAY)..=(to - 1).div_euclid(SECS_PER_DAY) {
            let windows = &self.weekly[weekday_index(day)];
            if windows.is_empty() || self.is_holiday(day) {
                continue;
            }
            let midnight = day * SECS_PER_DAY;
            for window in windows {
                let start = (midnight + window.start).max(from);
                let end = (midnight + window.end).min(to);
                if start < end {
                    visit(start - offset, end - offset)?;
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// The first second in `(from, limit]` whose UTC offset differs from
    /// the offset at `from`, or `limit` if there is none.
    fn next_offset_change(&self, from: i64, limit: i64) -> i64 {
        crate::tz::next_offset_change(self.tz, from, limit)
    }

    /// The UTC offset (local minus UTC, in seconds) in effect at Unix second `ts`.
    fn offset_at(&self, ts: i64) -> i64 {
        crate::tz::offset_secs(self.tz, ts)
    }

    /// Whether the local date `day` (days since 1970-01-01) is a holiday.
    fn is_holiday(&self, day: i64) -> bool {
        !self.holidays.is_empty()
            && day
                .checked_add(UNIX_EPOCH_DAYS_FROM_CE)
                .and_then(|ce| i32::try_from(ce).ok())
                .and_then(NaiveDate::from_num_days_from_ce_opt)
                .is_some_and(|date| self.holidays.contains(&date))
    }
}

/// Days from Monday of the local date `day` (days since 1970-01-01, a Thursday).
#[allow(
    clippy::cast_possible_truncation,
    reason = "`rem_euclid(7)` is in 0..7, so the cast is lossless"
)]
fn weekday_index(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

fn weekday_from_index(index: usize) -> Weekday {
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ][index % 7]
}

/// Parses `"HH:MM-HH:MM"`.
fn parse_window(weekday: Weekday, text: &str) -> Result<Window, CalendarError> {
    let malformed = |reason| CalendarError::MalformedWindow {
        weekday,
        window: text.to_owned(),
        reason,
    };
    let (start, end) = text
        .split_once('-')
        .ok_or_else(|| malformed("missing '-' between start and end"))?;
    let start = parse_time_of_day(start.trim()).map_err(malformed)?;
    let end = parse_time_of_day(end.trim()).map_err(malformed)?;
    if start == SECS_PER_DAY {
        return Err(malformed("24:00 is only allowed as an end time"));
    }
    if start >= end {
        return Err(CalendarError::EmptyWindow {
            weekday,
            window: text.to_owned(),
        });
    }
    Ok(Window { start, end })
}

/// Parses `"HH:MM"` (or `"H:MM"`) into seconds since midnight; `"24:00"` is 86 400.
fn parse_time_of_day(text: &str) -> Result<i64, &'static str> {
    let (hours, minutes) = text
        .split_once(':')
        .ok_or("a time is missing ':' between hours and minutes")?;
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if hours.is_empty() || hours.len() > 2 || !all_digits(hours) {
        return Err("hours must be one or two digits");
    }
    if minutes.len() != 2 || !all_digits(minutes) {
        return Err("minutes must be two digits");
    }
    let hours: i64 = hours.parse().map_err(|_| "hours must be a number")?;
    let minutes: i64 = minutes.parse().map_err(|_| "minutes must be a number")?;
    if minutes > 59 {
        return Err("minutes must be between 00 and 59");
    }
    match (hours, minutes) {
        (24, 0) => Ok(SECS_PER_DAY),
        (0..=23, _) => Ok(hours * 3_600 + minutes * 60),
        _ => Err("hours must be between 00 and 23 (24:00 is allowed as an end time)"),
    }
}

#[cfg(test)]
mod tests;
