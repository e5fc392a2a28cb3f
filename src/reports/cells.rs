//! Report cells and columns, and the one rule every text cell goes through:
//! formula injection is neutralised. Pure code.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

/// One value in a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An instant, shown in the reporting time zone.
    DateTime(DateTime<Utc>),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }

    pub fn opt_text(s: Option<impl Into<String>>) -> Self {
        s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
    }

    pub fn opt_time(t: Option<DateTime<Utc>>) -> Self {
        t.map_or(Cell::Empty, Cell::DateTime)
    }

    pub fn opt_float(v: Option<f64>) -> Self {
        v.map_or(Cell::Empty, Cell::Float)
    }
}

/// How a column's values are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Int,
    /// A number with one decimal (durations in minutes, means).
    Decimal,
    /// A share from 0 to 1, shown as a percentage.
    Percent,
    Bool,
    DateTime,
}

/// A report column: a stable key (for `PAGERLENS_REPORT_EXCLUDE_COLUMNS`),
/// a header and a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub key: &'static str,
    pub header: &'static str,
    pub ty: ColumnType,
}

impl Column {
    pub const fn new(key: &'static str, header: &'static str, ty: ColumnType) -> Self {
        Self { key, header, ty }
    }

    /// A width in characters that fits the header and typical values.
    pub fn width(&self) -> f64 {
        let typical: f64 = match self.ty {
            ColumnType::DateTime => 19.0,
            ColumnType::Text => match self.key {
                "title" | "description" | "html_url" => 48.0,
                k if k.ends_with("_id") || k == "id" => 10.0,
                _ => 22.0,
            },
            ColumnType::Bool => 8.0,
            ColumnType::Int | ColumnType::Decimal | ColumnType::Percent => 10.0,
        };
        typical.max(self.header.chars().count() as f64 + 3.0)
    }
}

/// Makes text inert in spreadsheets: a value beginning with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading apostrophe, so no
/// spreadsheet reads it as a formula (OWASP "CSV injection").
pub fn neutralise(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formula_starts_are_neutralised() {
        for bad in [
            "=1+2",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "=HYPERLINK(\"x\")",
        ] {
            let out = neutralise(bad);
            assert!(out.starts_with('\''), "{bad:?} -> {out:?}");
            assert_eq!(&out[1..], bad, "the text itself is kept");
        }
        for fine in ["db-1 down", "100%", "", "a=b", " =1"] {
            assert_eq!(neutralise(fine), fine);
        }
    }

    proptest! {
        #[test]
        fn neutralised_text_never_starts_a_formula(s in ".*") {
            let out = neutralise(&s);
            let first = out.chars().next();
            prop_assert!(!matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')));
            prop_assert!(out.ends_with(s.as_str()));
        }
    }
}
