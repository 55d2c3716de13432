#!/usr/bin/env bash
# `make demo`: run the product locally — the Kubernetes API stand-in, a real JupyterHub with a
# `kbatch` service and a demo user, and kbatch-proxy (TLS) between them — and print a ready
# kubeconfig for the demo user. Ctrl-C stops everything.
# Ports: API $DEMO_API_PORT (6443), hub $DEMO_HUB_PORT (8000), proxy $DEMO_KBATCH_PORT (8050).
# State lives in .tmp/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=$ROOT/.tmp/demo
API_PORT=${DEMO_API_PORT:-6443}
HUB_PORT=${DEMO_HUB_PORT:-8000}
KBATCH_PORT=${DEMO_KBATCH_PORT:-8050}
rm -rf "$DIR" && mkdir -p "$DIR"
token() { python3 -c 'import secrets; print(secrets.token_hex(32))'; }
ADMIN_TOKEN=$(token); SERVICE_TOKEN=$(token); HARNESS_TOKEN=$(token)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$ROOT/target/debug/kube-standin" --listen "127.0.0.1:$API_PORT" --admin-token "$ADMIN_TOKEN" \
  --kubeconfig "$DIR/admin.kubeconfig" --ca-file "$DIR/ca.crt" >"$DIR/standin.out" 2>"$DIR/standin.log" &
pids+=($!)

cat >"$DIR/jupyterhub_config.py" <<PY
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = $HUB_PORT
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.db_url = "sqlite:///$DIR/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "$DIR/jupyterhub_cookie_secret"
c.ConfigurableHTTPProxy.command = ["$ROOT/node_modules/.bin/configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = "$DIR/proxy.pid"
c.JupyterHub.services = [
    {"name": "kbatch", "url": "http://127.0.0.1:$KBATCH_PORT", "api_token": "$SERVICE_TOKEN", "oauth_no_confirm": True},
    {"name": "demo-admin", "api_token": "$HARNESS_TOKEN"},
]
c.JupyterHub.load_groups = {"kbatch-users": {"users": ["demo"]}}
c.JupyterHub.load_roles = [
    {"name": "kbatch-access", "scopes": ["access:services!service=kbatch"], "groups": ["kbatch-users"]},
    {"name": "demo-admin", "scopes": ["admin:users", "tokens"], "services": ["demo-admin"]},
]
PY
(cd "$DIR" && exec "$ROOT/.venv/bin/jupyterhub" -f "$DIR/jupyterhub_config.py" >"$DIR/jupyterhub.log" 2>&1) &
pids+=($!)

for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$HUB_PORT/hub/api/" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$HUB_PORT/hub/api/" >/dev/null || { echo "JupyterHub did not start; see $DIR/jupyterhub.log" >&2; exit 1; }
curl -sf -X POST -H "Authorization: token $HARNESS_TOKEN" "http://127.0.0.1:$HUB_PORT/hub/api/users/demo" >/dev/null || true
USER_TOKEN=$(curl -sf -X POST -H "Authorization: token $HARNESS_TOKEN" -d '{"note":"demo"}' \
  "http://127.0.0.1:$HUB_PORT/hub/api/users/demo/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# A dev CA and serving certificate for the proxy: kubectl sends no token to an http:// server.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
  -subj "/CN=kbatch-proxy demo CA" -keyout "$DIR/ca.key" -out "$DIR/proxy-ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=kbatch-proxy" \
  -keyout "$DIR/tls.key" -out "$DIR/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$DIR/san.ext"
openssl x509 -req -in "$DIR/tls.csr" -CA "$DIR/proxy-ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial \
  -days 7 -extfile "$DIR/san.ext" -out "$DIR/tls.crt" 2>/dev/null

# The proxy's own credential is the stand-in's admin kubeconfig.
NAMESPACE=$(python3 - <<'PY'
import hashlib, re
u = "demo"
safe = re.sub(r"[^a-z0-9]+", "-", u.lower())[:40].strip("-")
if safe != u:
    safe = f"{safe}--{hashlib.sha256(u.encode()).hexdigest()[:7]}"
print(f"kbatch-{safe}")
PY
)
# No namespace is created here: the proxy provisions it on the demo user's first request.
RUST_LOG=${RUST_LOG:-info} "$ROOT/target/debug/kbatch-proxy" --listen "127.0.0.1:$KBATCH_PORT" \
  --kubeconfig "$DIR/admin.kubeconfig" --jupyterhub-api-url "http://127.0.0.1:$HUB_PORT/hub/api" \
  --tls-cert "$DIR/tls.crt" --tls-key "$DIR/tls.key" --policies-dir "$ROOT/policies" \
  >"$DIR/proxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 40); do
  curl -sf --cacert "$DIR/proxy-ca.crt" "https://127.0.0.1:$KBATCH_PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.25
done
CA_B64=$(base64 -w0 "$DIR/proxy-ca.crt")
cat >"$DIR/demo.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: kbatch
  cluster:
    server: https://127.0.0.1:$KBATCH_PORT
    certificate-authority-data: $CA_B64
users:
- name: demo
  user:
    token: $USER_TOKEN
contexts:
- name: kbatch
  context:
    cluster: kbatch
    user: demo
    namespace: $NAMESPACE
current-context: kbatch
KC

cat <<MSG

== kbatch-proxy demo ==
kbatch-proxy            : https://127.0.0.1:$KBATCH_PORT  (logs: $DIR/proxy.log)
Kubernetes API stand-in : https://127.0.0.1:$API_PORT    (logs: $DIR/standin.log)
JupyterHub              : http://127.0.0.1:$HUB_PORT     (logs: $DIR/jupyterhub.log)
Hub user 'demo' token   : $USER_TOKEN
Namespace               : $NAMESPACE
kubeconfig (demo user, through the proxy): $DIR/demo.kubeconfig
kubeconfig (admin, straight to the stand-in): $DIR/admin.kubeconfig

In a second terminal:
  export KUBECONFIG=$DIR/demo.kubeconfig
  kubectl get pods
  kubectl create job hello --image=busybox -- echo hello && kubectl logs -f job/hello
  kubectl get pods -n kube-system  # refused: outside the demo user's namespace
  kubectl get ns                   # only the demo user's namespace
  kubectl run bad --image=busybox --privileged   # refused by policies/pod-security-baseline.yaml

Press Ctrl-C to stop.
MSG
cat "$DIR/demo.kubeconfig"
wait
