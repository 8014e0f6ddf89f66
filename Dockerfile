# preflightd container image (SPEC §8).  Two stages:
#   build    installs the build packages with the project's own
#            scripts/deps.sh and builds with the same meson commands as CI
#            (warnings are errors), so CI keeps this file honest;
#   runtime  scratch plus the binary and the libraries it loads, a numeric
#            non-root user and an exec-form entrypoint.
# Build: docker build -t preflightd .   (no engine? scripts/oci-check.sh)
#
# The build stage starts from debian:12-slim rather than debian:12: the two
# carry the same packages for our purpose (deps.sh installs the toolchain),
# and image builders without registry access (buildah with a local
# debootstrapped base, see scripts/oci-check.sh) need only that one image.
FROM debian:12-slim AS build
WORKDIR /src
# deps.sh first, alone, so the package layer is cached across source edits.
COPY scripts/deps.sh scripts/deps.sh
RUN bash scripts/deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN rm -rf build \
 && meson setup build --buildtype=release -Dwerror=true \
 && ninja -C build \
 && meson install -C build --destdir /out \
 && bash scripts/image-rootfs.sh /out /rootfs

FROM scratch AS runtime
# The binary, its shared-library closure, the CA bundle and passwd/group
# entries for uid 65532, and nothing else: no shell, no package manager
# (scripts/image-rootfs.sh lays the tree out in the build stage).  A base
# distribution image alone is bigger than the 100 MB the whole image has.
COPY --from=build /rootfs/ /
# With no --config and no PREFLIGHT_CONFIG the daemon builds its checks from
# the services' environment (SPEC §5): the sidecar needs no config file.
# Mount one and set PREFLIGHT_CONFIG=/etc/preflightd/preflightd.json if needed.
# The listener defaults to 0.0.0.0:8089; to move it set PREFLIGHT_LISTEN,
# which both the daemon and the healthcheck below read.
# 65532 is the conventional "nonroot" id (its passwd entry is there for
# libpq's user lookup); the daemon writes no files and needs no home.
USER 65532:65532
EXPOSE 8089
STOPSIGNAL SIGTERM
# Liveness only: `preflightd healthcheck` GETs /healthz on the local listener
# (2 s bound), so it needs no curl or wget and does not depend on backends;
# readiness (/readyz) is for the orchestrator's probes.  HEALTHCHECK is a
# Docker-format instruction: an OCI-format build (buildah's and podman's
# default) drops it; build with --format docker to keep it.  Kubernetes and
# Cloud Run ignore it either way and use their own probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/preflightd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/preflightd"]
CMD []
