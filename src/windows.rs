//! Interruption windows: which part of a person's week is business, off or
//! sleep hours, for counting interruptions. PagerDuty's are fixed (business
//! 08:00–18:00 Monday to Friday, sleep 22:00–08:00, off the rest, in the
//! user's time zone); pagerlens's are PagerDuty's unless configured
//! globally (`PAGERLENS_INTERRUPTION_WINDOWS`, or an admin's global set)
//! or for a team (an admin's set), each optionally with a business
//! calendar whose holidays count as off hours. A user's notifications are
//! counted in their first team's set (by team id) that has one, else the
//! global set (`incidents::facts::windows` loads the sets in force).
//!
//! A set is a list of rules (a window, days, a local time range; a range
//! whose end is not after its start runs past midnight). The rules must
//! cover every minute of the week exactly once.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::tz::Window;

const WEEK: usize = 7 * 1440;

/// One rule: `window` on `days` from `from` to `to` (local times; `to` not
/// after `from` runs past midnight into the next day; `24:00` is the end of
/// the day).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowRule {
    pub window: String,
    pub days: Vec<String>,
    pub from: String,
    pub to: String,
}

/// A bad window set: the field at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct WindowError {
    pub field: String,
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> WindowError {
    WindowError {
        field: field.into(),
        message: message.into(),
    }
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn parse_day(s: &str) -> Option<usize> {
    let s = s.trim().to_lowercase();
    DAYS.iter()
        .position(|d| *d == s || (s.len() >= 3 && d.starts_with(&s)))
}

fn parse_window(s: &str) -> Option<Window> {
    match s.trim().to_uppercase().as_str() {
        "BUSINESS" => Some(Window::Business),
        "OFF" => Some(Window::Off),
        "SLEEP" => Some(Window::Sleep),
        _ => None,
    }
}

fn window_name(w: Window) -> &'static str {
    match w {
        Window::Business => "business",
        Window::Off => "off",
        Window::Sleep => "sleep",
    }
}

/// Minutes from midnight of `HH:MM` (`24:00` allowed as an end).
fn parse_minute(s: &str, end: bool) -> Option<usize> {
    if end && s.trim() == "24:00" {
        return Some(1440);
    }
    let t = NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()?;
    Some((t.hour() * 60 + t.minute()) as usize)
}

/// A checked set: the window of every minute of the week.
#[derive(Clone, PartialEq, Eq)]
pub struct WindowSet {
    minutes: Box<[Window; WEEK]>,
    pub rules: Vec<WindowRule>,
    /// Local dates on which business hours count as off hours.
    pub holidays: BTreeSet<NaiveDate>,
    pub calendar_id: Option<i32>,
}

impl std::fmt::Debug for WindowSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowSet")
            .field("rules", &self.rules)
            .field("calendar_id", &self.calendar_id)
            .finish()
    }
}

