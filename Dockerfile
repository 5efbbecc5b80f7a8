# Two stages: build with the project's Rust version, run on slim Debian as a non-root user.
FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src

# Dependencies first, against placeholder sources, so that this layer is rebuilt only when
# Cargo.toml, Cargo.lock or .cargo/ change, not at every change of the code. The manifest
# names every benchmark, so each gets an empty placeholder too.
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && awk -F'"' '/^\[/ { bench = ($0 == "[[bench]]") } bench && /^name/ { print $2 }' Cargo.toml \
       | while read -r name; do echo 'fn main() {}' > "benches/$name.rs"; done \
    && cargo build --release --locked --bin gamemaster \
    && rm -rf src benches target/release/.fingerprint/gamemaster-* \
       target/release/deps/gamemaster-* target/release/deps/libgamemaster-*

# Then the real sources (compiled into the binary: migrations, prompts, assets).
COPY src ./src
COPY migrations ./migrations
COPY prompts ./prompts
COPY assets ./assets
COPY benches ./benches
RUN cargo build --release --locked --bin gamemaster \
    && cp target/release/gamemaster /usr/local/bin/gamemaster

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
