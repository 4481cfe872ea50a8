# The Airbyte source image: `docker build -t qualys-dataflow/source-qualys-vmdr:0.1.0 .`
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

# Runtime stage: the built tree only (no sources, tests or secrets), run as the unprivileged `node` user.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/lib ./lib
COPY bin ./bin
COPY resources ./resources
USER node
ENV AIRBYTE_ENTRYPOINT="node --initial-old-space-size=128 /app/bin/main"
ENTRYPOINT ["node", "--initial-old-space-size=128", "/app/bin/main"]
LABEL io.airbyte.name=qualys-dataflow/source-qualys-vmdr
LABEL io.airbyte.version=0.1.0
