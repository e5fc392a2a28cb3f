# Seeds a fresh database for the benchmarks, straight with SQL: 50 services
# and N incidents (N set by the caller), one every 30 seconds from
# 2025-01-01 (1,000,000 span 347 days), a quarter each triggered and
# acknowledged, half resolved, a third escalated, with their analytics
# facts. Expects $BIN and $N.

seed_sqlite() { # path
  DATABASE_URL="sqlite://$1?mode=rwc" PAGERLENS_LOG=warn "$BIN" migrate up >/dev/null
  sqlite3 "$1" <<SQL
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 49)
INSERT INTO services (id, name, status, created_at, updated_at)
SELECT printf('PBS%02d', i), 'Service ' || i, 'active', '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00' FROM s;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO incidents (id, incident_number, title, status, urgency, service_id, source, escalation_count,
                       created_at, acknowledged_at, resolved_at, updated_at)
SELECT printf('PB%07d', i), i + 1, 'Incident ' || i || ' on service ' || (i % 50),
       CASE i % 4 WHEN 0 THEN 'triggered' WHEN 1 THEN 'acknowledged' ELSE 'resolved' END,
       CASE i % 2 WHEN 0 THEN 'high' ELSE 'low' END, printf('PBS%02d', i % 50), 'pagerduty', i % 3,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', '2025-01-01', '+' || (i * 30) || ' seconds'),
       CASE WHEN i % 4 > 0 THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', '2025-01-01', '+' || (i * 30 + 300) || ' seconds') END,
       CASE WHEN i % 4 > 1 THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', '2025-01-01', '+' || (i * 30 + 3600) || ' seconds') END,
       '2026-01-01T00:00:00+00:00'
FROM n;

-- PagerDuty's per-incident analytics facts, as the sync would derive them
-- from this log (an acknowledgement 300 s in, a resolve at 3,600 s, i % 3
-- timeout escalations, one notification per assignment).
INSERT INTO incident_analytics (incident_id, version, seconds_to_first_ack, seconds_to_resolve,
  engaged_seconds, engaged_user_count, acknowledgement_count, assignment_count, escalation_count,
  manual_escalation_count, timeout_escalation_count, reassignment_count, snoozed_seconds,
  total_notifications, total_interruptions, business_hour_interruptions, off_hour_interruptions,
  sleep_hour_interruptions, auto_resolved, major, joined_user_ids, computed_at)
SELECT id, '1;', CASE WHEN acknowledged_at IS NOT NULL THEN 300 END,
       CASE WHEN resolved_at IS NOT NULL THEN 3600 END,
       CASE WHEN resolved_at IS NOT NULL THEN 3300 END,
       CASE WHEN acknowledged_at IS NOT NULL THEN 1 ELSE 0 END,
       CASE WHEN acknowledged_at IS NOT NULL THEN 1 ELSE 0 END,
       1 + escalation_count, escalation_count, 0, escalation_count, 0, 0,
       1 + escalation_count, 1 + escalation_count, 1 + escalation_count, 0, 0,
       FALSE, FALSE, '', '2026-01-01T00:00:00+00:00'
FROM incidents;
-- Each incident's responder (40 people), as the sync would derive it.
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO incident_responder_analytics (incident_id, user_id, first_notified_at, seconds_to_first_ack,
  acknowledgements, notifications, interruptions, business_hour_interruptions, off_hour_interruptions,
  sleep_hour_interruptions, manual_escalations_from, timeout_escalations_from, manual_escalations_to,
  timeout_escalations_to, reassignments_from, reassignments_to, engaged_seconds)
SELECT printf('PB%07d', i), printf('PBU%02d', i % 40),
       strftime('%Y-%m-%dT%H:%M:%S+00:00', '2025-01-01', '+' || (i * 30 + 1) || ' seconds'),
       CASE WHEN i % 4 > 0 THEN 299 END, CASE WHEN i % 4 > 0 THEN 1 ELSE 0 END,
       1, 1, 1, 0, 0, 0, CASE WHEN i % 3 > 0 THEN 1 ELSE 0 END, 0, 0, 0, 0,
       CASE WHEN i % 4 > 1 THEN 3300 END
