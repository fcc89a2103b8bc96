# Builds the xhspay binaries (worker, starter, sandbox, xhspay) into one small image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/worker ./worker \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/starter ./starter \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sandbox ./cmd/sandbox \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/xhspay ./cmd/xhspay

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 xhspay
COPY --from=build /out/ /usr/local/bin/
USER xhspay
ENTRYPOINT []
CMD ["/usr/local/bin/xhspay", "dev"]
