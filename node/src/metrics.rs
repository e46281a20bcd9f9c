//! The node's metrics, in Prometheus' text format at `GET /metrics`.
//!
//! Counters and histograms are moved where things happen: requests at the HTTP edge (by route
//! template, never by raw path, so that ids do not make a series each), batches and commits in the
//! writer (`WriterStats`), expiry lateness in the scheduler. Gauges of queues and lags are read
//! from the stores and the tasks when scraped, so they cannot drift from what `/healthz` says.
//! The names are listed in the README.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::scheduler::Lateness;
use crate::writer::WriterStats;

/// Every instrument of the node, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    pub(crate) gauges: Gauges,
}

/// What `/metrics` reads afresh at each scrape.
pub(crate) struct Gauges {
    pub last_seq: IntGauge,
    pub outbox_backlog: IntGauge,
    pub sync_connected: IntGauge,
    pub sync_acked_seq: IntGauge,
    pub sync_lag_events: IntGauge,
    pub search_lag_events: IntGauge,
    pub locks_pending: IntGauge,
    pub mail_queued: IntGauge,
    pub payments_unsettled: IntGauge,
    /// A counter, brought up to the stores' own count at each scrape.
    pub store_syncs: IntCounter,
}

impl Metrics {
    /// The node's registry with the writer's and the scheduler's instruments in it.
    pub fn new(writer: &WriterStats, lateness: &Lateness) -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "tix_http_requests_total",
                "HTTP requests answered, by method, route template and status.",
            ),
            &["method", "route", "status"],
        )?;
        let http_seconds = HistogramVec::new(
            HistogramOpts::new(
                "tix_http_request_duration_seconds",
                "Time from a request's arrival to its response's head, by method and route.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_seconds.clone()))?;
        registry.register(Box::new(writer.batch_size.clone()))?;
        registry.register(Box::new(writer.commit_seconds.clone()))?;
        registry.register(Box::new(writer.events.clone()))?;
        registry.register(Box::new(writer.orders.clone()))?;
        registry.register(Box::new(writer.commits.clone()))?;
        registry.register(Box::new(writer.ahead.clone()))?;
        registry.register(Box::new(lateness.histogram.clone()))?;
        let gauge = |name: &str, help: &str| -> prometheus::Result<IntGauge> {
            let gauge = IntGauge::new(name, help)?;
            registry.register(Box::new(gauge.clone()))?;
            Ok(gauge)
        };
        let store_syncs = IntCounter::new(
            "tix_store_syncs_total",
            "Times the store files were synced to the disk (fsync), since the node started.",
        )?;
        registry.register(Box::new(store_syncs.clone()))?;
        let gauges = Gauges {
            store_syncs,
            last_seq: gauge("tix_events_last_seq", "The node's newest event sequence.")?,
            outbox_backlog: gauge(
                "tix_outbox_backlog_events",
                "Events kept in the outboxes (not yet acknowledged by the hub, or kept by choice).",
            )?,
            sync_connected: gauge(
                "tix_sync_connected",
                "1 while the sync relay is connected to the broker.",
            )?,
            sync_acked_seq: gauge(
                "tix_sync_acked_seq",
                "The newest sequence the hub acknowledged.",
            )?,
            sync_lag_events: gauge(
                "tix_sync_lag_events",
                "Events committed here that the hub has not acknowledged.",
            )?,
            search_lag_events: gauge(
                "tix_search_lag_events",
                "Events committed here that the search index does not reflect yet.",
            )?,
            locks_pending: gauge(
                "tix_locks_pending",
                "Unpaid orders holding tickets, waiting to be paid or to expire.",
            )?,
            mail_queued: gauge(
                "tix_mail_queued",
                "Paid orders whose passes wait to be emailed.",
            )?,
            payments_unsettled: gauge(
                "tix_payments_unsettled",
                "Card payments and refunds left unfinished (by a crash or an outage), to settle.",
            )?,
        };
        Ok(Metrics {
            registry,
            http_requests,
            http_seconds,
            gauges,
        })
    }

    /// Everything, in Prometheus' text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }

    fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .with_label_values(&[method, route, itoa::Buffer::new().format(status)])
            .inc();
        self.http_seconds
            .with_label_values(&[method, route])
            .observe(seconds);
    }
}

/// A route template as a label: `/api/orders/{id}` becomes `/api/orders/:id` (braces in label
/// values trip some scrapers' parsers).
fn route_label(template: &str) -> String {
    template.replace('{', ":").replace('}', "")
}

/// Middleware: counts and times every request by its route template (`/api/orders/:id`); a
/// request no route matched counts as `unmatched`.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| route_label(path.as_str()));
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    metrics.request(&method, &route, response.status().as_u16(), seconds);
    response
}
