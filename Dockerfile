# syntax=docker/dockerfile:1
#
# The etcd-guardian worker image.
#
#   docker build -t etcd-guardian:0.1.0 .
#   docker run --rm -v "$PWD/deploy/config.yaml:/etc/etcd-guardian/config.yaml:ro" etcd-guardian:0.1.0
#
# Node 20.19 or later is required: @kubernetes/client-node 1.x is ESM-only and is loaded with require(esm).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim
# etcd's own release image: the restore drill runs its etcd and etcdutl (clusters[].backup.drill.etcdBinDirectory,
# /usr/local/bin by default). Use the minor version the clusters run; a drill restores with the cluster's own tools.
ARG ETCD_IMAGE=gcr.io/etcd-development/etcd:v3.6.16

FROM ${ETCD_IMAGE} AS etcd

# ---------------------------------------------------------------------------------------------------------------
# Build: compile the TypeScript and bundle the workflow code once, so that the worker starts without webpack.
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first: this layer is reused until package.json or the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
# `npm run build` compiles to dist/; dist/worker/bundle.js then writes dist/workflow-bundle.js, the prebuilt
# bundle `etcd-guardian worker` picks up. Run here unless the build script already wrote it.
RUN npm run build \
 && { test -f dist/workflow-bundle.js || node dist/worker/bundle.js; } \
 && test -f dist/src/cli/main.js

# ---------------------------------------------------------------------------------------------------------------
# Runtime: production dependencies and the compiled output only; no TypeScript sources, no root.
FROM ${NODE_IMAGE} AS runtime

# A numeric user (10001, matched by deploy/deployment.yaml), so that Kubernetes can verify runAsNonRoot.
RUN groupadd --system --gid 10001 guardian \
 && useradd --system --uid 10001 --gid guardian --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin guardian \
 && mkdir -p /etc/etcd-guardian /var/lib/etcd-guardian/backups \
 && chown -R 10001:10001 /var/lib/etcd-guardian

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

COPY --from=build /app/dist ./dist
COPY --from=etcd /usr/local/bin/etcd /usr/local/bin/etcdutl /usr/local/bin/

# The config file the worker reads; mount it (a ConfigMap, a bind mount) at this path.
ENV ETCD_GUARDIAN_CONFIG=/etc/etcd-guardian/config.yaml
# Backups go to /var/lib/etcd-guardian/backups by default (clusters[].backup.directory), writable by the
# guardian user: mount a volume there to keep them.
# The worker's Prometheus endpoint (worker.metricsPort).
EXPOSE 9464

USER 10001:10001

ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["worker"]
