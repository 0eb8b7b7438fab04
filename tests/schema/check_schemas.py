#!/usr/bin/env python3
"""Checks the JSON Schemas of rule files and rule test files (docs/*.schema.json).

  python3 tests/schema/check_schemas.py [SOURCE_DIR]

1. Both schemas are valid draft-07 schemas.
2. Every rules/*.yaml (and *.yml) of the repository validates against
   docs/rules.schema.json, and every rules/tests/*.yaml against
   docs/rule-tests.schema.json. No such files at all is fine.
3. A few inline examples are accepted or refused as they must be, so the
   schemas cannot silently become too loose or too strict.

Exits 1 with one line per problem ("file: item 3 (rule 'x'): ...").
"""

import json
import pathlib
import sys

try:
    import yaml
    from jsonschema import Draft7Validator, FormatChecker
except ImportError as error:  # pragma: no cover - depends on the machine
    sys.exit(f"check_schemas: {error}; install python3-yaml and python3-jsonschema "
             "(scripts/install-deps.sh)")


class StrictLoader(yaml.SafeLoader):
    """YAML as the rules reader sees it: a key given twice is an error, and
    timestamps stay strings (a `now:` or a list item such as 2024-01-05 is
    text to qtriage, not a date)."""


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None,
                f"key {key!r} is given twice (first at line {seen[key]})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text):
    documents = list(yaml.load_all(text, Loader=StrictLoader))
    if len(documents) > 1:
        raise ValueError("a file holds one YAML document; remove the '---' separator")
    return documents[0] if documents else None


def where(path):
    """'item 3 (rule 'x') / exceptions / 1' for an error's path in the file."""
    return " / ".join(str(part + 1) if isinstance(part, int) else str(part) for part in path)


KINDS = ("list", "macro", "rule")


def item_label(document, index):
    item = document[index] if isinstance(document, list) and index < len(document) else None
    label = f"item {index + 1}"
    if isinstance(item, dict):
        for kind in KINDS + ("name",):
            if kind in item:
                return f"{label} ({kind} {str(item[kind])!r})"
    return label


def _path_key(error):
    return [(0, part, "") if isinstance(part, int) else (1, 0, str(part))
            for part in error.absolute_path]


def problems(validator, document, schema):
    """Readable messages for every schema error of a document."""
    messages = []
    for error in sorted(validator.iter_errors(document), key=_path_key):
        path = list(error.absolute_path)
        # An item matches none of list/macro/rule: say why against the kind it claims.
        if error.validator == "oneOf" and not isinstance(error.instance, dict):
            continue  # "is not of type 'object'" says it already
        if error.validator == "oneOf":
            kinds = [kind for kind in KINDS if kind in error.instance]
            if len(kinds) == 1:
                sub = Draft7Validator(dict(schema, **{"$ref": f"#/definitions/{kinds[0]}"}),
                                      format_checker=FormatChecker())
                messages += [f"{item_label(document, path[0])}: {m}"
                             for m in problems_in(sub, error.instance)]
                continue
            error_text = ("an item must have exactly one of 'list', 'macro' or 'rule'"
                          + (f", not {', '.join(kinds)}" if kinds else ""))
        else:
            error_text = error.message
        head = item_label(document, path[0]) if path and isinstance(path[0], int) else "file"
        rest = where(path[1:])
        messages.append(f"{head}{' / ' + rest if rest else ''}: {error_text}")
    return messages


def problems_in(validator, instance):
    out = []
    for error in sorted(validator.iter_errors(instance), key=_path_key):
        rest = where(error.absolute_path)
        out.append(f"{rest + ': ' if rest else ''}{error.message}")
    return out


def validate_file(path, validator, schema):
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError, ValueError) as error:
        return [f"{path}: not valid YAML: {error}"]
    if document is None:
        return []  # an empty file defines nothing
    return [f"{path}: {m}" for m in problems(validator, document, schema)]


