#!/usr/bin/env python3
"""Extracts from PagerDuty's official OpenAPI document (PagerDuty/api-schema,
reference/REST/openapiv3.json) the 200-response schemas of the endpoints the
pagerlens client and simulator use, with every component they reference, into
tests/fixtures/pagerduty-openapi-subset.json. A test validates the simulator's
answers against it.

Usage: scripts/openapi-subset.py PATH/TO/openapiv3.json
"""
import json
import sys

ENDPOINTS = [
    "/priorities", "/teams", "/teams/{id}/members", "/users", "/services",
    "/escalation_policies", "/schedules", "/oncalls", "/incidents",
    "/incidents/{id}", "/incidents/{id}/log_entries", "/log_entries",
    "/incidents/{id}/custom_fields/values",
]

spec = json.load(open(sys.argv[1]))
responses = {}
for path in ENDPOINTS:
    op = spec["paths"][path]["get"]
    content = op["responses"]["200"]["content"]
    media = content.get("application/json") or next(iter(content.values()))
    responses[path] = media["schema"]

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
print(f"{len(responses)} responses, {len(needed)} component schemas")
