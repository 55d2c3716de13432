#!/usr/bin/env bash
# `make demo`: run the product locally — the Kubernetes API stand-in and a real JupyterHub with
# a `kbatch` service and a demo user — and print a ready kubeconfig. Ctrl-C stops everything.
# Ports: API $DEMO_API_PORT (6443), hub $DEMO_HUB_PORT (8000). State lives in .tmp/demo/.
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

cat <<MSG

== kbatch-proxy demo ==
Kubernetes API stand-in : https://127.0.0.1:$API_PORT   (logs: $DIR/standin.log)
JupyterHub              : http://127.0.0.1:$HUB_PORT    (logs: $DIR/jupyterhub.log)
Hub user 'demo' token   : $USER_TOKEN
kubeconfig (admin, stand-in): $DIR/admin.kubeconfig

  export KUBECONFIG=$DIR/admin.kubeconfig
  kubectl get ns
  kubectl create job hello --image=busybox -- echo hello && kubectl logs -f job/hello

(The proxy between users and the API arrives with the next issue; the kubeconfig above talks
to the stand-in directly.) Press Ctrl-C to stop.
MSG
cat "$DIR/admin.kubeconfig"
wait
