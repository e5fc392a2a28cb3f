//! Reading the configuration: defaults, bad values naming their variable,
//! secrets kept out of errors and debug output.

use super::*;
use std::collections::HashMap;

fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn an_issuer_makes_an_openid_connect_provider() {
    let secret = [
        ("PAGERLENS_OAUTH_CLIENT_ID", "pl"),
        ("PAGERLENS_OAUTH_CLIENT_SECRET", "s"),
    ];
    let issuer = ("PAGERLENS_OAUTH_ISSUER", "https://login.example.com");
    let c = with(&[secret[0], secret[1], issuer]).unwrap();
    let o = c.oauth.unwrap();
    assert_eq!(o.kind, ProviderKind::Generic);
    assert_eq!(o.issuer.as_deref(), Some("https://login.example.com"));
    assert_eq!(o.scopes, ["openid", "email", "profile"]);
    for (extra, var) in [
        (
            ("PAGERLENS_OAUTH_TOKEN_URL", "https://x.example/token"),
            "PAGERLENS_OAUTH_TOKEN_URL",
        ),
        (
            ("PAGERLENS_OAUTH_PROVIDER", "github"),
            "PAGERLENS_OAUTH_PROVIDER",
        ),
    ] {
        let e = with(&[secret[0], secret[1], issuer, extra])
            .unwrap_err()
            .to_string();
        assert!(e.contains(var), "{e}");
    }
    let e = with(&[
        secret[0],
        secret[1],
        ("PAGERLENS_OAUTH_ISSUER", "login.example.com"),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("PAGERLENS_OAUTH_ISSUER"), "{e}");
}

#[test]
fn defaults_need_no_configuration() {
    let c = with(&[]).unwrap();
    assert_eq!(c.database_url(), DEFAULT_DATABASE_URL);
    assert!(c.is_sqlite());
    assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(c.log_format, LogFormat::Human);
}

#[test]
fn bad_values_name_the_variable_and_the_expected_form() {
    let e = with(&[("PAGERLENS_BIND", "nowhere")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("PAGERLENS_BIND") && e.contains("127.0.0.1:8080"),
        "{e}"
    );
    for bad in ["0", "1"] {
        let e = with(&[("PAGERLENS_DB_MAX_CONNECTIONS", bad)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("PAGERLENS_DB_MAX_CONNECTIONS")
                && e.contains("out of range")
                && e.contains("from 2 to 1000"),
            "{e}"
        );
    }
    let e = with(&[("PAGERLENS_LOG_FORMAT", "xml")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("PAGERLENS_LOG_FORMAT"), "{e}");
    let e = with(&[("DATABASE_URL", "mysql://root:hunter2@db/x")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("DATABASE_URL") && !e.contains("hunter2"), "{e}");
    // Interruption windows: a gap names the variable and the minute.
    let e = with(&[(
        "PAGERLENS_INTERRUPTION_WINDOWS",
        "business=mon-fri 08:00-18:00",
    )])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("PAGERLENS_INTERRUPTION_WINDOWS")
            && e.contains("monday at 00:00 is in no window"),
        "{e}"
    );
    let c = with(&[(
        "PAGERLENS_INTERRUPTION_WINDOWS",
        "business=mon-fri 09:00-17:00; off=mon-fri 17:00-23:00, mon-fri 07:00-09:00, sat-sun 07:00-23:00; sleep=mon-sun 23:00-07:00",
    ), ("PAGERLENS_MAJOR_PRIORITIES", "SEV1, SEV2")])
    .unwrap();
    assert_eq!(c.analytics.facts.windows.len(), 5);
    assert_eq!(c.analytics.facts.major_priorities, vec!["SEV1", "SEV2"]);
}

#[test]
fn http_settings_are_validated_and_keep_secrets_out_of_errors() {
    let c = with(&[]).unwrap();
    assert_eq!(
        (c.http.rate_limit_auth, c.http.rate_limit_graphql),
        (60, 1200)
    );
    assert!(c.http.cors_origins.is_empty() && c.http.metrics_token.is_none());
    let e = with(&[("PAGERLENS_METRICS_TOKEN", "short secret")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("PAGERLENS_METRICS_TOKEN") && !e.contains("short secret"),
        "{e}"
    );
    for bad in ["https://a.example.com/path", "dash.example.com", "*"] {
        let e = with(&[("PAGERLENS_CORS_ORIGINS", bad)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("PAGERLENS_CORS_ORIGINS"), "{e}");
    }
    let c = with(&[(
        "PAGERLENS_CORS_ORIGINS",
        "https://a.example.com, http://localhost:3000",
    )])
    .unwrap();
    assert_eq!(
        c.http.cors_origins,
        ["https://a.example.com", "http://localhost:3000"]
    );
    let e = with(&[("PAGERLENS_RATE_LIMIT_GRAPHQL", "lots")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("PAGERLENS_RATE_LIMIT_GRAPHQL"), "{e}");
    let e = with(&[("PAGERLENS_METRICS_BIND", "9090")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("PAGERLENS_METRICS_BIND"), "{e}");
    let e = with(&[("PAGERLENS_TRUST_FORWARDED_FOR", "maybe")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("PAGERLENS_TRUST_FORWARDED_FOR"), "{e}");
}

#[test]
fn blank_values_mean_default() {
    let c = with(&[("PAGERLENS_BIND", "  ")]).unwrap();
    assert_eq!(c.bind.port(), 8080);
}

#[test]
fn ages() {
    assert_eq!(parse_age("60d").unwrap(), chrono::Duration::days(60));
    assert_eq!(parse_age("2w").unwrap(), chrono::Duration::weeks(2));
    assert_eq!(parse_age("12h").unwrap(), chrono::Duration::hours(12));
    assert_eq!(
        parse_age("1h 30m").unwrap(),
        chrono::Duration::minutes(90),
        "humantime's combined forms"
    );
    // Years are humantime's 365.25 days.
    assert_eq!(parse_age("1y").unwrap(), chrono::Duration::hours(8766));
    assert!(parse_age("0d").is_err());
    assert!(parse_age("d").is_err());
    assert!(parse_age("10").is_err(), "a unit is needed");
    assert!(parse_age("10 fortnights").is_err());
    assert!(parse_age("-5d").is_err());
}

#[test]
fn pagerduty_settings() {
    let c = with(&[
        ("PAGERDUTY_TOKEN", "abc"),
        ("PAGERDUTY_WEBHOOK_SECRETS", "one, two,,"),
    ])
    .unwrap();
    assert_eq!(c.pagerduty.api_url, "https://api.pagerduty.com");
    assert_eq!(c.pagerduty.webhook_secrets(), ["one", "two"]);
    assert_eq!(c.pagerduty.requests_per_minute, 600);
    assert!(c.pagerduty.token.is_some());
    assert!(with(&[]).unwrap().pagerduty.token.is_none());
    let e = with(&[("PAGERDUTY_API_URL", "ftp://x")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("PAGERDUTY_API_URL"), "{e}");
    let e = with(&[("PAGERDUTY_REQUESTS_PER_MINUTE", "lots")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("PAGERDUTY_REQUESTS_PER_MINUTE"), "{e}");
}

#[test]
fn debug_output_hides_secrets() {
    let c = with(&[
        ("PAGERDUTY_TOKEN", "tok-secret"),
        ("DATABASE_URL", "postgres://u:pw-secret@h/db"),
    ])
    .unwrap();
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("tok-secret") && !shown.contains("pw-secret"),
        "{shown}"
    );
}

#[test]
fn redacts_passwords() {
    assert_eq!(
        redact_url("postgres://u:secret@localhost:5432/db"),
        "postgres://u:***@localhost:5432/db"
    );
    assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
}

#[test]
fn cron_and_job_settings_are_checked_naming_the_variable() {
    let c = with(&[]).unwrap();
    assert_eq!(c.jobs.workers, 2);
    assert_eq!(c.jobs.stall_timeout, chrono::Duration::seconds(30));
    let sla = c
        .jobs
        .cron
        .iter()
        .find(|s| s.var == "PAGERLENS_CRON_SLA_CHECK")
        .unwrap();
    assert_eq!(sla.expression.as_deref(), Some("0 */5 * * * *"));
    let off = with(&[("PAGERLENS_CRON_SYNC", "off")]).unwrap();
    assert!(
        off.jobs
            .cron
            .iter()
            .any(|s| s.var == "PAGERLENS_CRON_SYNC" && s.expression.is_none())
    );
    let err = with(&[("PAGERLENS_CRON_RETENTION", "at noon")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("PAGERLENS_CRON_RETENTION"), "{err}");
    let err = with(&[("PAGERLENS_JOB_STALL_TIMEOUT", "1s")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("PAGERLENS_JOB_STALL_TIMEOUT"), "{err}");
    let err = with(&[("PAGERLENS_REPORT_TZ", "Moon/Base")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("PAGERLENS_REPORT_TZ"), "{err}");
    let c = with(&[(
        "PAGERLENS_REPORT_EXCLUDE_COLUMNS",
        " Title, incidents.html_url ",
    )])
    .unwrap();
    assert_eq!(
        c.reports.exclude_columns,
        vec!["title", "incidents.html_url"]
    );
}
