# One image for every Mana process; the command picks which (api, worker, gateway, emulator).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps ./apps
COPY packages ./packages
RUN npm ci --omit=dev --no-audit --no-fund
COPY aliases.yaml prices.yaml tsconfig.json ./
ENV NODE_ENV=production
USER node
CMD ["node", "--import", "tsx", "apps/gateway/src/main.ts"]
