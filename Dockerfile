# Two stages: build with the project's Rust version, run on slim Debian as a non-root user.
FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
COPY migrations ./migrations
COPY prompts ./prompts
COPY assets ./assets
COPY benches ./benches
RUN cargo build --release --locked --bin gamemaster && cp target/release/gamemaster /usr/local/bin/gamemaster

FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app --uid 10001 gamemaster \
    && mkdir -p /app/data && chown gamemaster:gamemaster /app/data
COPY --from=build /usr/local/bin/gamemaster /usr/local/bin/gamemaster
WORKDIR /app
USER gamemaster
ENV DATABASE_URL=sqlite://data/gamemaster.db
# /healthz and /metrics on loopback, for the health check below; set METRICS_ADDR=0.0.0.0:9100
# (and publish the port on a private network) to let Prometheus scrape it.
ENV METRICS_ADDR=127.0.0.1:9100
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["gamemaster", "healthcheck"]
VOLUME ["/app/data"]
ENTRYPOINT ["gamemaster"]
CMD ["run"]
