# The pkgate gateway image: built in one stage (TypeScript and the zstd-napi native module),
# run from a slim one that holds only what `node dist/src/main.js` needs.
#
#   docker build -t pkgate .
#   docker run -p 8080:8080 -e S3_ENDPOINT=... -e S3_ACCESS_KEY=... -e S3_SECRET_KEY=... pkgate
#
# Both stages are Debian bookworm so the native module compiled in the first links against
# the same glibc and libstdc++ the second provides.

FROM node:20-bookworm AS build
# zstd-napi builds with node-gyp when no prebuilt binary fits; the full image usually has
# these already, naming them keeps the build working if the base image ever slims down.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first: this layer is reused until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/var/lib/pkgate
WORKDIR /app
# Owned by root and read-only to the gateway's user: the process cannot rewrite its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# The local-directory store, used only when S3_ENDPOINT is unset; mount a volume here.
RUN mkdir -p /var/lib/pkgate && chown 1000:1000 /var/lib/pkgate
# The image's `node` user, by number: Kubernetes' runAsNonRoot can only verify a numeric user.
USER 1000:1000
EXPOSE 8080
# The slim image has no curl; Node 20's fetch does the probe. /healthz sits under BASE_PATH.
HEALTHCHECK --interval=15s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + (process.env.BASE_PATH || '').replace(/\\/$/, '') + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (graceful shutdown, SHUTDOWN_TIMEOUT), so no shell
# wrapper that would swallow the signal.
ENTRYPOINT ["node", "dist/src/main.js"]
