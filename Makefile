# Therabill — the commands people expect. Everything runs through uv and the lock file.
SHELL := /bin/bash
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
STAGE ?= dev

.PHONY: setup run test test-fast test-runtime-python fuzz-api lint format typecheck synth deploy layer layer-check bench demo clean

setup:            ## install everything (uv, locked Python deps, Chromium for browser tests)
	@bash scripts/bootstrap.sh

run: setup        ## install, then start the whole system locally (Ctrl-C stops it)
	uv run python -m devstack.run

test: setup       ## every test tier: unit, integration, contract, devstack, infra, e2e
	uv run pytest -n 2 --dist loadgroup -q

test-fast:        ## unit + integration only
	uv run pytest tests/unit tests/integration -q

fuzz-api:         ## schemathesis, longer: every phase, 50 requests per operation, against the local system
	THERABILL_FUZZ_EXAMPLES=$${THERABILL_FUZZ_EXAMPLES:-50} \
	THERABILL_FUZZ_PHASES=$${THERABILL_FUZZ_PHASES:-examples,coverage,fuzzing,stateful} \
	THERABILL_FUZZ_TIMEOUT=$${THERABILL_FUZZ_TIMEOUT:-3600} \
	THERABILL_FUZZ_REPORT_DIR=$${THERABILL_FUZZ_REPORT_DIR:-.schemathesis/reports} \
	uv run pytest tests/e2e/test_api_contract.py -q -p no:cacheprovider
	@grep -h " generated, " .schemathesis/reports/schemathesis-*.txt

# The tests run on this machine's Python; Lambda runs layers/python-version. With that Python at
# hand (python3.13 on PATH, uv, pyenv, or THERABILL_RUNTIME_PYTHON), run the fast tiers on it too,
# in an environment of its own (.venv-runtime).
test-runtime-python:  ## unit + integration on the Lambda runtime's Python (needs a local python3.13)
	@python="$$(uv run --no-project python infra/therabill_infra/bytecode.py --find \
		--python-version "$$(tr -d '[:space:]' < layers/python-version)")" || \
		{ echo "no Python $$(cat layers/python-version) on this machine (uv python install $$(cat layers/python-version))"; exit 1; }; \
	UV_PROJECT_ENVIRONMENT=.venv-runtime uv run --frozen --python "$$python" pytest tests/unit tests/integration -q

lint:             ## ruff (lint + format check), mypy and the import contracts
	uv run ruff check .
	uv run ruff format --check functions devstack
	uv run mypy
	PYTHONPATH=functions uv run lint-imports

format:
	uv run ruff check --fix .
	uv run ruff format functions devstack

typecheck:
	uv run mypy

layer:            ## build the Lambda dependency layer (no Docker)
	bash layers/build.sh

layer-check:      ## build the layer as deploy does (needs PyPI) and check it fits the Lambda runtime
	uv run pytest tests/infra/test_layer_build.py -q -p no:cacheprovider

synth:            ## synthesize CloudFormation offline (no credentials, no Docker)
	uv run python infra/app.py

deploy: layer     ## deploy to the AWS account in your environment
	npx --yes aws-cdk@2 deploy --app "uv run python infra/app.py" -c stage=$(STAGE) $(CDK_ARGS)

openapi:          ## regenerate docs/openapi-*.json from the typed routes
	uv run python scripts/openapi.py

bench:            ## cold-start import times and requests per operation
	uv run python -m bench

demo:             ## walk the slice end to end against the running system (make run first)
	uv run python -m devstack.demo

clean:
	rm -rf cdk.out layers/build build .venv-runtime .pytest_cache .mypy_cache .ruff_cache
