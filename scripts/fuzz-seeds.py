#!/usr/bin/env python3
"""Seed inputs for the fuzz targets that do not read whole files (scripts/fuzz.sh):
  narratives <examples dir> <out dir>   every text.div of the R4 JSON examples, one file each
  fhirpath <tests-fhir-r4.xml> <out dir> every expression of the official FHIRPath suite"""
import hashlib
import json
import pathlib
import sys
import xml.etree.ElementTree as ET


def write(out: pathlib.Path, text: str) -> None:
    data = text.encode("utf-8")
    (out / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def narratives(value, out):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "div" and isinstance(item, str):
                write(out, item)
            else:
                narratives(item, out)
    elif isinstance(value, list):
        for item in value:
            narratives(item, out)


def main() -> None:
    kind, source, out = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    if kind == "narratives":
        for path in sorted(source.glob("*.json")):
            try:
                narratives(json.loads(path.read_text(encoding="utf-8")), out)
            except ValueError:
                continue
    elif kind == "fhirpath":
        for expression in ET.parse(source).getroot().iter("expression"):
            if expression.text:
                write(out, expression.text)
    else:
        sys.exit(f"unknown seed kind {kind}")


if __name__ == "__main__":
    main()
