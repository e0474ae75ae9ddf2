# fhir-risk-gateway — the two set-up commands are `make run` and `make test` (see README.md).
SWIFT ?= swift
SCHEMAS := Tests/Fixtures/fhir-examples/R4/schema
GENERATED_DEFINITIONS := Sources/FHIRCore/Generated/R4Definitions+Table.swift

PREFIX ?= /usr
DESTDIR ?=
# The shipped binary: release, the Swift runtime and Foundation linked in, so that it runs on a
# server with only the Debian packages the README names (no Swift toolchain).
RELEASE_BINARY := .build/release/fhir-risk-gateway
RELEASE_BUILD := $(SWIFT) build -c release --static-swift-stdlib --product fhir-risk-gateway

.PHONY: deps build release test run generate profiles ig-package check-generated check-units check-install check-monitoring install man deb check-deb bench fuzz clean

deps:
	@scripts/install-deps.sh

# Builds everything the tests need once; `swift test --skip-build` then runs without rebuilding.
build: deps
	$(SWIFT) build --build-tests

# The shipped binary, for the test of the installed one (check-install).
release: deps
	$(RELEASE_BUILD)

# The high-availability tests (two gateways, PostgreSQL, load, kill -9) run on their own after the
# rest: beside them, on two cores, the tests that time the store's writer would be starved.
test: build release check-generated ig-package check-units check-install check-deb check-monitoring
	$(SWIFT) test --skip-build --skip HighAvailabilityTests
	$(SWIFT) test --skip-build --filter HighAvailabilityTests

# Builds the daemon and starts it on https://127.0.0.1:8443 (mutual TLS, development certificates
# generated on first use in .dev/) with the embedded SQLite store; see README.md for a curl to try.
run: release
	scripts/dev-config.sh
	$(RELEASE_BINARY) check-config --config .dev/gateway.yaml --no-network
	$(RELEASE_BINARY) serve --config .dev/gateway.yaml

# Regenerates the R4 definitions table (and the typed model) from the R4 schemas.
generate:
	python3 Generator/generate_definitions.py $(SCHEMAS) $(GENERATED_DEFINITIONS)
	python3 Generator/generate_models.py $(SCHEMAS) Sources/FHIRModels/Generated

# Regenerates the snapshots of the StructureDefinitions in Profiles/ from their differentials and
# the R4 schemas (see Profiles/README.md).
profiles:
	python3 Generator/generate_snapshots.py --schemas $(SCHEMAS)

# The implementation guide as an NPM package for HL7's tools (.build/ig/fhir-risk-gateway.icca-<version>.tgz),
# then unpacked again and checked.
IG_DIR := .build/ig
ig-package:
	python3 Generator/generate_snapshots.py --check --schemas $(SCHEMAS)
	python3 Generator/build_package.py --out $(IG_DIR)
	python3 Generator/check_package.py $(IG_DIR)

# Fails when the committed generated code (or a profile's snapshot) differs from what the
# generators make of the schemas and the differentials; then the snapshot generator's own tests.
check-generated:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	python3 Generator/generate_definitions.py $(SCHEMAS) $$tmp/definitions.swift && \
	cmp -s $$tmp/definitions.swift $(GENERATED_DEFINITIONS) || { echo "$(GENERATED_DEFINITIONS) is stale: run make generate"; exit 1; }; \
	if [ -f Generator/generate_models.py ]; then \
	  python3 Generator/generate_models.py $(SCHEMAS) $$tmp/models && \
	  diff -rq $$tmp/models Sources/FHIRModels/Generated >/dev/null || { echo "Sources/FHIRModels/Generated is stale: run make generate"; exit 1; }; \
	fi; echo "generated code is current"
	@python3 Generator/generate_snapshots.py --check --schemas $(SCHEMAS)
	@python3 Generator/test_generate_snapshots.py

# Lints the systemd units offline (systemd-analyze verify and security, systemd-sysusers
# --dry-run) in a temporary root, and checks that those gates can fail; see systemd/README.md.
check-units:
	scripts/check-units.sh .build/debug/fhir-risk-gateway

# The Prometheus alert rules (promtool check rules, then their unit tests) and the Grafana
# dashboard (valid JSON, valid PromQL) of Config/monitoring/; see Config/monitoring/README.md.
check-monitoring: deps
	scripts/check-monitoring.sh

# make install of the shipped binary into a temporary folder, then the installed binary run with
# the Swift toolchain hidden: it starts, checks the shipped configuration, and a crash backtrace
# names its functions.
check-install:
	scripts/check-install.sh $(RELEASE_BINARY)

# The Debian package and its -dbgsym package, from the shipped binary, in .build/deb/ (see
# README.md, "Install from the Debian package").
DEB_DIR := .build/deb
deb:
	@[ -x $(RELEASE_BINARY) ] || $(RELEASE_BUILD)
	SWIFT="$(SWIFT)" scripts/build-deb.sh $(RELEASE_BINARY) $(DEB_DIR)

# make deb, lintian (no errors), then install into a temporary root with dpkg --root, check-config
# of the installed configuration, upgrade, remove, purge; the machine itself read-only meanwhile.
check-deb:
	SWIFT="$(SWIFT)" scripts/check-deb.sh $(RELEASE_BINARY)

# The manual pages, fhir-risk-gateway(8) from the binary's command definitions and
# fhir-risk-gateway.yaml(5) from Config/gateway.yaml, into .build/man/ (read one: man -l .build/man/fhir-risk-gateway.8).
man:
	@[ -x $(RELEASE_BINARY) ] || $(RELEASE_BUILD)
	SWIFT="$(SWIFT)" scripts/manpages.sh $(RELEASE_BINARY) .build/man
	scripts/check-manpages.sh .build/man/fhir-risk-gateway.8 .build/man/fhir-risk-gateway.yaml.5

# Installs the binary (stripped; its symbols in $PREFIX/lib/debug/.build-id), units,
# sysusers.d/tmpfiles.d files, configuration (never overwriting /etc/fhir-risk-gateway/gateway.yaml),
# model, Profiles, monitoring files, man pages, the runbook and the static crash backtracer.
# make install [DESTDIR=/staging] [PREFIX=/usr] [BINARY=path; default: the release build]
install:
	@[ -n "$(BINARY)" ] || [ -x $(RELEASE_BINARY) ] || $(RELEASE_BUILD)
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" BINARY="$(or $(BINARY),$(RELEASE_BINARY))" SWIFT="$(SWIFT)" scripts/install.sh

# Reading + validating throughput against Foundation's JSONSerialization (release build).
bench: deps
	$(SWIFT) build -c release --product FHIRCoreBenchmarks
	.build/release/FHIRCoreBenchmarks Tests/Fixtures/fhir-examples/R4

# The libFuzzer targets (Fuzz/, address sanitizer), one after the other, SECONDS each (default 60),
# seeded from Tests/Fixtures; prints executions, exec/s and crashes per target. Outside `make test`.
# make fuzz [SECONDS=600 | RUNS=10000000] [TARGETS="strict-json gzip"]; see README.md, "Fuzzing".
fuzz: deps
	FUZZ_SECONDS="$(SECONDS)" FUZZ_RUNS="$(RUNS)" FUZZ_TARGETS="$(TARGETS)" SWIFT="$(SWIFT)" scripts/fuzz.sh

clean:
	rm -rf .build .build-fuzz
