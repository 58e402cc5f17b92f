#!/usr/bin/python3
"""Checks the monitoring files in deploy/ against the metrics the daemons export.

  deploy/check_metrics.py

- Every rsi_ family that deploy/prometheus/alerts.yml, the Grafana dashboard and the statsd
  mapping name is one that src/telemetry/names.cpp defines (a histogram's _bucket, _sum and
  _count too), and every family with a statsd name is mapped.
- The dashboard is importable: JSON, a Prometheus datasource variable that every panel and
  query variable uses, unique panel ids.
- deploy/prometheus/statsd_mapping.yml is read the way statsd_exporter reads it (its validation
  rules, glob matching per dot-separated component, the first matching rule wins, `$n`
  captures, `scale`, timers turned from milliseconds into seconds) and must turn each datagram
  of statsd_mapping_cases.txt into the series that file expects.

statsd_exporter itself is not packaged for Debian; where it is installed, also run
`statsd_exporter --statsd.mapping-config=deploy/prometheus/statsd_mapping.yml --check-config`.
Exit status 1 with one line per problem.
"""
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
problems = []


def problem(text):
    problems.append(text)


# The families names.cpp defines: every key of its HELP map, and which carry a statsd name.
def read_families():
    source = (ROOT / "src/telemetry/names.cpp").read_text()
    help_map = source[source.index("k_help{"):]
    families = set(re.findall(r'\{"(\w+)",', help_map))
    with_statsd = set()
    for statsd, family in re.findall(r'return\s*\{\s*([^;]+?),\s*"(\w*)"', source, re.S):
        if family and statsd.strip() != '""':
            with_statsd.add(family)
    if not families or not with_statsd:
        problem("src/telemetry/names.cpp: found no metric families (was it restructured?)")
    return {"rsi_" + name for name in families}, {"rsi_" + name for name in with_statsd}


FAMILIES, WITH_STATSD = read_families()
HISTOGRAMS = {"rsi_load_duration_seconds", "rsi_notification_to_commit_seconds"}


def known(name):
    if name in FAMILIES:
        return True
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    return base in HISTOGRAMS and base in FAMILIES


def check_names(where, text):
    for name in sorted(set(re.findall(r"\brsi_\w+(?![\w*])", text))):
        if not known(name):
            problem(f"{where}: {name} is no family the daemons export (src/telemetry/names.cpp)")


# --- the dashboard -------------------------------------------------------------------------