def inline_examples(rules, rules_schema, tests):
    """(description, validator, schema, YAML text, must be valid)"""
    good_rules = """
- list: executive_mailboxes
  items: [ceo@example.com, cfo@example.com]
- macro: fully_authenticated
  condition: spf = pass and dkim = pass and dmarc = pass
- rule: purge-delivered-credential-phish
  desc: Delivered mail later judged malicious is purged.
  condition: >
    disposition in (MALICIOUS, MALICIOUS-BEC) and not quarantined
  exceptions:
    - name: executives-are-reviewed-by-hand
      condition: any(recipients, _ in executive_mailboxes)
  action: move RecoverableItemsPurges
  enabled: true
  mode: audit
  tags: [remediation]
  max_per_cycle: 50
  approve: required
- rule: purge-delivered-credential-phish
  override: append
  condition: not phish_submission
- rule: release-bulk
  condition: quarantined and disposition = BULK and fully_authenticated
  action: release
- rule: reclassify-reported
  condition: phish_submission
  action: reclassify MALICIOUS
- rule: hands-off
  condition: from in executive_mailboxes
  action: ignore
"""
    rule = "- rule: r\n  condition: quarantined\n  action: release\n"
    return [
        ("a correct rule file", rules, rules_schema, good_rules, True),
        ("an empty sequence", rules, rules_schema, "[]", True),
        ("an unknown key in a rule", rules, rules_schema,
         "- rule: r\n  condtion: quarantined\n  action: release\n", False),
        ("an unknown key in a list", rules, rules_schema, "- list: l\n  itmes: [a]\n", False),
        ("an unknown key in a macro", rules, rules_schema, "- macro: m\n  conditon: quarantined\n", False),
        ("an unknown key in an exception", rules, rules_schema,
         rule + "  exceptions:\n    - name: e\n      condtion: quarantined\n", False),
        ("a bad mode", rules, rules_schema, rule + "  mode: enforced\n", False),
        ("a bad override", rules, rules_schema, rule + "  override: merge\n", False),
        ("enabled as a string", rules, rules_schema, rule + "  enabled: \"false\"\n", False),
        ("a negative max_per_cycle", rules, rules_schema, rule + "  max_per_cycle: -1\n", False),
        ("approve other than required", rules, rules_schema, rule + "  approve: optional\n", False),
        ("an unknown action", rules, rules_schema,
         "- rule: r\n  condition: quarantined\n  action: purge\n", False),
        ("move to an unknown folder", rules, rules_schema,
         "- rule: r\n  condition: quarantined\n  action: move Junk\n", False),
        ("reclassify to an unknown disposition", rules, rules_schema,
         "- rule: r\n  condition: quarantined\n  action: reclassify PHISH\n", False),
        ("release with an argument", rules, rules_schema,
         "- rule: r\n  condition: quarantined\n  action: release now\n", False),
        ("a rule without action", rules, rules_schema, "- rule: r\n  condition: quarantined\n", False),
        ("a rule without condition", rules, rules_schema, "- rule: r\n  action: release\n", False),
        ("a blank condition", rules, rules_schema,
         "- rule: r\n  condition: \"  \"\n  action: release\n", False),
        ("an append that changes the action", rules, rules_schema,
         "- rule: r\n  override: append\n  condition: quarantined\n  action: release\n", False),
        ("an item with both rule and macro", rules, rules_schema,
         "- rule: r\n  macro: m\n  condition: quarantined\n  action: release\n", False),
        ("an item that is a string", rules, rules_schema, "- r\n", False),
        ("a top-level mapping", rules, rules_schema, "rule: r\ncondition: quarantined\naction: release\n", False),
        ("a list item that is a mapping", rules, rules_schema, "- list: l\n  items: [a, {b: c}]\n", False),
        ("an exception without a name", rules, rules_schema,
         rule + "  exceptions:\n    - condition: quarantined\n", False),
        ("correct test cases", tests, None, """
- name: delivered credential phish is purged
  message: {postfix_id: A1, final_disposition: MALICIOUS, is_quarantined: false,
            threat_categories: [CredentialHarvester], to: [bob@example.com]}
  expect: {rule: purge-delivered-credential-phish, action: move RecoverableItemsPurges}
- name: old bulk
  now: 2024-01-05T12:00:00Z
  message: {postfix_id: A3, final_disposition: BULK, is_quarantined: true,
            scanned_at: "2024-01-01T00:00:00Z", detections: {sender_info: {ip: 192.0.2.1}}}
  expect: {rule: release-bulk, action: none, skip: already released}
- name: executives are left alone
  message: {postfix_id: A2}
  expect: {action: none}
""", True),
        ("a test case with an unknown key", tests, None,
         "- name: x\n  message: {}\n  expect: {action: none}\n  expected: {}\n", False),
        ("a test case with a bad expected action", tests, None,
         "- name: x\n  message: {}\n  expect: {action: delete}\n", False),
        ("a test case without expect", tests, None, "- name: x\n  message: {}\n", False),
        ("a test case with an unknown expect key", tests, None,
         "- name: x\n  message: {}\n  expect: {action: none, rules: r}\n", False),
        ("a test case whose message is a string", tests, None,
         "- name: x\n  message: A1\n  expect: {action: none}\n", False),
        ("a test case with a bad now", tests, None,
         "- name: x\n  now: yesterday\n  message: {}\n  expect: {action: none}\n", False),
    ]


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
    failures = []
    schemas = {}
    for name in ("rules.schema.json", "rule-tests.schema.json"):
        path = root / "docs" / name
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft7Validator.check_schema(schema)
        except (OSError, ValueError) as error:
            failures.append(f"{path}: not a JSON document: {error}")
            continue
        except Exception as error:  # jsonschema.SchemaError
            failures.append(f"{path}: not a valid draft-07 schema: {error}")
            continue
        schemas[name] = schema
    if failures:
        print("\n".join(failures), file=sys.stderr)
        return 1

    rules_schema = schemas["rules.schema.json"]
    tests_schema = schemas["rule-tests.schema.json"]
    rules = Draft7Validator(rules_schema, format_checker=FormatChecker())
    tests = Draft7Validator(tests_schema, format_checker=FormatChecker())

    # FormatChecker checks date-time only when a helper package is there;
    # check the shape ourselves so the result does not depend on the machine.
    def now_is_rfc3339(document):
        import re
        pattern = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
        out = []
        for index, case in enumerate(document if isinstance(document, list) else []):
            if isinstance(case, dict) and isinstance(case.get("now"), str) \
                    and not pattern.match(case["now"]):
                out.append(f"{item_label(document, index)} / now: {case['now']!r} is not an "
                           "RFC 3339 time such as 2024-01-05T12:00:00Z")
        return out

    checked = 0
    rules_dir = root / "rules"
    for pattern, validator, schema in (("*.yaml", rules, rules_schema), ("*.yml", rules, rules_schema)):
        for path in sorted(rules_dir.glob(pattern)):
            failures += validate_file(path, validator, schema)
            checked += 1
    for pattern in ("*.yaml", "*.yml"):
        for path in sorted((rules_dir / "tests").glob(pattern)):
            found = validate_file(path, tests, tests_schema)
            if not any(message.startswith(f"{path}: not valid YAML") for message in found):
                document = load_yaml(path.read_text(encoding="utf-8"))
                found += [f"{path}: {m}" for m in now_is_rfc3339(document)
                          if f"{path}: {m.split(':')[0]}: " not in "\n".join(found)]
            failures += found
            checked += 1

    for description, validator, schema, text, must_pass in inline_examples(rules, rules_schema, tests):
        document = load_yaml(text)
        found = problems(validator, document, schema or tests_schema)
        if validator is tests:
            found += [m for m in now_is_rfc3339(document)
                      if f"{m.split(':')[0]}: " not in "\n".join(found)]
        if must_pass and found:
            failures.append(f"inline example '{description}' must be valid: " + "; ".join(found))
        elif not must_pass and not found:
            failures.append(f"inline example '{description}' must be refused, but it validates")

    if failures:
        print("\n".join(failures), file=sys.stderr)
        print(f"check_schemas: {len(failures)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_schemas: schemas valid, {checked} rule/test file(s) valid, inline examples ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
