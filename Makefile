# One place for the project's commands. The test command, what CI runs (.ci/run), is
# `go run ./tools/test`, which needs only Go: `make test` and the targets of its steps
# call it.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
BIN := $(CURDIR)/.bin

.PHONY: run run-traced test tools jaeger test-jaeger generate check-generated lint unit validate-deploy bench token

## run: start the whole system on the embedded store (same as `go run ./deploy/local`).
run:
	go run ./deploy/local

## run-traced: the same, with every trace in a Jaeger on loopback (query API on 127.0.0.1:16686).
run-traced: jaeger
	LILLVET_JAEGER=$(BIN)/jaeger go run ./deploy/local

## test: generated-code check, every linter, every module's tests, benchmarks once (`go run ./tools/test`).
test:
	go run ./tools/test

## tools: build the pinned tools (tools/go.mod) into .bin/.
## generate: regenerate Go code and the OpenAPI document from proto/.
## check-generated: fail when the generated code in the tree is not what the protos give.
## lint: buf lint, format and breaking check (against main), go.mod tidiness, no test helper linked by a binary, go vet, golangci-lint.
## unit: every module's tests, then every benchmark once so none rots.
tools generate check-generated lint unit:
	go run ./tools/test $@

## jaeger: build Jaeger all-in-one from its Go module (tools/jaeger) into .bin/; a few minutes the first time.
jaeger: $(BIN)/jaeger
$(BIN)/jaeger: tools/jaeger/go.mod tools/jaeger/go.sum
	cd tools/jaeger && GOWORK=off go build -o $(BIN)/ tool

## test-jaeger: the traced run's end-to-end test (kept out of the test command: Jaeger takes minutes to build).
test-jaeger: jaeger
	LILLVET_JAEGER=$(BIN)/jaeger go test -count=1 -run TestTracesInJaeger -v ./deploy/local

## validate-deploy: only the deploy/ checks (Dockerfiles, compose, kustomize); `unit` runs them too.
validate-deploy:
	go test -count=1 ./deploy/validate/...

## bench: the benchmarks of docs/BENCHMARKS.md, with enough iterations to compare.
bench:
	go test -run '^$$' -bench . -benchtime 2s -count 5 ./services/owner/... ./services/consent/... ./services/history/... ./services/disclosure/... ./deploy/local/... ./gateway/...

## token: print a development token, e.g. `make token ROLE=billing`.
token:
	go run ./deploy/local token --role $(ROLE)
