# qtriage's container image (docs/operations.md, "The container image").
#   docker build -t qtriage:0.1.0 .
# The build stage installs and builds exactly as the README does
# (scripts/install-deps.sh through scripts/build.sh); the runtime stage holds
# the binary, the Debian packages of its shared libraries, CA certificates,
# and the default config and starter rules. tests/deploy/container_test.sh
# checks every library `ldd` lists against the packages installed below.

FROM debian:bookworm AS build
WORKDIR /src
# Node (for the conformance test's mock server) is not needed to build.
ENV QTRIAGE_WITH_NODE=0
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh
COPY . .
RUN bash scripts/build.sh release qtriage

FROM debian:bookworm-slim AS runtime
# One package per shared library of the binary (ldd), and CA certificates
# for api.cloudflare.com.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libc6 libgcc-s1 libstdc++6 \
      libboost-json1.81.0 libboost-url1.81.0 \
      libfmt9 libspdlog1.10 \
      libprometheus-cpp-core1.0 \
      libre2-9 \
      libsqlite3-0 \
      libssl3 \
      libsystemd0 \
      libyaml-cpp0.7 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/qtriage /usr/bin/qtriage
# The default config is the Kubernetes one: listens on all interfaces for
# probes and scrapes, JSON logs, the token from a mounted file, state and
# audit under the one volume. Mount your own over /etc/qtriage to change it.
COPY deploy/kubernetes/base/qtriage.yaml /etc/qtriage/qtriage.yaml
COPY rules/*.yaml /etc/qtriage/rules/
# A numeric non-root user (Kubernetes' runAsNonRoot can check it); the root
# filesystem can be read-only: qtriage writes only under /var/lib/qtriage.
RUN mkdir -p /var/lib/qtriage && chown 10001:10001 /var/lib/qtriage && chmod 0700 /var/lib/qtriage
USER 10001:10001
VOLUME ["/var/lib/qtriage"]
# SQLite spills large sorts and statement journals to a temporary file: on
# the volume, since the root filesystem (and /tmp) may be read-only.
ENV SQLITE_TMPDIR=/var/lib/qtriage
EXPOSE 9464
# No curl in a slim image: bash's /dev/tcp asks /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9464 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/bin/qtriage"]
CMD ["run", "-c", "/etc/qtriage/qtriage.yaml"]
