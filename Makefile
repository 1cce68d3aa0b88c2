# Meridian: `make run` starts every role on embedded defaults; `make test` runs every test.
# Both install what is missing first (Debian/Ubuntu: apt; Swift 6.3 must be on PATH).

SWIFT ?= swift
PORT ?= 8080
BIN := .build/debug/meridian
RELEASE_BIN := .build/release/meridian

.PHONY: run test ci deps build release format format-check openapi-check structure-check deploy-check fuzz-api bench bench-orders bench-images bench-csv bench-analytics clean openapi

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: build
	$(BIN) serve --port $(PORT)

test: build
	$(SWIFT) build --build-tests
	MERIDIAN_TEST_BINARY=$(CURDIR)/$(BIN) scripts/run-tests.sh

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

format-check:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

# docs/openapi.yaml is the API description; the binary serves a generated copy at /openapi.json.
openapi: deps
	python3 scripts/openapi.py generate

openapi-check: deps
	python3 scripts/openapi.py check

# Property-based API testing (schemathesis) against running servers on PostgreSQL: with a customer's and an
# admin's token (all roles), then /internal with a service token (a split-mode server); fixed seed.
# Longer: FUZZ_MAX_TIME=1800 FUZZ_SEED=7 make fuzz-api.
fuzz-api: build
	MERIDIAN_TEST_BINARY=$(CURDIR)/$(BIN) scripts/with-postgres.sh scripts/fuzz-api.sh

# The shape docs/architecture.md describes: roles independent, core free of I/O, a test target per source target.
structure-check:
	python3 scripts/check-structure.py

# The deployment files, checked offline (nothing here can build an image or reach a cluster or a cloud): the
# Dockerfile (hadolint, checkov), compose (documented settings), Kubernetes (every overlay and component rendered,
# validated strictly, checkov), Terraform (parsed, formatted, checkov), the alert rules (promtool, with their unit
# tests), the dashboards and the metric names they use (against a running Meridian), the load tests, yamllint.
deploy-check: build
	@scripts/install-deps.sh --deploy
	hadolint Dockerfile deploy/flink/Dockerfile
	checkov --skip-download --quiet --compact --framework dockerfile -f Dockerfile -f deploy/flink/Dockerfile
	yamllint -c .yamllint.yaml compose.yaml deploy .github
	python3 scripts/check-deploy.py
	python3 scripts/check-k8s.py
	python3 scripts/check-terraform.py
	MERIDIAN_TEST_BINARY=$(CURDIR)/$(BIN) python3 scripts/check-monitoring.py
	bash scripts/check-loadtest.sh

ci: format-check openapi-check structure-check deploy-check test fuzz-api

# Benchmarks against the Kafka mock cluster (release build); results go to docs/benchmarks.md.
bench: release
	scripts/bench-ingest.sh

# The order benchmark: per round embedded with 32 and 128 customers, then PostgreSQL + the Kafka mock cluster
# with 128 (20 s each, three rounds; each run measures its store's raw transaction rate first).
bench-orders: release
	scripts/bench-orders.sh 20 3

# Product images: the three variants of a generated 2725×2225 JPEG, against vipsthumbnail (three runs).
bench-images: release
	for round in 1 2 3; do .build/release/meridian bench images --duration 10; done

bench-csv: release
	.build/release/meridian bench csv --rounds 3

# The analytics engine against the same jobs in PyFlink local mode (Java 17; the venv is made once).
bench-analytics: release
	.build/release/meridian bench analytics --events 1000000 --rounds 3

clean:
	rm -rf .build .meridian
