# Rampart container image for users with a registry: a static binary on a
# distroless base, run as a non-root user, with nothing else in the image
# (no shell, no package manager). Pin both base images by digest in your
# registry mirror. The image CI builds and tests is deploy/image/Containerfile
# (FROM scratch around a binary built outside the container).
FROM golang:1.27.3-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: the SQLite driver is pure Go, so the binary links statically.
# Symbols kept: govulncheck -mode=binary needs them to see which functions
# the binary reaches.
RUN CGO_ENABLED=0 go build -trimpath -o /out/rampart ./cmd/rampart

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rampart /rampart
USER nonroot:nonroot
# The public listener on all interfaces inside the container; the admin
# listener (metrics) stays on loopback unless RAMPART_ADMIN_ADDR says
# otherwise. Secrets come from RAMPART_*_FILE mounts, never from the image.
ENV RAMPART_ENV=production RAMPART_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --retries=3 CMD ["/rampart", "healthcheck"]
ENTRYPOINT ["/rampart"]
CMD ["serve"]
