# syntax=docker/dockerfile:1
# The FlagSync gateway image: the otelcol-flagsync distribution (collector/manifest.yaml) running
# collector-config.gateway.yaml. Build from the repository root:
#   docker build -t otelcol-flagsync .
# Run (the queue on a volume; the SDK key and the senders' token from your secret store):
#   docker run -e FLAGSYNC_SDK_KEY -e FLAGSYNC_GATEWAY_BEARER_TOKEN -p 4317:4317 -p 4318:4318 \
#     -v flagsync-queue:/var/lib/otelcol/flagsync-queue otelcol-flagsync
# Releases build the same binary with GoReleaser (.goreleaser.yaml) and package it with
# collector/release.Dockerfile.

# The builder runs scripts/build-collector.sh, the command the end-to-end tests build their
# collector with: the OpenTelemetry Collector Builder at the manifest's release.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY scripts/build-collector.sh scripts/
COPY collector/manifest.yaml collector/
COPY collector/flagsyncexporter collector/flagsyncexporter
# A static binary: the runtime image has no C library.
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    cp "$(bash scripts/build-collector.sh)" /otelcol-flagsync
# The queue directory, owned by the runtime user (distroless has no shell to create it).
RUN mkdir -p /queue

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /otelcol-flagsync /otelcol-flagsync
COPY collector-config.gateway.yaml /etc/otelcol-flagsync/config.yaml
COPY --from=build --chown=65532:65532 /queue /var/lib/otelcol/flagsync-queue
# The persistent queue and delivery records: what FlagSync has not accepted survives a restart
# only if this directory does.
VOLUME /var/lib/otelcol/flagsync-queue
USER 65532:65532
# Probes and scrapes come from outside the container.
ENV OTELCOL_HEALTH_ENDPOINT=0.0.0.0:13133 \
    OTELCOL_METRICS_HOST=0.0.0.0
# OTLP gRPC, OTLP HTTP, health check, the gateway's own metrics.
EXPOSE 4317 4318 13133 8888
ENTRYPOINT ["/otelcol-flagsync"]
CMD ["--config", "/etc/otelcol-flagsync/config.yaml"]
