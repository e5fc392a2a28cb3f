//! A GraphQL load generator for the benchmarks: N concurrent clients send
//! one query for S seconds to a server over loopback (a separate process
//! from the server), then print requests, errors, requests per second and
//! latency percentiles. A response that is not HTTP 200 or carries GraphQL
//! `errors` counts as an error.
//!
//! `cargo run --release --example loadgen -- --url http://127.0.0.1:8080/graphql
//!  --token TOKEN --query '{ … }' --concurrency 64 --seconds 30`

use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// The GraphQL endpoint.
    #[arg(long)]
    url: String,
    /// An API token (sent as a bearer token).
    #[arg(long)]
    token: String,
    /// The query, sent as is.
    #[arg(long)]
    query: String,
    /// Clients sending at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// How long to send.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Requests per client before measuring starts (warms connections).
    #[arg(long, default_value_t = 5)]
    warmup: usize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .expect("http client");
    let body = serde_json::json!({ "query": args.query }).to_string();
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, body, url, token) = (
            client.clone(),
            body.clone(),
            args.url.clone(),
            args.token.clone(),
        );
        let warmup = args.warmup;
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::new();
            let mut errors = 0u64;
            let mut sent = 0usize;
            loop {
                let start = Instant::now();
                if sent >= warmup && start >= deadline {
                    break;
                }
                let ok = match client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(b) => !String::from_utf8_lossy(&b).contains("\"errors\""),
                        Err(_) => false,
                    },
                    _ => false,
                };
                sent += 1;
                if sent <= warmup {
                    continue;
                }
                latencies.push(start.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let started = Instant::now();
    let mut all: Vec<u32> = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("client task");
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        if all.is_empty() {
            0.0
        } else {
            let rank = ((p * all.len() as f64).ceil() as usize).clamp(1, all.len());
            f64::from(all[rank - 1]) / 1000.0
        }
    };
    println!(
        "requests={} errors={} seconds={:.1} rps={:.0} p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        all.len(),
        errors,
        elapsed,
        all.len() as f64 / elapsed,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
}
