#!/usr/bin/env python3
"""Extracts from PagerDuty's official OpenAPI document (PagerDuty/api-schema,
reference/REST/openapiv3.json) the 200-response schemas of the endpoints the
pagerlens client and simulator use, with every component they reference, into
tests/fixtures/pagerduty-openapi-subset.json, and the document's own example
answers of those endpoints into tests/fixtures/pagerduty-openapi-examples.json.
Tests validate the simulator's answers against the schemas and read the
examples through the client's wire models.

Usage: scripts/openapi-subset.py PATH/TO/openapiv3.json
"""
import json
import sys

ENDPOINTS = [
    "/priorities", "/teams", "/teams/{id}/members", "/users", "/services",
    "/escalation_policies", "/schedules", "/oncalls", "/incidents",
    "/incidents/{id}", "/incidents/{id}/log_entries", "/log_entries",
    "/incidents/{id}/custom_fields/values", "/incidents/custom_fields",
    "/incidents/types", "/incidents/types/{type_id_or_name}/custom_fields",
    # PagerDuty's analytics (reads, but POST with a JSON body).
    ("/analytics/raw/incidents", "post"), ("/analytics/raw/incidents/{id}", "get"),
    ("/analytics/metrics/incidents/all", "post"),
    ("/analytics/metrics/incidents/services", "post"),
    ("/analytics/metrics/incidents/teams", "post"),
    ("/analytics/metrics/incidents/escalation_policies", "post"),
]

spec = json.load(open(sys.argv[1]))
responses = {}
examples = {}
for entry in ENDPOINTS:
    path, method = entry if isinstance(entry, tuple) else (entry, "get")
    op = spec["paths"][path][method]
    content = op["responses"]["200"]["content"]
    media = content.get("application/json") or next(iter(content.values()))
    responses[path] = media["schema"]
    found = [e["value"] for e in media.get("examples", {}).values() if "value" in e]
    if "example" in media:
        found.append(media["example"])
    examples[path] = found

needed = set()

def walk(node):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.split("/")[3]
            if name not in needed:
                needed.add(name)
                walk(spec["components"]["schemas"][name])
        for k, v in node.items():
            if k != "example" and k != "examples":
                walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)

def strip(node):
    if isinstance(node, dict):
        # Annotations only: a property that happens to be named "description"
        # (a schema, not a string) is kept.
        return {k: strip(v) for k, v in node.items() if not (k in ("example", "description") and not isinstance(v, dict)) and k not in ("examples", "x-pd-requires-scope")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node

walk(responses)
out = {
    "x-source": "PagerDuty/api-schema reference/REST/openapiv3.json, info.version " + spec["info"]["version"] + "; responses and the components they use, descriptions and examples removed",
    "responses": strip(responses),
    "components": {"schemas": {name: strip(spec["components"]["schemas"][name]) for name in sorted(needed)}},
}
json.dump(out, open("tests/fixtures/pagerduty-openapi-subset.json", "w"), indent=1, sort_keys=True)
json.dump(
    {"x-source": out["x-source"].split(";")[0] + "; the example answers of the same endpoints", "examples": examples},
    open("tests/fixtures/pagerduty-openapi-examples.json", "w"), indent=1, sort_keys=True)
print(f"{len(responses)} responses, {len(needed)} component schemas, "
      f"{sum(len(v) for v in examples.values())} examples")
