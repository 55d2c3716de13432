# kbatch-proxy container image: a static-ish Rust binary on distroless/cc, non-root.
#   docker build -t kbatch-proxy:dev .
# The binary is built from the committed Cargo.lock (--locked); the shipped policies are copied
# to /etc/kbatch-proxy/policies (the Helm chart mounts its ConfigMap over that directory).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p kbatch-proxy --bin kbatch-proxy \
 && install -D -m 0755 target/release/kbatch-proxy /out/kbatch-proxy \
 && mkdir -p /out/policies \
 && find policies -maxdepth 1 \( -name '*.yaml' -o -name '*.yml' \) -exec cp {} /out/policies/ \;

# glibc + libgcc, CA certificates, no shell, user 65532 ("nonroot").
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/kbatch-proxy /usr/local/bin/kbatch-proxy
COPY --from=build /out/policies/ /etc/kbatch-proxy/policies/
USER 65532:65532
EXPOSE 8050
ENV KBATCH_LISTEN=0.0.0.0:8050 \
    KBATCH_POLICIES_DIR=/etc/kbatch-proxy/policies
ENTRYPOINT ["/usr/local/bin/kbatch-proxy"]
