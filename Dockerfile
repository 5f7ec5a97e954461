# syntax=docker/dockerfile:1
# autoredeploy webhook image.
#   docker build -t autoredeploy:dev .        (or: podman build / buildah bud)
#
# Runtime base: distroless cc-debian12. The builder is Debian 12 (bookworm), so the runtime has
# exactly the glibc the binary was linked against (ubi9-micro ships an older glibc, 2.34, and
# would need a UBI-based builder), plus libgcc_s for unwinding, CA certificates, and no shell or
# package manager. Nothing is written to the filesystem at run time, and every file is
# world-readable, so the image runs unchanged under OpenShift's arbitrary UID with group 0.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src

# 1. Dependencies only, in their own layer: reused until Cargo.toml or Cargo.lock change.
#    Every target path declared in Cargo.toml gets a stub so the manifest loads.
COPY Cargo.toml Cargo.lock ./
RUN set -eu; \
    mkdir -p src; \
    echo 'fn main() {}' > src/main.rs; \
    : > src/lib.rs; \
    for f in $(sed -n 's/^path *= *"\(.*\.rs\)".*/\1/p' Cargo.toml); do \
      [ -e "$f" ] || { mkdir -p "$(dirname "$f")"; echo 'fn main() {}' > "$f"; }; \
    done; \
    cargo build --release --locked; \
    rm -rf src; \
    rm -rf target/release/.fingerprint/autoredeploy-* target/release/deps/autoredeploy-* \
           target/release/deps/libautoredeploy-* target/release/autoredeploy*

# 2. The real source.
COPY src ./src
RUN find src -name '*.rs' -exec touch {} + \
 && cargo build --release --locked --bin autoredeploy \
 && ./target/release/autoredeploy --version

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="autoredeploy" \
      org.opencontainers.image.description="Mutating admission webhook that makes OpenShift workloads redeploy when their external image changes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="autoredeploy" \
      io.k8s.display-name="autoredeploy" \
      io.openshift.tags="admission-webhook,imagestream"
COPY --from=builder /src/target/release/autoredeploy /usr/local/bin/autoredeploy
# Numeric, so Kubernetes can check runAsNonRoot; OpenShift replaces it with the namespace's UID.
USER 65532:65532
# 8443: HTTPS webhook (/mutate, /audit); 8080: plain HTTP admin (/healthz, /readyz, /metrics).
EXPOSE 8443 8080
ENTRYPOINT ["/usr/local/bin/autoredeploy", "serve"]
