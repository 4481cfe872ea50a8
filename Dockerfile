# Both Airbyte images from one file, by build target:
#   docker build --target source      -t qualys-dataflow/source-qualys-vmdr:0.1.0 .   (the default)
#   docker build --target destination -t qualys-dataflow/destination-qualys-etm:0.1.0 .
# Build stage: compile TypeScript, then keep only the runtime dependencies (better-sqlite3, used by
# the ETM side, compiles here with the toolchain of the full image).
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY resources ./resources
RUN npm run build && rm -rf node_modules && npm ci --omit=dev

# The source's tree: no ETM code, no store clients (SQLite, PostgreSQL), no simulator.
FROM build AS source-tree
RUN rm -rf lib/etm lib/simulator \
      node_modules/better-sqlite3 node_modules/bindings node_modules/file-uri-to-path \
      node_modules/prebuild-install node_modules/pg node_modules/pg-* node_modules/pgpass \
      node_modules/postgres-* node_modules/split2 \
      resources/etm resources/transform-maps resources/destination-spec.json

# The destination: the ETM store (SQLite under /local, or PostgreSQL) as an Airbyte destination.
FROM node:20-bookworm-slim AS destination
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/lib ./lib
COPY bin ./bin
COPY resources ./resources
RUN rm -f bin/main bin/qualys-sim && rm -rf lib/simulator
USER node
ENV AIRBYTE_ENTRYPOINT="node /app/bin/destination"
ENTRYPOINT ["node", "/app/bin/destination"]
LABEL io.airbyte.name=qualys-dataflow/destination-qualys-etm
LABEL io.airbyte.version=0.1.0

# The source (last, so the default target): the built tree only (no sources, tests or secrets),
# run as the unprivileged `node` user.
FROM node:20-bookworm-slim AS source
WORKDIR /app
ENV NODE_ENV=production
COPY --from=source-tree /app/package.json ./package.json
COPY --from=source-tree /app/node_modules ./node_modules
COPY --from=source-tree /app/lib ./lib
COPY bin ./bin
COPY resources ./resources
RUN rm -f bin/etm bin/qualys-sim bin/destination
USER node
ENV AIRBYTE_ENTRYPOINT="node --initial-old-space-size=128 /app/bin/main"
ENTRYPOINT ["node", "--initial-old-space-size=128", "/app/bin/main"]
LABEL io.airbyte.name=qualys-dataflow/source-qualys-vmdr
LABEL io.airbyte.version=0.1.0
