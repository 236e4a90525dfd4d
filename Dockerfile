# syntax=docker/dockerfile:1
#
# roomcast production image.
#   docker build -t roomcast .
#   docker run --rm -p 3000:3000 -e JWT_SECRET="$(openssl rand -base64 48)" roomcast
#
# Three stages: `build` compiles TypeScript (and bundles the client library
# served at /sdk/roomcast.js) with the dev dependencies, `deps`
# installs the production dependencies only, and `runtime` gets the compiled
# output and those production modules, nothing else. test/deploy/static.test.ts
# keeps this file in line with package.json and src/config.ts.

ARG NODE_IMAGE=node:20.20-bookworm-slim

# ---- build: full install (dev dependencies included), compile src/ to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.client.json ./
COPY scripts/build-sdk.mjs ./scripts/build-sdk.mjs
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
# tini is PID 1: it forwards SIGTERM/SIGINT to node and reaps zombies, so
# `docker stop` reaches the hub's graceful shutdown (streams get
# `event: shutdown`, Redis is left clean) instead of a SIGKILL after the grace period.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    PORT=3000
# Application files stay owned by root and read-only for the process; it runs as
# the unprivileged `node` user (uid 1000) that the base image provides.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY public ./public
COPY deploy/docker/healthcheck.mjs ./deploy/docker/healthcheck.mjs
USER node
EXPOSE 3000
# /health answers 200 while the process lives; /ready is for load balancers (see docs/operations.md).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "deploy/docker/healthcheck.mjs", "/health"]
# The hub's graceful shutdown listens for SIGTERM (and SIGINT); give it
# SHUTDOWN_TIMEOUT_MS (10 s by default) plus a margin: `docker stop -t 15`,
# or `stop_grace_period: 15s` in compose.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
# Same command as `npm start` without the build step (dist/ is already built).
CMD ["node", "dist/main.js"]
