# Switchyard container image, in two stages: build on Debian 12 with the packages of
# scripts/setup.sh, run on debian:bookworm-slim with only the runtime libraries.
#   podman build -t switchyard:0.1.0 --build-arg VERSION=0.1.0 .      (or docker build)
# Without a registry, scripts/image.sh builds the same image from the local build.
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
RUN scripts/setup.sh
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build build --target switchyard \
 && DESTDIR=/stage cmake --install build --prefix /usr --component runtime

FROM debian:bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="switchyard" \
      org.opencontainers.image.description="L7 HTTP/1.1 load balancer" \
      org.opencontainers.image.version="${VERSION}"
# The shared libraries the binary links, nothing else (the list of the .deb's Depends).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libuv1 libssl3 libabsl20220623 libtomlplusplus3 \
      libprometheus-cpp-core1.0 libsystemd0 libc-ares2 libre2-9 libnghttp2-14 libcurl4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 switchyard \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/switchyard --no-create-home \
      --shell /usr/sbin/nologin switchyard \
 && install -d -o 10001 -g 10001 /var/lib/switchyard
COPY --from=build /stage/usr/bin/switchyard /usr/bin/switchyard
COPY deploy/container/switchyard.toml /etc/switchyard/switchyard.toml
USER 10001:10001
ENV SWITCHYARD_CONFIG=/etc/switchyard/switchyard.toml
EXPOSE 8080/tcp 9901/tcp
# SIGTERM drains in-flight requests for up to server.shutdown_timeout, then exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/bin/switchyard", "healthcheck"]
ENTRYPOINT ["/usr/bin/switchyard"]
