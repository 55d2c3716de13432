//! `make bench`: latency of a small GET straight to the API stand-in vs through kbatch-proxy
//! (TLS both ways, hub auth cached), same machine, same client, sequential requests.

#[path = "../tests/support/mod.rs"]
mod support;

use kbatch_proxy::identity::namespace_for;
use support::cluster::Cluster;
use support::hub::{Hub, KBATCH_USERS_GROUP};
use support::proxy::Proxy;
use support::tools::{get_latencies, percentile};

fn main() {
    let n: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let name = hub.new_user("bench", &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&name, None);
    let ns = namespace_for(&name);
    // Annotated for the user: the proxy uses only namespaces that name their hub user.
    c.create_user_namespace(&ns, &name);
    let admin = c.kubectl("1.33", None);
    admin.ok(&[
        "create",
        "configmap",
        "small",
        "-n",
        &ns,
        "--from-literal=a=b",
    ]);
    let path = format!("/api/v1/namespaces/{ns}/configmaps/small");
    let direct_agent = support::envtest::tls_agent(&c.ca_pem).expect("agent");
    let proxy_agent = support::envtest::tls_agent(&proxy.ca_pem).expect("agent");
    // Warm up connections and the auth cache.
    get_latencies(
        &direct_agent,
        &format!("{}{path}", c.url),
        &c.admin_token,
        20,
    );
    get_latencies(&proxy_agent, &format!("{}{path}", proxy.url), &token, 20);
    let direct = get_latencies(
        &direct_agent,
        &format!("{}{path}", c.url),
        &c.admin_token,
        n,
    );
    let proxied = get_latencies(&proxy_agent, &format!("{}{path}", proxy.url), &token, n);
    println!("small GET {path} ({n} sequential requests, keep-alive, TLS)");
    for (label, v) in [
        ("direct to stand-in", &direct),
        ("through kbatch-proxy", &proxied),
    ] {
        println!(
            "  {label:<22} median {:>8.3} ms   p90 {:>8.3} ms   p99 {:>8.3} ms",
            percentile(v, 0.5).as_secs_f64() * 1e3,
            percentile(v, 0.9).as_secs_f64() * 1e3,
            percentile(v, 0.99).as_secs_f64() * 1e3
        );
    }
    println!(
        "  added by the proxy (median): {:.3} ms",
        (percentile(&proxied, 0.5).as_secs_f64() - percentile(&direct, 0.5).as_secs_f64()) * 1e3
    );
}
