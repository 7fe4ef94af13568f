# syntax=docker/dockerfile:1
# The REST gateway's image. Build from the repository root (the go.work
# workspace):
#
#   docker build -f deploy/docker/gateway.Dockerfile -t lillvet/gateway:dev .

# Go 1.26.9 carries the standard-library fixes that 1.26.8 lacks.
FROM golang:1.26.9-bookworm AS build
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
WORKDIR /src

# go.work names every module of the workspace, and the go command wants each
# one's go.mod even when the binary imports nothing from it.
COPY go.work go.work.sum ./
COPY deploy/local/go.mod deploy/local/go.sum deploy/local/
COPY deploy/validate/go.mod deploy/validate/go.sum deploy/validate/
COPY services/consent/go.mod services/consent/go.sum services/consent/
COPY services/disclosure/go.mod services/disclosure/go.sum services/disclosure/
COPY services/history/go.mod services/history/go.sum services/history/
COPY services/owner/go.mod services/owner/go.sum services/owner/
COPY tools/test/go.mod tools/test/
# The modules the binary is built from.
COPY proto/gen/go proto/gen/go
COPY proto/gen/openapi proto/gen/openapi
COPY services/platform services/platform
COPY gateway gateway

RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/gateway ./gateway/cmd/gateway

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gateway /gateway
# Inside a container the listener must not be the loopback-only default; the
# gateway refuses to serve plain HTTP there, so GATEWAY_TLS_* must be set.
ENV GATEWAY_ADDR=:8443
USER nonroot:nonroot
EXPOSE 8443
ENTRYPOINT ["/gateway"]