def panels_of(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows keep theirs inside


def check_dashboard(path):
    try:
        dashboard = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        problem(f"{path.name}: not JSON: {error}")
        return
    variables = dashboard.get("templating", {}).get("list", [])
    sources = [v for v in variables if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if len(sources) != 1:
        problem(f"{path.name}: wants one datasource variable of type prometheus, has {len(sources)}")
        return
    wanted = "${" + sources[0]["name"] + "}"
    if dashboard.get("uid") in (None, "") or dashboard.get("id") is not None:
        problem(f"{path.name}: wants a uid and \"id\": null, as an import needs")
    for variable in variables:
        if variable.get("type") == "query" and variable.get("datasource", {}).get("uid") != wanted:
            problem(f"{path.name}: variable {variable.get('name')} does not use {wanted}")
    ids = set()
    exprs = 0
    for panel in panels_of(dashboard):
        if panel.get("id") in ids:
            problem(f"{path.name}: panel id {panel.get('id')} is used twice")
        ids.add(panel.get("id"))
        if panel.get("type") == "row":
            continue
        if panel.get("datasource", {}).get("uid") != wanted:
            problem(f"{path.name}: panel {panel.get('title')!r} does not use {wanted}")
        targets = panel.get("targets", [])
        if not targets:
            problem(f"{path.name}: panel {panel.get('title')!r} has no query")
        for target in targets:
            exprs += 1
            if target.get("datasource", {}).get("uid") != wanted:
                problem(f"{path.name}: a query of {panel.get('title')!r} does not use {wanted}")
            if "rsi_" not in target.get("expr", "") and "up{" not in target.get("expr", ""):
                problem(f"{path.name}: panel {panel.get('title')!r} queries no rs_ingester metric")
    if exprs == 0:
        problem(f"{path.name}: no queries")


# --- the statsd mapping, as statsd_exporter reads it (pkg/mapper/mapper.go, fsm/fsm.go) ------

METRIC_LINE = re.compile(r"^(\*|[a-zA-Z_][a-zA-Z0-9_\-]*)(\.\*|\.[a-zA-Z0-9_][a-zA-Z0-9_\-]*)*$")
METRIC_NAME = re.compile(r"^([a-zA-Z_]|\$\{?\d+\}?)([a-zA-Z0-9_]|\$\{?\d+\}?)*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]+$")
MAPPING_KEYS = {"match", "name", "labels", "honor_labels", "observer_type", "match_type", "help",
                "action", "match_metric_type", "ttl", "summary_options", "histogram_options",
                "scale"}
DEFAULT_KEYS = {"observer_type", "match_type", "glob_disable_ordering", "ttl", "summary_options",
                "histogram_options"}
TYPES = {"counter", "gauge", "observer"}


def load_mapping(path):
    config = yaml.safe_load(path.read_text())
    where = path.name
    if set(config) - {"defaults", "mappings"}:
        problem(f"{where}: unknown keys {sorted(set(config) - {'defaults', 'mappings'})}")
    defaults = config.get("defaults", {})
    if set(defaults) - DEFAULT_KEYS:
        problem(f"{where}: unknown defaults {sorted(set(defaults) - DEFAULT_KEYS)}")
    if defaults.get("glob_disable_ordering"):
        problem(f"{where}: this check knows ordered glob matching only")
    rules = []
    for index, rule in enumerate(config.get("mappings", [])):
        label = f"{where}: mapping {index} ({rule.get('match')!r})"
        if set(rule) - MAPPING_KEYS:
            problem(f"{label}: unknown keys {sorted(set(rule) - MAPPING_KEYS)}")
        if not rule.get("name") or not METRIC_NAME.match(rule["name"]):
            problem(f"{label}: bad or missing name")
        for key in rule.get("labels", {}):
            if not LABEL_NAME.match(key):
                problem(f"{label}: invalid label key {key}")
        if rule.get("match_type", defaults.get("match_type", "glob")) != "glob":
            problem(f"{label}: this check knows glob rules only")
        if not METRIC_LINE.match(rule.get("match", "")):
            problem(f"{label}: invalid match")
        if rule.get("match_metric_type") not in (None, *TYPES):
            problem(f"{label}: invalid match_metric_type")
        if rule.get("action", "map") not in ("map", "drop"):
            problem(f"{label}: invalid action")
        rule_types = {rule["match_metric_type"]} if rule.get("match_metric_type") else TYPES
        fields = rule.get("match", "").split(".")
        # statsd_exporter's FSM gives a rule's result only to a state it creates: a rule whose
        # path an earlier rule of the same type already laid down (the same match, or a prefix
        # of a longer one) would never match.
        for earlier in rules:
            if earlier["types"] & rule_types and earlier["fields"][:len(fields)] == fields:
                problem(f"{label}: its path is an earlier rule's ({earlier['match']!r}): it is ignored")
        rules.append({"match": rule.get("match", ""), "fields": fields, "types": rule_types,
                      "rule": rule})
    return rules


def substitute(template, captures):
    return re.sub(r"\$\{?(\d+)\}?", lambda m: captures[int(m.group(1)) - 1]
                  if 0 < int(m.group(1)) <= len(captures) else "", template)


def map_datagram(rules, datagram):
    name, rest = datagram.split(":", 1)
    value, kind = rest.split("|")[:2]
    metric_type = {"c": "counter", "g": "gauge", "ms": "observer", "h": "observer",
                   "d": "observer"}[kind]
    value = float(value)
    if kind == "ms":
        value /= 1000.0
    parts = name.split(".")
    for entry in rules:
        if metric_type not in entry["types"] or len(entry["fields"]) != len(parts):
            continue
        captures = []
        for field, part in zip(entry["fields"], parts):
            if field == "*":
                captures.append(part)
            elif field != part:
                break
        else:
            rule = entry["rule"]
            if rule.get("action") == "drop":
                return "drop"
            value *= float(rule.get("scale", 1))
            labels = ",".join(f'{key}="{substitute(str(template), captures)}"'
                              for key, template in sorted(rule.get("labels", {}).items()))
            family = substitute(rule["name"], captures)
            return (family + (f"{{{labels}}}" if labels else ""), value)
    return "unmatched"


def parse_series(text):
    match = re.fullmatch(r"(\w+)(\{(.*)\})? (\S+)", text)
    if not match:
        return None
    labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(3) or ""))
    label_text = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return (match.group(1) + (f"{{{label_text}}}" if label_text else ""), float(match.group(4)))


def check_mapping(path, cases_path):
    rules = load_mapping(path)
    mapped = {substitute(entry["rule"].get("name", ""), []) for entry in rules
              if entry["rule"].get("action", "map") == "map"}
    for family in sorted(WITH_STATSD - mapped):
        problem(f"{path.name}: {family} has a statsd name (src/telemetry/names.cpp) but no mapping")
    count = 0
    for number, line in enumerate(cases_path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        count += 1
        datagram, expected = line.split(None, 1)
        got = map_datagram(rules, datagram)
        if expected in ("drop", "unmatched"):
            if got != expected:
                problem(f"{cases_path.name}:{number}: {datagram} gave {got}, wants {expected}")
            continue
        want = parse_series(expected)
        if want is None:
            problem(f"{cases_path.name}:{number}: cannot read {expected!r}")
        elif not isinstance(got, tuple) or got[0] != want[0] or abs(got[1] - want[1]) > 1e-9:
            problem(f"{cases_path.name}:{number}: {datagram} gave {got}, wants {want}")
        else:
            check_names(f"{cases_path.name}:{number}", want[0])
    if count == 0:
        problem(f"{cases_path.name}: no cases")


def main():
    alerts = DEPLOY / "prometheus/alerts.yml"
    check_names(alerts.name, alerts.read_text())
    dashboard = DEPLOY / "grafana/rs_ingester.json"
    check_names(dashboard.name, dashboard.read_text())
    check_dashboard(dashboard)
    mapping = DEPLOY / "prometheus/statsd_mapping.yml"
    check_names(mapping.name, mapping.read_text())
    check_mapping(mapping, DEPLOY / "prometheus/statsd_mapping_cases.txt")
    for text in problems:
        print(f"check_metrics: {text}", file=sys.stderr)
    if not problems:
        print(f"check_metrics: {len(FAMILIES)} families; alerts, dashboard and statsd mapping agree")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
