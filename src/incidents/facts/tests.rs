//! The facts by hand, and their invariants for any log.
use super::*;
use proptest::prelude::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn entry(n: usize, kind: &str, at: &str, agent: Option<&str>) -> FactEntry {
    FactEntry {
        id: format!("L{n:03}"),
        kind: kind.into(),
        agent_type: agent.map(|a| {
            if a.starts_with('U') {
                "user_reference"
            } else {
                "service_reference"
            }
            .into()
        }),
        agent_id: agent.map(Into::into),
        channel_type: None,
        user_id: None,
        created_at: t(at),
    }
}

fn notify(n: usize, at: &str, user: &str) -> FactEntry {
    FactEntry {
        user_id: Some(user.into()),
        channel_type: Some("auto".into()),
        ..entry(n, "notify_log_entry", at, None)
    }
}

/// PagerDuty's windows in each user's zone.
fn pd(u: &str, t: DateTime<Utc>) -> Window {
    crate::tz::window(t.with_timezone(&zones(u)).naive_local())
}

fn zones(u: &str) -> Tz {
    match u {
        "UPARIS" => "Europe/Paris".parse().unwrap(),
        "UNY" => "America/New_York".parse().unwrap(),
        _ => Tz::UTC,
    }
}

/// Two responders (one reassignment, one timeout and one manual
/// escalation), snoozed once, resolved by a person: every field by hand.
#[test]
fn a_multi_responder_incident_by_hand() {
    let inc = FactIncident {
        created_at: t("2026-03-02T09:00:00Z"),
        resolved_at: Some(t("2026-03-02T11:00:00Z")),
        priority_id: Some("P3".into()),
    };
    let mut esc_timeout = entry(3, "escalate_log_entry", "2026-03-02T09:30:00Z", None);
    esc_timeout.channel_type = Some("timeout".into());
    let mut esc_manual = entry(6, "escalate_log_entry", "2026-03-02T09:50:00Z", Some("UB"));
    esc_manual.channel_type = Some("website".into());
    let entries = vec![
        entry(1, "trigger_log_entry", "2026-03-02T09:00:00Z", Some("PSVC")),
        // Monday 10:00 in Paris: business hours.
        notify(2, "2026-03-02T09:00:01Z", "UPARIS"),
        // The same second by another channel: the same interruption.
        notify(22, "2026-03-02T09:00:01Z", "UPARIS"),
        esc_timeout,
        // 04:30 in New York: sleep hours.
        notify(4, "2026-03-02T09:30:01Z", "UNY"),
        entry(
            5,
            "acknowledge_log_entry",
            "2026-03-02T09:40:00Z",
            Some("UNY"),
        ),
        esc_manual,
        entry(7, "assign_log_entry", "2026-03-02T09:55:00Z", Some("UB")),
        entry(
            8,
            "acknowledge_log_entry",
            "2026-03-02T10:00:00Z",
            Some("UPARIS"),
        ),
        entry(
            9,
            "snooze_log_entry",
            "2026-03-02T10:10:00Z",
            Some("UPARIS"),
        ),
        entry(10, "unacknowledge_log_entry", "2026-03-02T10:40:00Z", None),
        // A second acknowledgement by the same user engages nobody new.
        entry(
            11,
            "acknowledge_log_entry",
            "2026-03-02T10:45:00Z",
            Some("UNY"),
        ),
        entry(12, "resolve_log_entry", "2026-03-02T11:00:00Z", Some("UNY")),
    ];
    let major: HashSet<String> = ["P1".into(), "P2".into()].into();
    let f = compute(&inc, &entries, &pd, &major);
    assert_eq!(
        f,
        Facts {
            seconds_to_first_ack: Some(40 * 60),
            seconds_to_resolve: Some(2 * 3600),
            seconds_to_engage: Some(20 * 60),
            seconds_to_mobilize: Some(3600),
            // UNY 09:40 → 11:00 and UPARIS 10:00 → 11:00.
            engaged_seconds: Some(80 * 60 + 60 * 60),
            engaged_user_count: 2,
            acknowledgement_count: 3,
            assignment_count: 4,
            escalation_count: 2,
            manual_escalation_count: 1,
            timeout_escalation_count: 1,
            reassignment_count: 1,
            snoozed_seconds: 30 * 60,
            total_notifications: 3,
            total_interruptions: 2,
            business_hour_interruptions: 1,
            off_hour_interruptions: 0,
            sleep_hour_interruptions: 1,
            auto_resolved: false,
            // Two users engaged.
            major: true,
            joined_user_ids: vec!["UNY".into(), "UPARIS".into()],
        }
    );
}

