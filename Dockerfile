# Meridian's image: one binary, every role (`meridian serve --role R` per deployment), and the image function as an
# AWS Lambda container (`--target lambda`). It cannot be built on the development machines (no Docker engine):
# hadolint and checkov check it (`make deploy-check`).
#
#   docker build -t REGISTRY/meridian:GIT_SHA .                          # the server (every role)
#   docker build --target lambda -t REGISTRY/meridian-images:GIT_SHA .   # the image function on Lambda
#
# Deployments pin the pushed image by its digest (deploy/k8s, deploy/terraform), never by a moving tag.

FROM swift:6.3-bookworm AS build
# Debian's versions are not pinned: a stable release only gets security fixes, which a pin would keep out.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka-dev libvips-dev libjemalloc-dev libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# The manifest first: the dependencies resolve in a layer of their own, rebuilt only when it changes.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product meridian --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/meridian" /out/meridian

# The runtime: the shared libraries the binary links (librdkafka, libvips, jemalloc, SQLite) and CA certificates.
# The process needs no shell: the entry point is the binary itself.
FROM debian:bookworm-slim AS base
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 libvips42 libjemalloc2 libsqlite3-0 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home meridian
COPY --from=build /out/meridian /usr/local/bin/meridian
ENV MERIDIAN_LOG_FORMAT=json

# The image function as a Lambda container image (a custom runtime: `meridian function images --runtime lambda` speaks
# the Lambda Runtime API itself), triggered by S3 ObjectCreated on uploads/ and publishing to MSK. Settings from the
# function's environment (MERIDIAN_OBJECTS_URL, MERIDIAN_EVENT_LOG=kafka, MERIDIAN_KAFKA_*), credentials from the
# execution role. Lambda's file system is read-only but for /tmp. One jemalloc arena: the same speed and about 35 MB
# less peak memory for the image function (docs/benchmarks.md).
FROM base AS lambda
ENV MERIDIAN_DATA_DIR=/tmp/meridian \
    MERIDIAN_IMAGES_CONCURRENCY=1 \
    MALLOC_CONF=narenas:1
USER 10001
# checkov:skip=CKV_DOCKER_2: Lambda runs no container health check; the runtime API reports each invocation.
ENTRYPOINT ["/usr/local/bin/meridian", "function", "images", "--runtime", "lambda"]

# The server (the default target). Kubernetes probes /health and /ready (deploy/k8s); compose.yaml has its own
# health checks. Data (the embedded defaults) under /var/lib/meridian, a volume; in production the roles run on
# Kafka, PostgreSQL and S3 and keep nothing there.
FROM base AS server
RUN install -d -o 10001 -g 10001 /var/lib/meridian
ENV MERIDIAN_DATA_DIR=/var/lib/meridian
VOLUME ["/var/lib/meridian"]
EXPOSE 8080
USER 10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/meridian", "probe", "http://127.0.0.1:8080/ready"]
ENTRYPOINT ["/usr/local/bin/meridian"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
