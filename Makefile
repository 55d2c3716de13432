# kbatch-proxy — developer entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all build test lint fmt-check clippy unit-tests standin demo env doc bench clean

all: build

build:
	$(CARGO) build --workspace --locked

-include mk/env.mk

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --locked

lint: fmt-check clippy doc

# Unit, integration and end-to-end tests (real kubectl, Python client, JupyterHub).
# Set KUBEBUILDER_ASSETS to run the same suite against a real kube-apiserver + etcd.
test: lint env
	$(CARGO) test --workspace --locked -- --test-threads=2

# The API stand-in alone; prints an admin kubeconfig (also written to .tmp/standin/kubeconfig).
standin:
	mkdir -p .tmp/standin
	$(CARGO) run --locked -p kube-standin -- --listen 127.0.0.1:$${STANDIN_PORT:-6443} \
	  --kubeconfig .tmp/standin/kubeconfig --ca-file .tmp/standin/ca.crt

# Local product demo: API stand-in + JupyterHub + kbatch-proxy; prints a user kubeconfig.
demo: env
	$(CARGO) build --locked -p kube-standin -p kbatch-proxy
	./scripts/demo.sh

# Benchmarks (release build): latency of a small GET direct vs through the proxy.
bench: env
	$(CARGO) bench --locked --bench latency
	$(CARGO) bench --locked --bench policy
	$(CARGO) bench --locked --bench watches

clean:
	rm -rf .tmp