/// The same incident, per user: UPARIS notified first at 09:00:01 and
/// timed out to UNY (notified 09:30:01), who acked at 09:40, escalated
/// manually and reassigned (nobody notified after either).
#[test]
fn each_users_part_by_hand() {
    let inc = FactIncident {
        created_at: t("2026-03-02T09:00:00Z"),
        resolved_at: Some(t("2026-03-02T11:00:00Z")),
        priority_id: None,
    };
    let mut esc = entry(3, "escalate_log_entry", "2026-03-02T09:30:00Z", None);
    esc.channel_type = Some("timeout".into());
    let mut manual = entry(6, "escalate_log_entry", "2026-03-02T09:50:00Z", Some("UNY"));
    manual.channel_type = Some("website".into());
    let entries = vec![
        notify(2, "2026-03-02T09:00:01Z", "UPARIS"),
        esc,
        notify(4, "2026-03-02T09:30:01Z", "UNY"),
        entry(
            5,
            "acknowledge_log_entry",
            "2026-03-02T09:40:00Z",
            Some("UNY"),
        ),
        manual,
        entry(7, "assign_log_entry", "2026-03-02T09:55:00Z", Some("UNY")),
        entry(
            8,
            "acknowledge_log_entry",
            "2026-03-02T10:00:00Z",
            Some("UPARIS"),
        ),
    ];
    let (_, people) = derive(&inc, &entries, &pd, &HashSet::new());
    let uny = people.iter().find(|p| p.user_id == "UNY").unwrap();
    let paris = people.iter().find(|p| p.user_id == "UPARIS").unwrap();
    assert_eq!(uny.seconds_to_first_ack, Some(600 - 1));
    assert_eq!(uny.timeout_escalations_to, 1);
    assert_eq!(uny.manual_escalations_from, 1);
    assert_eq!(uny.reassignments_from, 1);
    assert_eq!(uny.sleep_hour_interruptions, 1);
    assert_eq!(uny.engaged_seconds, Some(80 * 60));
    assert_eq!(paris.timeout_escalations_from, 1);
    assert_eq!(paris.business_hour_interruptions, 1);
    // Acknowledged an hour after their one notification.
    assert_eq!(paris.seconds_to_first_ack, Some(3600 - 1));
    assert_eq!(paris.engaged_seconds, Some(3600));
}

#[test]
fn an_open_incident_and_an_auto_resolved_one() {
    let major: HashSet<String> = ["P1".into()].into();
    let open = FactIncident {
        created_at: t("2026-03-07T12:00:00Z"),
        resolved_at: None,
        priority_id: Some("P1".into()),
    };
    let entries = vec![
        entry(1, "trigger_log_entry", "2026-03-07T12:00:00Z", Some("PSVC")),
        // Saturday 12:00 UTC: off hours.
        notify(2, "2026-03-07T12:00:01Z", "UX"),
        entry(
            3,
            "acknowledge_log_entry",
            "2026-03-07T12:05:00Z",
            Some("UX"),
        ),
        // A snooze still running counts nothing yet.
        entry(4, "snooze_log_entry", "2026-03-07T12:06:00Z", Some("UX")),
    ];
    let f = compute(&open, &entries, &pd, &major);
    assert_eq!(f.seconds_to_first_ack, Some(300));
    assert_eq!(f.seconds_to_resolve, None);
    assert_eq!(f.engaged_seconds, None);
    assert_eq!(f.seconds_to_engage, None);
    assert_eq!(f.seconds_to_mobilize, None);
    assert_eq!(f.snoozed_seconds, 0);
    assert_eq!(f.off_hour_interruptions, 1);
    assert!(f.major, "P1 is a major priority");
    assert!(!f.auto_resolved);

    let auto = FactIncident {
        created_at: t("2026-03-07T22:00:00Z"),
        resolved_at: Some(t("2026-03-07T22:10:00Z")),
        priority_id: None,
    };
    let entries = vec![
        entry(1, "trigger_log_entry", "2026-03-07T22:00:00Z", Some("PSVC")),
        // 22:00:00 exactly is the first second of sleep hours.
        notify(2, "2026-03-07T22:00:00Z", "UX"),
        entry(3, "resolve_log_entry", "2026-03-07T22:10:00Z", Some("PSVC")),
    ];
    let f = compute(&auto, &entries, &pd, &major);
    assert!(f.auto_resolved);
    assert!(!f.major);
    assert_eq!(f.engaged_seconds, Some(0));
    assert_eq!(f.seconds_to_first_ack, None);
    assert_eq!(f.sleep_hour_interruptions, 1);
    assert_eq!(f.assignment_count, 1);
}