FROM n;
SQL
}

seed_postgres() { # url
  DATABASE_URL="$1" PAGERLENS_LOG=warn "$BIN" migrate up >/dev/null
  psql "$1" -q <<SQL
INSERT INTO services (id, name, status, created_at, updated_at)
SELECT 'PBS' || lpad(i::text, 2, '0'), 'Service ' || i, 'active', now(), now() FROM generate_series(0, 49) i;
INSERT INTO incidents (id, incident_number, title, status, urgency, service_id, source, escalation_count,
                       created_at, acknowledged_at, resolved_at, updated_at)
SELECT 'PB' || lpad(i::text, 7, '0'), i + 1, 'Incident ' || i || ' on service ' || (i % 50),
       CASE i % 4 WHEN 0 THEN 'triggered' WHEN 1 THEN 'acknowledged' ELSE 'resolved' END,
       CASE i % 2 WHEN 0 THEN 'high' ELSE 'low' END, 'PBS' || lpad((i % 50)::text, 2, '0'), 'pagerduty', i % 3,
       timestamptz '2025-01-01' + i * interval '30 seconds',
       CASE WHEN i % 4 > 0 THEN timestamptz '2025-01-01' + (i * 30 + 300) * interval '1 second' END,
       CASE WHEN i % 4 > 1 THEN timestamptz '2025-01-01' + (i * 30 + 3600) * interval '1 second' END,
       now()
FROM generate_series(0, $N - 1) i;

-- PagerDuty's per-incident analytics facts, as the sync would derive them
-- from this log (an acknowledgement 300 s in, a resolve at 3,600 s, i % 3
-- timeout escalations, one notification per assignment).
INSERT INTO incident_analytics (incident_id, version, seconds_to_first_ack, seconds_to_resolve,
  engaged_seconds, engaged_user_count, acknowledgement_count, assignment_count, escalation_count,
  manual_escalation_count, timeout_escalation_count, reassignment_count, snoozed_seconds,
  total_notifications, total_interruptions, business_hour_interruptions, off_hour_interruptions,
  sleep_hour_interruptions, auto_resolved, major, joined_user_ids, computed_at)
SELECT id, '1;', CASE WHEN acknowledged_at IS NOT NULL THEN 300 END,
       CASE WHEN resolved_at IS NOT NULL THEN 3600 END,
       CASE WHEN resolved_at IS NOT NULL THEN 3300 END,
       CASE WHEN acknowledged_at IS NOT NULL THEN 1 ELSE 0 END,
       CASE WHEN acknowledged_at IS NOT NULL THEN 1 ELSE 0 END,
       1 + escalation_count, escalation_count, 0, escalation_count, 0, 0,
       1 + escalation_count, 1 + escalation_count, 1 + escalation_count, 0, 0,
       FALSE, FALSE, '', now()
FROM incidents;
ANALYZE incident_analytics;
INSERT INTO incident_responder_analytics (incident_id, user_id, first_notified_at, seconds_to_first_ack,
  acknowledgements, notifications, interruptions, business_hour_interruptions, off_hour_interruptions,
  sleep_hour_interruptions, manual_escalations_from, timeout_escalations_from, manual_escalations_to,
  timeout_escalations_to, reassignments_from, reassignments_to, engaged_seconds)
SELECT 'PB' || lpad(i::text, 7, '0'), 'PBU' || lpad((i % 40)::text, 2, '0'),
       timestamptz '2025-01-01' + (i * 30 + 1) * interval '1 second',
       CASE WHEN i % 4 > 0 THEN 299 END, CASE WHEN i % 4 > 0 THEN 1 ELSE 0 END,
       1, 1, 1, 0, 0, 0, CASE WHEN i % 3 > 0 THEN 1 ELSE 0 END, 0, 0, 0, 0,
       CASE WHEN i % 4 > 1 THEN 3300 END
FROM generate_series(0, $N - 1) i;
ANALYZE incident_responder_analytics;
ANALYZE incidents;
SQL
}

