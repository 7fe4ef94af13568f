# One place for the project's commands. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
BIN := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)
# Every module of the workspace; plain `go test ./...` does not cross modules.
MODULES = $(shell go list -f '{{.Dir}}' -m)

.PHONY: run run-traced test tools jaeger test-jaeger generate check-generated lint unit validate-deploy bench token

## run: start the whole system on the embedded store (same as `go run ./deploy/local`).
run:
	go run ./deploy/local

## run-traced: the same, with every trace in a Jaeger on loopback (query API on 127.0.0.1:16686).
run-traced: jaeger
	LILLVET_JAEGER=$(BIN)/jaeger go run ./deploy/local

## test: generated-code check, every linter, every module's tests, benchmarks once.
test: check-generated lint unit

## tools: build the pinned tools (tools/go.mod) into .bin/.
tools: $(BIN)/.stamp
$(BIN)/.stamp: tools/go.mod tools/go.sum
	cd tools && GOWORK=off go build -o $(BIN)/ tool
	touch $@

## jaeger: build Jaeger all-in-one from its Go module (tools/jaeger) into .bin/; a few minutes the first time.
jaeger: $(BIN)/jaeger
$(BIN)/jaeger: tools/jaeger/go.mod tools/jaeger/go.sum
	cd tools/jaeger && GOWORK=off go build -o $(BIN)/ tool

## test-jaeger: the traced run's end-to-end test (kept out of `make test`: Jaeger takes minutes to build).
test-jaeger: jaeger
	LILLVET_JAEGER=$(BIN)/jaeger go test -count=1 -run TestTracesInJaeger -v ./deploy/local

## generate: regenerate Go code and the OpenAPI document from proto/.
generate: tools
	rm -rf proto/gen/go/lillvet proto/gen/openapi/*.yaml
	buf generate

## check-generated: fail when the committed generated code is not what the protos give.
check-generated: generate
	git diff --exit-code -- proto/gen
	test -z "$$(git status --porcelain -- proto/gen)" || { git status --porcelain -- proto/gen; exit 1; }

## lint: buf lint, format and breaking check (against main), go.mod tidiness, go vet, golangci-lint.
lint: tools
	buf lint
	buf format -d --exit-code
	buf breaking --against '.git#branch=main'
	for m in $(MODULES); do (cd "$$m" && go mod tidy -diff) || { echo "go.mod of $$m is not tidy: run go mod tidy there"; exit 1; }; done
	go vet $(addsuffix /...,$(MODULES))
	golangci-lint run --allow-parallel-runners $(addsuffix /...,$(MODULES))

## unit: every module's tests, then every benchmark once so none rots.
unit:
	go test -count=1 -timeout 15m $(addsuffix /...,$(MODULES))
	go test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 10m $(addsuffix /...,$(MODULES))

## validate-deploy: only the deploy/ checks (Dockerfiles, compose, kustomize); `unit` runs them too.
validate-deploy:
	go test -count=1 ./deploy/validate/...

## bench: the benchmarks of docs/BENCHMARKS.md, with enough iterations to compare.
bench:
	go test -run '^$$' -bench . -benchtime 2s -count 5 ./services/owner/... ./services/consent/... ./services/history/... ./services/disclosure/... ./deploy/local/... ./gateway/...

## token: print a development token, e.g. `make token ROLE=billing`.
token:
	go run ./deploy/local token --role $(ROLE)
