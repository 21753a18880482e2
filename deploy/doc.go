// Package deploy holds what runs beside the bedrot daemon rather than in
// it, and the tests that keep those files true to the code:
//
//   - prometheus/prometheus.yml scrapes the daemon's /metrics on
//     127.0.0.1:8080 and loads prometheus/rules/bedrot.rules.yml: recording
//     rules (success ratio, run duration percentiles, last success age) and
//     alerting rules that mirror the daemon's alerting matrix (critical data
//     loss, high failed runs and daemon down, medium data quality and SLOs,
//     low performance degradation), unit-tested with promtool.
//   - grafana/provisioning provisions a Prometheus data source and a
//     PostgreSQL data source over the published analytics schema (fixed
//     uids, values from environment variables) and loads the four
//     dashboards of grafana/dashboards: System Health, Data Quality, Agent
//     Performance and Business Metrics.
//
// The package has no Go code to import: its tests check that every
// dashboard parses and only references provisioned data sources, metrics
// that host/metrics really exports and recording rules that exist; that
// promtool accepts the rules, the configuration and a real scrape; that the
// rule unit tests pass; and that the Business Metrics SQL runs against
// PostgreSQL tables shaped like the ones `bedrot publish` writes.
// README.md says how to run it all.
package deploy
