//! A real async service that must keep answering while it does CPU-heavy
//! work: an axum server on loopback with a cheap `/heartbeat` and a heavy
//! `/digest` endpoint. A bounded load test (a client in this program, which
//! stops by itself) measures the heartbeat's latency while heavy requests
//! run, first with the work done inline on the async runtime, then offloaded
//! with `#[isolated]` + `.await`, and prints both side by side.
//!
//! Run it with `cargo run --release --example heartbeat_server`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use isolate::isolated;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// CPU-heavy, synchronous work: an iterated hash of the request's seed.
#[isolated]
fn digest(seed: u64, rounds: u64) -> u64 {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    for i in 0..rounds {
        x = (x ^ i).wrapping_mul(0xBF58_476D_1CE4_E5B9).rotate_left(27);
    }
    x
}

/// Rounds of `digest` that take about 20 ms on this machine.
fn calibrate() -> u64 {
    let probe = 2_000_000;
    let start = Instant::now();
    std::hint::black_box(digest(1, probe));
    let per_round = start.elapsed().as_secs_f64() / probe as f64;
    (0.020 / per_round) as u64
}

fn app(rounds: u64) -> Router {
    Router::new()
        .route("/heartbeat", get(|| async { "ok" }))
        .route(
            "/digest/inline/{seed}",
            // Blocks the runtime's worker thread for the whole computation.
            get(move |Path(seed): Path<u64>| async move { digest(seed, rounds).to_string() }),
        )
        .route(
            "/digest/offloaded/{seed}",
            // Runs on an isolate; the worker thread keeps serving.
            get(move |Path(seed): Path<u64>| async move {
                match digest_isolated(seed, rounds).await {
                    Ok(value) => value.to_string(),
                    Err(err) => format!("error: {err}"),
                }
            }),
        )
}

/// One HTTP/1.1 GET on a fresh connection; returns when the whole response
/// has arrived (the server closes the connection after it).
async fn get_once(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}

/// Heartbeat latencies while `heavy_clients` clients each send
/// `requests_each` heavy requests in `mode` ("inline" or "offloaded").
async fn measure(
    addr: SocketAddr,
    mode: &'static str,
    heavy_clients: u64,
    requests_each: u64,
) -> Vec<Duration> {
    let heavy: Vec<_> = (0..heavy_clients)
        .map(|client| {
            tokio::spawn(async move {
                for i in 0..requests_each {
                    let response =
                        get_once(addr, &format!("/digest/{mode}/{}", client * 1_000 + i)).await;
                    assert!(response
                        .expect("a heavy response")
                        .starts_with("HTTP/1.1 200"));
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    while heavy.iter().any(|task| !task.is_finished()) {
        let start = Instant::now();
        let response = get_once(addr, "/heartbeat").await.expect("a heartbeat");
        assert!(response.ends_with("ok"));
        latencies.push(start.elapsed());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for task in heavy {
        task.await.expect("a heavy client");
    }
    latencies.sort();
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let rounds = calibrate();
    // The server's runtime: two worker threads, as on a small instance.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the server's runtime");
    let listener = server
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    server.spawn(async move { axum::serve(listener, app(rounds)).await });

    // The load test runs on a runtime of its own, so it is not slowed by
    // the server it measures.
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the client's runtime");
    println!("heartbeat latency while 4 clients each send 10 requests of ~20 ms CPU, server on 2 async worker threads:\n");
    println!("| heavy work | heartbeats | p50 | p99 | max |");
    println!("| --- | --- | --- | --- | --- |");
    for mode in ["inline", "offloaded"] {
        let latencies = client.block_on(measure(addr, mode, 4, 10));
        println!(
            "| {mode} | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
            latencies.len(),
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies
                .last()
                .expect("at least one heartbeat")
                .as_secs_f64()
                * 1e3,
        );
    }
    server.shutdown_timeout(Duration::from_secs(1));
}
