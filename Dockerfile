# Multi-stage build: compile with the Rust toolchain, run on a slim base as a
# non-root user.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin pagerlens

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/pagerlens pagerlens
COPY --from=build /src/target/release/pagerlens /usr/local/bin/pagerlens
USER pagerlens
WORKDIR /var/lib/pagerlens
ENV PAGERLENS_BIND=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["pagerlens"]
CMD ["serve"]
