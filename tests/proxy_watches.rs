//! Many long-running requests through kbatch-proxy: 300 watches (three times the streams
//! one upstream HTTP/2 connection may carry, as the stand-in announces like kube-apiserver)
//! all get their headers and events, and a short GET keeps answering at once meanwhile.

mod support;

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::cluster::Cluster;
use support::hub::Hub;
use support::proxy::Proxy;

const WATCHES: usize = 300;

/// An HTTP/1.1 client trusting `ca_pem`, with no overall timeout (watches stay open) and
/// enough pooled connections for every watch.
fn agent(ca_pem: &str) -> ureq::Agent {
    let ca = ureq::tls::Certificate::from_pem(ca_pem.as_bytes()).expect("CA");
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ca])))
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(WATCHES * 2)
        .max_idle_connections_per_host(WATCHES * 2)
        .timeout_connect(Some(Duration::from_secs(10)))
        .tls_config(tls)
        .build()
        .into()
}

enum Seen {
    Headers(u16),
    Event,
}

#[test]
fn three_hundred_watches_get_headers_and_events_and_a_get_still_answers() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let u = hub.kbatch_user("watcher");
    let agent = agent(&proxy.ca_pem);
    let bearer = format!("Bearer {}", u.token);
    let base = format!("{}/api/v1/namespaces/{}/configmaps", proxy.url, u.namespace);
    // Provision the namespace first.
    let first = agent
        .get(&base)
        .header("Authorization", &bearer)
        .call()
        .expect("list");
    assert_eq!(first.status().as_u16(), 200);

    let (tx, rx) = mpsc::channel();
    let url = format!("{base}?watch=true&timeoutSeconds=120");
    let mut threads = Vec::new();
    for _ in 0..WATCHES {
        let (agent, url, bearer, tx) = (agent.clone(), url.clone(), bearer.clone(), tx.clone());
        threads.push(std::thread::spawn(move || {
            let resp = match agent.get(&url).header("Authorization", &bearer).call() {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = tx.send(Ok(Seen::Headers(resp.status().as_u16())));
            let reader = BufReader::new(resp.into_body().into_reader());
            for line in reader.lines() {
                match line {
                    Ok(l) if l.contains(r#""name":"ping""#) => {
                        let _ = tx.send(Ok(Seen::Event));
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                }
            }
            let _ = tx.send(Err("the watch ended without the event".into()));
        }));
    }
    drop(tx);

    let recv = |what: &str, deadline: Instant| -> Seen {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(seen)) => seen,
            Ok(Err(e)) => panic!("a watch failed while waiting for {what}: {e}"),
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..WATCHES {
        match recv(&format!("the headers of watch {i}"), deadline) {
            Seen::Headers(200) => {}
            Seen::Headers(other) => panic!("watch {i} answered {other}"),
            Seen::Event => panic!("an event before every watch had its headers"),
        }
    }

    // With every watch open, a short request answers at once.
    let started = Instant::now();
    let got = agent
        .get(&format!("{base}/kube-root-ca.crt"))
        .header("Authorization", &bearer)
        .call()
        .expect("get");
    let took = started.elapsed();
    assert_eq!(got.status().as_u16(), 200);
    assert!(
        took < Duration::from_secs(1),
        "a GET took {took:?} with {WATCHES} watches open"
    );

    // One change reaches every watch.
    let created = agent
        .post(&base)
        .header("Authorization", &bearer)
        .header("Content-Type", "application/json")
        .send(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ping"}}"#)
        .expect("create");
    assert_eq!(created.status().as_u16(), 201);
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..WATCHES {
        match recv(&format!("the event of watch {i}"), deadline) {
            Seen::Event => {}
            Seen::Headers(_) => panic!("headers twice"),
        }
    }
    for t in threads {
        t.join().expect("watch thread");
    }
}
