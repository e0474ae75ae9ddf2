#!/usr/bin/env python3
"""Tests of generate_snapshots.py for a profile based on another profile (the shape of R4's
`bp` on `vitalsigns`), on the R4 schemas of Tests/Fixtures. Run by `make check-generated`:
python3 Generator/test_generate_snapshots.py"""

import copy
import sys
import unittest

import generate_snapshots as gen

OBSERVATION = "http://hl7.org/fhir/StructureDefinition/Observation"
BASE_URL = "http://example.org/fhir/StructureDefinition/test-vital"
DERIVED_URL = "http://example.org/fhir/StructureDefinition/test-pressure"


def profile(id_, url, base, elements):
    return {"resourceType": "StructureDefinition", "id": id_, "url": url, "name": id_, "status": "draft",
            "kind": "resource", "abstract": False, "type": "Observation", "baseDefinition": base,
            "derivation": "constraint", "differential": {"element": elements}}


VITAL = profile("test-vital", BASE_URL, OBSERVATION, [
    {"id": "Observation", "path": "Observation",
     "constraint": [{"key": "tv-1", "severity": "error", "human": "a value or a component",
                     "expression": "value.exists() or component.exists()", "source": BASE_URL}]},
    {"id": "Observation.category", "path": "Observation.category", "min": 1},
    {"id": "Observation.subject", "path": "Observation.subject", "min": 1},
    {"id": "Observation.component", "path": "Observation.component", "max": "3"},
])

PRESSURE = profile("test-pressure", DERIVED_URL, BASE_URL, [
    {"id": "Observation.code", "path": "Observation.code", "short": "Blood pressure"},
    {"id": "Observation.component", "path": "Observation.component", "min": 2,
     "slicing": {"discriminator": [{"type": "value", "path": "code.coding.code"}], "rules": "open"}},
    {"id": "Observation.component:SystolicBP", "path": "Observation.component", "sliceName": "SystolicBP", "min": 1, "max": "1"},
    {"id": "Observation.component:SystolicBP.code", "path": "Observation.component.code",
     "patternCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}},
])


class ProfileOnProfileTests(unittest.TestCase):
    base = gen.R4Base(gen.DEFAULT_SCHEMAS, gen.DEFAULT_CONSTRAINTS)

    def snapshot(self, derived, known=(VITAL,)):
        profiles = {sd["url"]: sd for sd in known}
        return {e["id"]: e for e in gen.Generator(self.base, derived, derived["id"], profiles.get).generate()}

    def test_the_snapshot_holds_the_base_profiles_constraints_and_its_own(self):
        elements = self.snapshot(PRESSURE)
        self.assertEqual(elements["Observation.category"]["min"], 1)
        self.assertEqual(elements["Observation.subject"]["min"], 1)
        self.assertEqual(elements["Observation.component"]["min"], 2)
        self.assertEqual(elements["Observation.component"]["max"], "3")
        self.assertEqual(elements["Observation.code"]["short"], "Blood pressure")
        self.assertIn("tv-1", [c["key"] for c in elements["Observation"]["constraint"]])
        self.assertEqual(elements["Observation.component:SystolicBP"]["max"], "1")
        self.assertEqual(elements["Observation.component"]["base"], {"path": "Observation.component", "min": 0, "max": "*"})

    def test_a_profile_may_not_loosen_its_base_profiles_cardinality(self):
        loose = copy.deepcopy(PRESSURE)
        loose["differential"]["element"][1]["max"] = "*"
        with self.assertRaisesRegex(gen.SnapshotError, "max \\* loosens the base profile's 3"):
            self.snapshot(loose)
        optional = copy.deepcopy(PRESSURE)
        optional["differential"]["element"].insert(1, {"id": "Observation.subject", "path": "Observation.subject", "min": 0})
        with self.assertRaisesRegex(gen.SnapshotError, "min 0 loosens the base profile's 1"):
            self.snapshot(optional)

    def test_an_invariant_key_of_the_base_profile_is_not_defined_again(self):
        again = copy.deepcopy(PRESSURE)
        again["differential"]["element"].insert(0, copy.deepcopy(VITAL["differential"]["element"][0]))
        with self.assertRaisesRegex(gen.SnapshotError, "tv-1 is already defined"):
            self.snapshot(again)

    def test_a_base_profile_the_generator_is_not_given_is_an_error(self):
        with self.assertRaisesRegex(gen.SnapshotError, "neither the R4 Observation nor a profile given"):
            self.snapshot(PRESSURE, known=())

    def test_a_profile_deriving_from_itself_is_an_error(self):
        looped = copy.deepcopy(VITAL)
        looped["baseDefinition"] = DERIVED_URL
        with self.assertRaisesRegex(gen.SnapshotError, "derives from itself"):
            self.snapshot(PRESSURE, known=(looped, PRESSURE))

    def test_each_differential_must_be_in_the_bases_order(self):
        unordered = copy.deepcopy(PRESSURE)
        elements = unordered["differential"]["element"]
        elements[0], elements[1] = elements[1], elements[0]
        with self.assertRaisesRegex(gen.SnapshotError, "not in the base's order"):
            self.snapshot(unordered)


if __name__ == "__main__":
    unittest.main()
