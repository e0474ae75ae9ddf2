#!/usr/bin/env python3
"""Validates FHIR JSON files against the official R4 JSON schema (fhir.schema.json), each file
against the definition of its own resourceType. An independent check of what the gateway writes.

Usage: validate_json_schema.py SCHEMA FILE...   (exit 0 when every file is valid)
"""
import json
import sys

import jsonschema


def main():
    schema_path, files = sys.argv[1], sys.argv[2:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    failures = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            instance = json.load(f)
        rooted = {"$schema": schema.get("$schema"), "definitions": schema["definitions"],
                  "$ref": f"#/definitions/{instance.get('resourceType')}"}
        validator = jsonschema.Draft6Validator(rooted)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        for error in errors:
            failures += 1
            print(f"{path}: {'/'.join(str(p) for p in error.path)}: {error.message}")
    print(f"{len(files)} file(s), {failures} error(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
