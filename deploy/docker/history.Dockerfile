# syntax=docker/dockerfile:1
# The patient-history service's image. Build from the repository root (the go.work
# workspace):
#
#   docker build -f deploy/docker/history.Dockerfile -t lillvet/history:dev .

# Go 1.26.9 carries the standard-library fixes that 1.26.8 lacks.
FROM golang:1.26.9-bookworm AS build
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
WORKDIR /src

# The kubelet's built-in gRPC probe cannot present a client certificate, and
# the service accepts only mutual TLS: the probes run this client instead.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOBIN=/out go install -trimpath -ldflags="-s -w" github.com/grpc-ecosystem/grpc-health-probe@v0.4.61

# go.work names every module of the workspace, and the go command wants each
# one's go.mod even when the binary imports nothing from it.
COPY go.work go.work.sum ./
COPY deploy/local/go.mod deploy/local/go.sum deploy/local/
COPY deploy/validate/go.mod deploy/validate/go.sum deploy/validate/
COPY gateway/go.mod gateway/go.sum gateway/
COPY proto/gen/openapi/go.mod proto/gen/openapi/go.sum proto/gen/openapi/
COPY services/consent/go.mod services/consent/go.sum services/consent/
COPY services/owner/go.mod services/owner/go.sum services/owner/
COPY services/disclosure/go.mod services/disclosure/go.sum services/disclosure/
COPY tools/test/go.mod tools/test/
# The modules the binary is built from.
COPY proto/gen/go proto/gen/go
COPY services/platform services/platform
COPY services/history services/history

RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/history ./services/history/cmd/history

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/history /history
COPY --from=build /out/grpc-health-probe /bin/grpc_health_probe
# Inside a container the listener must not be the loopback-only default.
ENV GRPC_ADDR=:7104
USER nonroot:nonroot
EXPOSE 7104
ENTRYPOINT ["/history"]