impl WindowSet {
    /// Checks rules: known windows and days, readable times, and every
    /// minute of the week in exactly one window. Errors name the field
    /// (`rules[2].from`, `rules`).
    ///
    /// # Errors
    /// The first problem found.
    pub fn new(rules: Vec<WindowRule>) -> Result<Self, WindowError> {
        let mut owner: Vec<Option<usize>> = vec![None; WEEK];
        let mut minutes = Box::new([Window::Off; WEEK]);
        if rules.is_empty() {
            return Err(err("rules", "give at least one rule"));
        }
        for (i, r) in rules.iter().enumerate() {
            let w = parse_window(&r.window).ok_or_else(|| {
                err(
                    format!("rules[{i}].window"),
                    format!("{:?} is not BUSINESS, OFF or SLEEP", r.window),
                )
            })?;
            if r.days.is_empty() {
                return Err(err(format!("rules[{i}].days"), "name at least one day"));
            }
            let from = parse_minute(&r.from, false).ok_or_else(|| {
                err(
                    format!("rules[{i}].from"),
                    format!("{:?} is not a time HH:MM", r.from),
                )
            })?;
            let to = parse_minute(&r.to, true).ok_or_else(|| {
                err(
                    format!("rules[{i}].to"),
                    format!("{:?} is not a time HH:MM (or 24:00)", r.to),
                )
            })?;
            if from == to {
                return Err(err(
                    format!("rules[{i}].to"),
                    "the range is empty: use 00:00 to 24:00 for a whole day",
                ));
            }
            let len = if to > from {
                to - from
            } else {
                1440 - from + to
            };
            for day in &r.days {
                let d = parse_day(day).ok_or_else(|| {
                    err(
                        format!("rules[{i}].days"),
                        format!("{day:?} is not a day of the week"),
                    )
                })?;
                for k in 0..len {
                    let m = (d * 1440 + from + k) % WEEK;
                    if let Some(j) = owner[m] {
                        return Err(err(
                            "rules",
                            format!(
                                "rules[{j}] and rules[{i}] overlap on {} at {:02}:{:02}",
                                DAYS[m / 1440],
                                (m % 1440) / 60,
                                m % 60
                            ),
                        ));
                    }
                    owner[m] = Some(i);
                    minutes[m] = w;
                }
            }
        }
        if let Some(m) = owner.iter().position(Option::is_none) {
            return Err(err(
                "rules",
                format!(
                    "{} at {:02}:{:02} is in no window: the rules must cover the whole week",
                    DAYS[m / 1440],
                    (m % 1440) / 60,
                    m % 60
                ),
            ));
        }
        Ok(Self {
            minutes,
            rules,
            holidays: BTreeSet::new(),
            calendar_id: None,
        })
    }

    /// PagerDuty's windows.
    pub fn pagerduty() -> Self {
        let rule = |w: &str, days: &[&str], from: &str, to: &str| WindowRule {
            window: w.into(),
            days: days.iter().map(|d| (*d).into()).collect(),
            from: from.into(),
            to: to.into(),
        };
        let weekdays = ["mon", "tue", "wed", "thu", "fri"];
        let all = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        Self::new(vec![
            rule("BUSINESS", &weekdays, "08:00", "18:00"),
            rule("OFF", &weekdays, "18:00", "22:00"),
            rule("OFF", &["sat", "sun"], "08:00", "22:00"),
            rule("SLEEP", &all, "22:00", "08:00"),
        ])
        .expect("PagerDuty's windows tile the week")
    }

    /// The window of an instant for a person in `tz`.
    pub fn window_at(&self, tz: Tz, t: DateTime<Utc>) -> Window {
        let local = t.with_timezone(&tz).naive_local();
        let d = local.weekday().num_days_from_monday() as usize;
        let w = self.minutes[d * 1440 + (local.hour() * 60 + local.minute()) as usize];
        if w == Window::Business && self.holidays.contains(&local.date()) {
            Window::Off
        } else {
            w
        }
    }

    /// The rules in a line: `business mon,tue 08:00-18:00; …`.
    pub fn describe(&self) -> String {
        let mut s = self
            .rules
            .iter()
            .map(|r| {
                let w = parse_window(&r.window).map_or("?", window_name);
                format!("{w} {} {}-{}", r.days.join(","), r.from, r.to)
            })
            .collect::<Vec<_>>()
            .join("; ");
        if let Some(c) = self.calendar_id {
            s.push_str(&format!(
                "; holidays of business calendar {c} are off hours"
            ));
        }
        s
    }
}

/// Reads `PAGERLENS_INTERRUPTION_WINDOWS`:
/// `business=mon-fri 08:00-18:00; off=mon-fri 18:00-22:00, sat-sun 08:00-22:00; sleep=mon-sun 22:00-08:00`.
///
/// # Errors
/// A message naming the part that cannot be read or the gap or overlap.
pub fn parse_setting(text: &str) -> Result<Vec<WindowRule>, String> {
    let mut rules = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (window, specs) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?}: expected WINDOW=DAYS HH:MM-HH:MM"))?;
        for spec in specs.split(',').map(str::trim) {
            let (days, range) = spec
                .split_once(' ')
                .ok_or_else(|| format!("{spec:?}: expected DAYS HH:MM-HH:MM"))?;
            let (from, to) = range
                .trim()
                .split_once('-')
                .ok_or_else(|| format!("{spec:?}: expected a range HH:MM-HH:MM"))?;
            let days: Vec<String> = match days.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (
                        parse_day(a).ok_or_else(|| format!("{a:?} is not a day"))?,
                        parse_day(b).ok_or_else(|| format!("{b:?} is not a day"))?,
                    );
                    if b < a {
                        return Err(format!("{days:?}: a day range runs Monday to Sunday"));
                    }
                    (a..=b).map(|d| DAYS[d].to_owned()).collect()
                }
                None => vec![days.to_owned()],
            };
            rules.push(WindowRule {
                window: window.trim().to_owned(),
                days,
                from: from.trim().to_owned(),
                to: to.trim().to_owned(),
            });
        }
    }
    WindowSet::new(rules.clone()).map_err(|e| e.to_string())?;
    Ok(rules)
}

