//! Custom-field flags: named rules over custom field values, such as
//! "resolved by our team when `resolution` equals `ccoe`" or "caused by
//! infrastructure when `prelim_root_cause` is set". They come from
//! configuration (`PAGERLENS_CUSTOM_FIELD_FLAGS`), never from code, and are
//! evaluated both in Rust (an incident's `flags`) and in SQL (filters and
//! analytics group by them) with the same meaning.
//!
//! The syntax is read with the configuration (`config::flags`). A field
//! that is absent or null is "not set" and equals nothing.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr};

use crate::config::{FlagOp, FlagRule};
use crate::entities::{incident, incident_custom_field_value as cf};

impl FlagRule {
    /// Whether the flag holds, given the text form of the field's value
    /// (`None` when absent or null).
    pub fn matches(&self, value: Option<&str>) -> bool {
        let value = value.filter(|v| !v.is_empty());
        match (&self.op, value) {
            (FlagOp::Equals(v), Some(x)) => x == v,
            (FlagOp::NotEquals(v), x) => x != Some(v.as_str()),
            (FlagOp::In(vs), Some(x)) => vs.iter().any(|v| v == x),
            (FlagOp::Contains(v), Some(x)) => x.to_lowercase().contains(v.as_str()),
            (FlagOp::IsSet, x) => x.is_some(),
            (FlagOp::IsNotSet, x) => x.is_none(),
            _ => false,
        }
    }

    /// The same rule as a SQL condition on `incidents` (an `EXISTS` over
    /// its custom field values), for filters and analytics.
    pub fn condition(&self) -> SimpleExpr {
        let values = Alias::new("flag_cfv");
        let sub = |extra: SimpleExpr| {
            Query::select()
                .expr(Expr::val(1))
                .from_as(cf::Entity, values.clone())
                .and_where(
                    Expr::col((values.clone(), cf::Column::IncidentId))
                        .equals((incident::Entity, incident::Column::Id)),
                )
                .and_where(Expr::col((values.clone(), cf::Column::Name)).eq(self.field.clone()))
                .and_where(extra)
                .to_owned()
        };
        let text = || Expr::col((values.clone(), cf::Column::ValueText));
        let set = || text().is_not_null().and(text().ne(""));
        match &self.op {
            FlagOp::Equals(v) => Expr::exists(sub(text().eq(v.clone()))),
            FlagOp::NotEquals(v) => Expr::exists(sub(text().eq(v.clone()))).not(),
            FlagOp::In(vs) => Expr::exists(sub(text().is_in(vs.clone()))),
            FlagOp::Contains(v) => Expr::exists(sub(Func::lower(text())
                .like(LikeExpr::new(crate::paging::contains_pattern(v)).escape('\\')))),
            FlagOp::IsSet => Expr::exists(sub(set())),
            FlagOp::IsNotSet => Expr::exists(sub(set())).not(),
        }
    }
}

/// The flags that hold for an incident, given its custom field values.
pub fn flags_of<'a>(rules: &'a [FlagRule], values: &[cf::Model]) -> Vec<&'a str> {
    rules
        .iter()
        .filter(|r| {
            r.matches(
                values
                    .iter()
                    .find(|v| v.name == r.field)
                    .and_then(|v| v.value_text.as_deref()),
            )
        })
        .map(|r| r.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::parse_rules;
    use proptest::prelude::*;

    #[test]
    fn matching() {
        let r = |s: &str| parse_rules(s).unwrap().remove(0);
        assert!(r("a = f equals ccoe").matches(Some("ccoe")));
        assert!(!r("a = f equals ccoe").matches(Some("CCOE")));
        assert!(!r("a = f equals ccoe").matches(None));
        assert!(r("a = f not_equals ccoe").matches(None));
        assert!(r("a = f contains Disk").matches(Some("full DISK")));
        assert!(r("a = f is_set").matches(Some("x")));
        assert!(!r("a = f is_set").matches(Some("")));
        assert!(r("a = f is_not_set").matches(None));
        assert!(r("a = f in x,y").matches(Some("y")));
    }

    proptest! {
        #[test]
        fn is_set_and_is_not_set_are_complements(v in proptest::option::of("[a-z]{0,4}")) {
            let set = parse_rules("a = f is_set").unwrap().remove(0);
            let unset = parse_rules("a = f is_not_set").unwrap().remove(0);
            prop_assert_ne!(set.matches(v.as_deref()), unset.matches(v.as_deref()));
        }

        #[test]
        fn equals_and_not_equals_are_complements(v in proptest::option::of("[a-c]{0,2}")) {
            let eq = parse_rules("a = f equals ab").unwrap().remove(0);
            let ne = parse_rules("a = f not_equals ab").unwrap().remove(0);
            prop_assert_ne!(eq.matches(v.as_deref()), ne.matches(v.as_deref()));
        }
    }
}
