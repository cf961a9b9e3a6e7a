# The ccfed image: the repository at /app with its npm workspace installed. Every ccfed process
# (site agent, router, ingester, API, the ClickHouse migration) runs from it with its own entry
# point, as deploy/src/kube.ts ccfedCommand() starts it. Build from the repository root:
#   docker build -f deploy/images/ccfed.Dockerfile -t registry.example.com/ccfed/ccfed:<tag> .
FROM node:20-bookworm-slim
# The site agent assembles queue announcements with sox; a site pod's init container renders the
# prompts with espeak-ng and sox from the shipped music on hold (services/src/media/prompts.ts).
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    sox espeak-ng asterisk-moh-opsound-wav \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# tsx runs the TypeScript sources directly, so the dev dependencies stay in the image.
RUN npm ci --no-audit --no-fund && npm run console:build && npm run desktop:build \
  && npm cache clean --force
USER node
