//! The syntax of custom-field flags (`PAGERLENS_CUSTOM_FIELD_FLAGS`):
//! rules separated by `;`, each `NAME = FIELD OPERATOR [VALUE]`, with
//! `equals V`, `not_equals V`, `in V1,V2`, `contains V` (case-insensitive),
//! `is_set` and `is_not_set`. What a rule means for an incident is
//! `incidents::flags`.

use super::ConfigError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagOp {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    Contains(String),
    IsSet,
    IsNotSet,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagRule {
    pub name: String,
    pub field: String,
    pub op: FlagOp,
}

/// Parses the rule list.
///
/// # Errors
/// A message naming the rule that cannot be read and the expected form.
pub fn parse_rules(text: &str) -> Result<Vec<FlagRule>, String> {
    let mut rules: Vec<FlagRule> = Vec::new();
    for raw in text.split(';').map(str::trim).filter(|r| !r.is_empty()) {
        let bad = || {
            format!(
                "cannot read flag rule {raw:?}: expected `NAME = FIELD equals|not_equals|in|contains VALUE` or `NAME = FIELD is_set|is_not_set`"
            )
        };
        let (name, rest) = raw.split_once('=').ok_or_else(bad)?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "flag name {name:?} must be letters, digits and underscores"
            ));
        }
        let mut parts = rest.trim().splitn(3, char::is_whitespace);
        let field = parts
            .next()
            .filter(|f| !f.is_empty())
            .ok_or_else(bad)?
            .to_owned();
        let op = parts.next().ok_or_else(bad)?;
        let value = parts.next().map(str::trim).filter(|v| !v.is_empty());
        let op = match (op, value) {
            ("equals", Some(v)) => FlagOp::Equals(v.to_owned()),
            ("not_equals", Some(v)) => FlagOp::NotEquals(v.to_owned()),
            ("in", Some(v)) => FlagOp::In(
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
            ("contains", Some(v)) => FlagOp::Contains(v.to_lowercase()),
            ("is_set", None) => FlagOp::IsSet,
            ("is_not_set", None) => FlagOp::IsNotSet,
            _ => return Err(bad()),
        };
        if rules.iter().any(|r| r.name == name) {
            return Err(format!("flag {name:?} is defined twice"));
        }
        rules.push(FlagRule {
            name: name.to_owned(),
            field,
            op,
        });
    }
    Ok(rules)
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<Vec<FlagRule>, ConfigError> {
    match get("PAGERLENS_CUSTOM_FIELD_FLAGS") {
        None => Ok(Vec::new()),
        Some(text) => parse_rules(&text).map_err(|message| ConfigError::Invalid {
            var: "PAGERLENS_CUSTOM_FIELD_FLAGS",
            value: text.clone(),
            expected: "rules like `resolved_by_us = resolution equals ccoe; infra = prelim_root_cause is_set`",
            message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rules_the_old_tools_hard_coded() {
        let rules = parse_rules("resolved_by_us = resolution equals ccoe; caused_by_infrastructure = prelim_root_cause is_set").unwrap();
        assert_eq!(
            rules[0],
            FlagRule {
                name: "resolved_by_us".into(),
                field: "resolution".into(),
                op: FlagOp::Equals("ccoe".into())
            }
        );
        assert_eq!(rules[1].op, FlagOp::IsSet);
        assert!(parse_rules("").unwrap().is_empty());
        assert!(
            parse_rules("x = f in a, b,c").unwrap()[0].op
                == FlagOp::In(vec!["a".into(), "b".into(), "c".into()])
        );
    }

    #[test]
    fn refuses_bad_rules() {
        for bad in [
            "x",
            "x = f",
            "x = f equals",
            "x = f is_set now",
            "bad name = f is_set",
            "x = f frob 1",
            "x = f is_set; x = g is_set",
        ] {
            assert!(parse_rules(bad).is_err(), "{bad}");
        }
    }
}
