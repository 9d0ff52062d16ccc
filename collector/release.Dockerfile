# The FlagSync gateway image as releases build it (.goreleaser.yaml, dockers_v2): the binary
# GoReleaser compiled for the target platform, in the same runtime image as the Dockerfile at the
# repository root builds from source.
FROM busybox:1.37 AS dirs
# The queue directory, owned by the runtime user (distroless has no shell to create it).
RUN mkdir -p /queue

FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/otelcol-flagsync /otelcol-flagsync
COPY collector-config.gateway.yaml /etc/otelcol-flagsync/config.yaml
COPY --from=dirs --chown=65532:65532 /queue /var/lib/otelcol/flagsync-queue
VOLUME /var/lib/otelcol/flagsync-queue
USER 65532:65532
ENV OTELCOL_HEALTH_ENDPOINT=0.0.0.0:13133 \
    OTELCOL_METRICS_HOST=0.0.0.0
EXPOSE 4317 4318 13133 8888
ENTRYPOINT ["/otelcol-flagsync"]
CMD ["--config", "/etc/otelcol-flagsync/config.yaml"]