/// Weekday names as rules spell them.
pub fn day_name(d: Weekday) -> &'static str {
    DAYS[d.num_days_from_monday() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(w: &str, days: &[&str], from: &str, to: &str) -> WindowRule {
        WindowRule {
            window: w.into(),
            days: days.iter().map(|d| (*d).into()).collect(),
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn pagerdutys_windows_equal_the_fixed_rule() {
        let set = WindowSet::pagerduty();
        let start = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for m in (0..WEEK as i64).step_by(7) {
            let t = start + chrono::Duration::minutes(m);
            assert_eq!(
                set.window_at(Tz::UTC, t),
                crate::tz::window(t.naive_utc()),
                "{t}"
            );
        }
    }

    #[test]
    fn gaps_overlaps_and_bad_fields_are_named() {
        let all = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let gap = WindowSet::new(vec![
            rule("BUSINESS", &all, "08:00", "18:00"),
            rule("SLEEP", &all, "22:00", "08:00"),
        ]);
        let e = gap.unwrap_err();
        assert_eq!(e.field, "rules");
        assert!(e.message.contains("monday at 18:00"), "{e}");
        let overlap = WindowSet::new(vec![
            rule("BUSINESS", &all, "08:00", "18:00"),
            rule("OFF", &all, "17:00", "08:00"),
        ]);
        let e = overlap.unwrap_err();
        assert!(
            e.message
                .contains("rules[0] and rules[1] overlap on monday at 17:00"),
            "{e}"
        );
        let e = WindowSet::new(vec![rule("NAP", &all, "00:00", "24:00")]).unwrap_err();
        assert_eq!(e.field, "rules[0].window");
        let e = WindowSet::new(vec![rule("OFF", &["caturday"], "00:00", "24:00")]).unwrap_err();
        assert_eq!(e.field, "rules[0].days");
        let e = WindowSet::new(vec![rule("OFF", &all, "25:00", "24:00")]).unwrap_err();
        assert_eq!(e.field, "rules[0].from");
        let e = WindowSet::new(vec![rule("OFF", &all, "08:00", "08:00")]).unwrap_err();
        assert_eq!(e.field, "rules[0].to");
        // The whole week off is a valid (if dull) set.
        assert!(WindowSet::new(vec![rule("OFF", &all, "00:00", "24:00")]).is_ok());
    }

    #[test]
    fn a_holiday_turns_business_hours_off() {
        let mut set = WindowSet::pagerduty();
        set.holidays.insert("2026-12-25".parse().unwrap());
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(set.window_at(paris, t("2026-12-25T10:00:00Z")), Window::Off);
        assert_eq!(
            set.window_at(paris, t("2026-12-25T23:30:00Z")),
            Window::Sleep
        );
        assert_eq!(
            set.window_at(paris, t("2026-12-24T10:00:00Z")),
            Window::Business
        );
    }

    #[test]
    fn the_setting_reads_day_ranges() {
        let rules = parse_setting(
            "business=mon-fri 09:00-17:00; off=mon-fri 17:00-23:00, sat-sun 07:00-23:00, mon-fri 07:00-09:00; sleep=mon-sun 23:00-07:00",
        )
        .unwrap();
        let set = WindowSet::new(rules).unwrap();
        let t = DateTime::parse_from_rfc3339("2026-03-02T08:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(set.window_at(Tz::UTC, t), Window::Off);
        assert!(
            parse_setting("business=mon-fri 09:00-17:00")
                .unwrap_err()
                .contains("in no window")
        );
        assert!(parse_setting("business mon-fri").is_err());
    }
}
