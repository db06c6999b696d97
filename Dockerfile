# syntax=docker/dockerfile:1
#
# Switchboard container image.
#   docker build -t switchboard .
#   docker run -p 8080:8080 switchboard          # sandbox mode, SQLite in /var/lib/switchboard;
#                                                # the web app at http://localhost:8080/ (PUBLIC_URL)
# See docker-compose.yml for PostgreSQL + Redis + real provider credentials.

# ---- web app ----------------------------------------------------------------------------------
# Built here with Node.js, then embedded in the binary by the Rust build below (which then runs no
# npm of its own: SWITCHBOARD_FRONTEND_DIST). Vite 7 needs Node.js 20.19 or later.
FROM node:22-bookworm-slim AS frontend
WORKDIR /src/frontend

# The dependencies first, so a source change does not reinstall them.
COPY frontend/package.json frontend/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund

COPY frontend/ ./
RUN npm run build:app -- --outDir /app-dist

# ---- build ------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src

COPY . .
COPY --from=frontend /app-dist /app-dist
ENV SWITCHBOARD_FRONTEND_DIST=/app-dist

# The registry and target directories live in BuildKit cache mounts, so rebuilds after a source
# change only recompile what changed. A cache mount is not part of the image: copy the binary out.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin switchboard \
    && install -m 0755 target/release/switchboard /usr/local/bin/switchboard

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# Unpinned on purpose: bookworm's security updates should land on every rebuild.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric id, so that orchestrators can check "runAsNonRoot" and volumes can be chowned.
RUN groupadd --gid 10001 switchboard \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/switchboard \
        --shell /usr/sbin/nologin switchboard \
    && mkdir -p /var/lib/switchboard \
    && chown switchboard:switchboard /var/lib/switchboard

COPY --from=builder /usr/local/bin/switchboard /usr/local/bin/switchboard

USER 10001:10001
WORKDIR /var/lib/switchboard

ENV BIND_ADDR=0.0.0.0:8080
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8080/healthz"]

ENTRYPOINT ["switchboard"]
CMD ["serve"]
