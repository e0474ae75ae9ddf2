# fhir-risk-gateway — the two set-up commands are `make run` and `make test` (see README.md).
SWIFT ?= swift
SCHEMAS := Tests/Fixtures/fhir-examples/R4/schema
EXAMPLE ?= Tests/Fixtures/fhir-examples/R4/Observation-example.json
GENERATED_DEFINITIONS := Sources/FHIRCore/Generated/R4Definitions+Table.swift

.PHONY: deps build test run generate check-generated bench clean

deps:
	@scripts/install-deps.sh

# Builds everything the tests need once; `swift test --skip-build` then runs without rebuilding.
build: deps
	$(SWIFT) build --build-tests

test: build check-generated
	$(SWIFT) test --skip-build

# Until the daemon exists, `make run` builds the CLI, validates and converts an example and scores
# an example case.
run: deps
	$(SWIFT) build -c release --product fhir-risk-gateway
	.build/release/fhir-risk-gateway version
	.build/release/fhir-risk-gateway validate $(EXAMPLE)
	.build/release/fhir-risk-gateway convert $(EXAMPLE) --to xml
	.build/release/fhir-risk-gateway score Tests/Fixtures/cases/icca-case.json

# Regenerates the R4 definitions table (and the typed model) from the R4 schemas.
generate:
	python3 Generator/generate_definitions.py $(SCHEMAS) $(GENERATED_DEFINITIONS)
	python3 Generator/generate_models.py $(SCHEMAS) Sources/FHIRModels/Generated

# Fails when the committed generated code differs from what the generator makes of the schemas.
check-generated:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	python3 Generator/generate_definitions.py $(SCHEMAS) $$tmp/definitions.swift && \
	cmp -s $$tmp/definitions.swift $(GENERATED_DEFINITIONS) || { echo "$(GENERATED_DEFINITIONS) is stale: run make generate"; exit 1; }; \
	if [ -f Generator/generate_models.py ]; then \
	  python3 Generator/generate_models.py $(SCHEMAS) $$tmp/models && \
	  diff -rq $$tmp/models Sources/FHIRModels/Generated >/dev/null || { echo "Sources/FHIRModels/Generated is stale: run make generate"; exit 1; }; \
	fi; echo "generated code is current"

# Reading + validating throughput against Foundation's JSONSerialization (release build).
bench: deps
	$(SWIFT) build -c release --product FHIRCoreBenchmarks
	.build/release/FHIRCoreBenchmarks Tests/Fixtures/fhir-examples/R4

clean:
	rm -rf .build
