# One place for the project's commands. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
BIN := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)
# Every module of the workspace; plain `go test ./...` does not cross modules.
MODULES = $(shell go list -f '{{.Dir}}' -m)

.PHONY: run test tools generate check-generated lint unit validate-deploy bench token

## run: start the whole system on the embedded store (same as `go run ./deploy/local`).
run:
	go run ./deploy/local

## test: generated-code check, every linter, every module's tests, benchmarks once.
test: check-generated lint unit

## tools: build the pinned tools (tools/go.mod) into .bin/.
tools: $(BIN)/.stamp
$(BIN)/.stamp: tools/go.mod tools/go.sum
	cd tools && GOWORK=off go build -o $(BIN)/ tool
	touch $@

## generate: regenerate Go code and the OpenAPI document from proto/.
generate: tools
	rm -rf proto/gen/go/lillvet proto/gen/openapi/*.yaml
	buf generate

## check-generated: fail when the committed generated code is not what the protos give.
check-generated: generate
	git diff --exit-code -- proto/gen
	test -z "$$(git status --porcelain -- proto/gen)" || { git status --porcelain -- proto/gen; exit 1; }

## lint: buf lint, format and breaking check (against main), go vet, golangci-lint.
lint: tools
	buf lint
	buf format -d --exit-code
	buf breaking --against '.git#branch=main'
	go vet $(addsuffix /...,$(MODULES))
	golangci-lint run $(addsuffix /...,$(MODULES))

## unit: every module's tests, then every benchmark once so none rots.
unit:
	go test -count=1 -timeout 15m $(addsuffix /...,$(MODULES))
	go test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 10m $(addsuffix /...,$(MODULES))

## validate-deploy: only the deploy/ checks (Dockerfiles, compose, kustomize); `unit` runs them too.
validate-deploy:
	go test -count=1 ./deploy/validate/...

## bench: the benchmarks of docs/BENCHMARKS.md, with enough iterations to compare.
bench:
	go test -run '^$$' -bench . -benchtime 2s -count 5 ./services/owner/... ./services/history/... ./deploy/local/...

## token: print a development token, e.g. `make token ROLE=billing`.
token:
	go run ./deploy/local token --role $(ROLE)