/// A user's own time zone across a daylight-saving change: 07:59 and
/// 08:00 local on the Monday after New York moves its clocks.
#[test]
fn windows_edges_in_the_users_zone_across_dst() {
    let inc = FactIncident {
        created_at: t("2026-03-09T11:00:00Z"),
        resolved_at: None,
        priority_id: None,
    };
    // 2026-03-08 is the US change; on the 9th New York is UTC−4.
    let entries = vec![
        notify(1, "2026-03-09T11:59:59Z", "UNY"),
        notify(2, "2026-03-09T12:00:00Z", "UNY"),
        notify(3, "2026-03-09T21:59:59Z", "UNY"),
        notify(4, "2026-03-09T22:00:00Z", "UNY"),
    ];
    let f = compute(&inc, &entries, &pd, &HashSet::new());
    assert_eq!(f.sleep_hour_interruptions, 1);
    assert_eq!(f.business_hour_interruptions, 2);
    assert_eq!(f.off_hour_interruptions, 1);
}

fn arb_entries() -> impl Strategy<Value = Vec<FactEntry>> {
    let kinds = prop::sample::select(vec![
        "acknowledge_log_entry",
        "escalate_log_entry",
        "assign_log_entry",
        "notify_log_entry",
        "snooze_log_entry",
        "unacknowledge_log_entry",
        "resolve_log_entry",
    ]);
    let users = prop::sample::select(vec!["UA", "UB", "UNY", "UPARIS"]);
    prop::collection::vec((kinds, users, 0i64..86_400 * 3), 0..40).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(n, (kind, user, at))| {
                let created_at = t("2026-03-01T00:00:00Z") + chrono::Duration::seconds(at);
                FactEntry {
                    id: format!("L{n:03}"),
                    kind: kind.into(),
                    agent_type: Some("user_reference".into()),
                    agent_id: Some(user.into()),
                    channel_type: Some(if n % 2 == 0 { "timeout" } else { "website" }.into()),
                    user_id: (kind == "notify_log_entry").then(|| user.into()),
                    created_at,
                }
            })
            .collect()
    })
}

proptest! {
    /// Whatever the log: the windows add up to the total, escalations
    /// split into manual and timeout, assignments count the trigger's,
    /// engagement needs two users, nothing is negative, and the order
    /// the entries come in changes nothing.
    #[test]
    fn invariants_hold_for_any_log(entries in arb_entries(), resolved in proptest::bool::ANY) {
        let inc = FactIncident {
            created_at: t("2026-03-01T00:00:00Z"),
            resolved_at: resolved.then(|| t("2026-03-04T00:00:00Z")),
            priority_id: None,
        };
        let f = compute(&inc, &entries, &pd, &HashSet::new());
        prop_assert_eq!(f.total_interruptions,
            f.business_hour_interruptions + f.off_hour_interruptions + f.sleep_hour_interruptions);
        prop_assert!(f.total_interruptions <= f.total_notifications);
        prop_assert_eq!(f.escalation_count, f.manual_escalation_count + f.timeout_escalation_count);
        prop_assert_eq!(f.assignment_count, 1 + f.escalation_count + f.reassignment_count);
        prop_assert_eq!(f.seconds_to_engage.is_some(), f.engaged_user_count >= 2);
        prop_assert_eq!(f.major, f.engaged_user_count >= 2);
        prop_assert!(f.engaged_user_count <= f.acknowledgement_count);
        prop_assert!(f.snoozed_seconds >= 0);
        if let (Some(engage), Some(mobilize)) = (f.seconds_to_engage, f.seconds_to_mobilize) {
            prop_assert!(engage <= mobilize);
        }
        let mut reversed = entries.clone();
        reversed.reverse();
        prop_assert_eq!(compute(&inc, &reversed, &pd, &HashSet::new()), f.clone());
        // Users' parts add up to the incident's.
        let (_, people) = derive(&inc, &entries, &pd, &HashSet::new());
        let sum = |g: fn(&ResponderFacts) -> i64| people.iter().map(g).sum::<i64>();
        prop_assert_eq!(sum(|p| p.interruptions), f.total_interruptions);
        prop_assert_eq!(sum(|p| p.sleep_hour_interruptions), f.sleep_hour_interruptions);
        prop_assert_eq!(sum(|p| p.notifications), f.total_notifications);
        prop_assert_eq!(sum(|p| p.acknowledgements), f.acknowledgement_count);
        prop_assert!(sum(|p| p.manual_escalations_from + p.timeout_escalations_from) <= f.escalation_count);
        prop_assert!(sum(|p| p.reassignments_to) <= f.reassignment_count);
    }
}
