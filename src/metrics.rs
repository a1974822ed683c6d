//! Prometheus metrics, one registry per running app (so tests can run several apps at once).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The method label: one of the methods the API serves, else `other`, so that a client
/// inventing methods cannot grow the number of series.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    workers: WorkerGauges,
}

/// What the background work is doing, read cheaply when `/metrics` is scraped: from memory, or
/// from a value a worker sampled. A scrape never runs a query of its own.
struct WorkerGauges {
    anchor_backlog: Gauge,
    search_lag: Gauge<f64, AtomicU64>,
    model_age: Gauge<f64, AtomicU64>,
    cpu_in_flight: Gauge,
    cpu_refused: Counter,
    cpu_skipped: Counter,
    /// The pool's counters at the last scrape, to add only what is new.
    cpu_seen: [AtomicU64; 2],
}

/// One reading of the background work, taken by the app when `/metrics` is scraped.
pub struct WorkerReading {
    /// Seconds since the search index was last in step with the catalogue's change feed.
    pub search_lag: Duration,
    /// Seconds since the recommendation model being served was trained.
    pub model_age: Duration,
    pub cpu: crate::cpu::Stats,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("truffle");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_requests",
            "HTTP requests by method, matched route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and matched route",
            latency.clone(),
        );
        let workers = WorkerGauges {
            anchor_backlog: Gauge::default(),
            search_lag: Gauge::default(),
            model_age: Gauge::default(),
            cpu_in_flight: Gauge::default(),
            cpu_refused: Counter::default(),
            cpu_skipped: Counter::default(),
            cpu_seen: [AtomicU64::new(0), AtomicU64::new(0)],
        };
        registry.register(
            "anchor_backlog",
            "Content hashes waiting to be anchored (no batch yet, or a batch not yet confirmed), sampled every 15 s",
            workers.anchor_backlog.clone(),
        );
        registry.register(
            "search_index_lag_seconds",
            "Seconds since this replica's search index was last in step with the change feed",
            workers.search_lag.clone(),
        );
        registry.register(
            "recommendation_model_age_seconds",
            "Seconds since the recommendation model this replica serves was trained (since start-up before the first)",
            workers.model_age.clone(),
        );
        registry.register(
            "cpu_jobs",
            "Jobs running or waiting on the CPU pool",
            workers.cpu_in_flight.clone(),
        );
        registry.register(
            "cpu_refused",
            "Request jobs refused with 503 overloaded because the CPU pool's queue was full",
            workers.cpu_refused.clone(),
        );
        registry.register(
            "cpu_skipped",
            "CPU jobs skipped because their request had gone before their turn",
            workers.cpu_skipped.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            workers,
        }
    }

    /// Counts a request. `route` must be a matched route template or `unmatched`, never a raw
    /// path, so the series stay bounded.
    pub fn observe_request(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method,
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The anchoring backlog, as the sampler last counted it.
    pub fn set_anchor_backlog(&self, hashes: i64) {
        self.workers.anchor_backlog.set(hashes);
    }

    /// Takes a reading of the background work into the gauges (before a render).
    pub fn record(&self, reading: WorkerReading) {
        let w = &self.workers;
        w.search_lag.set(reading.search_lag.as_secs_f64());
        w.model_age.set(reading.model_age.as_secs_f64());
        w.cpu_in_flight.set(reading.cpu.in_flight as i64);
        for (i, (counter, now)) in [
            (&w.cpu_refused, reading.cpu.refused),
            (&w.cpu_skipped, reading.cpu.skipped),
        ]
        .into_iter()
        .enumerate()
        {
            let before = w.cpu_seen[i].fetch_max(now, Ordering::AcqRel);
            if now > before {
                counter.inc_by(now - before);
            }
        }
    }

    /// The text exposition format served at `/metrics`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
