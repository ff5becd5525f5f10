# Build stage: the Swift toolchain and libblkid's headers.
ARG SWIFT_IMAGE=swift:6.1-bookworm
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libblkid-dev pkg-config zlib1g-dev libzstd-dev liblzma-dev liblz4-dev libyaml-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The manifest names the test target too, so the whole tree is copied (.dockerignore trims it).
COPY . .
RUN swift build -c release --static-swift-stdlib --product rescue-audit \
 && install -D -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/rescue-audit" /out/rescue-audit

# Runtime stage: the static binary (Swift runtime linked in), libblkid and the
# decompressors the initramfs reader links (zlib, zstd, xz, lz4), libyaml.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libblkid1 zlib1g libzstd1 liblzma5 liblz4-1 libyaml-0-2 libsqlite3-0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/rescue-audit /usr/local/bin/rescue-audit
ENTRYPOINT ["/usr/local/bin/rescue-audit"]
CMD ["--help"]
