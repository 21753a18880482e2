package notify_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/notify"
)

var fastRetry = notify.RetryConfig{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}

// lab is one fake server per notifier of a full configuration.
type lab struct {
	webhook, sms, slack, pagerduty *fakeHTTP
	smtp                           *fakeSMTP
	cfg                            notify.Config
}

func newLab(t *testing.T, slackReplies ...reply) *lab {
	t.Helper()
	l := &lab{
		webhook:   newFakeHTTP(t),
		sms:       newFakeHTTP(t),
		slack:     newFakeHTTP(t, slackReplies...),
		pagerduty: newFakeHTTP(t, reply{status: http.StatusAccepted, body: pdAccepted}),
		smtp:      newFakeSMTP(t, nil),
	}
	l.cfg = notify.Config{
		Routes: map[notify.Severity][]string{
			notify.Critical: {"pagerduty", "sms", "slack"},
			notify.High:     {"email", "slack"},
			notify.Medium:   {"email", "webhook"},
			notify.Low:      {},
		},
		Notifiers: map[string]notify.NotifierConfig{
			"webhook":   {URL: l.webhook.URL + "/hook", Secret: "hmac-SENTINEL-1"},
			"sms":       {Type: "webhook", URL: l.sms.URL + "/sms", Headers: map[string]string{"Authorization": "Bearer SENTINEL-sms"}},
			"slack":     {URL: l.slack.URL + slackPath},
			"pagerduty": {RoutingKey: routingKey, Endpoint: l.pagerduty.URL + "/v2/enqueue"},
			"email": {Host: "127.0.0.1", Port: l.smtp.Port(), TLS: notify.TLSNone,
				From: "alerts@label.example", To: []string{"team@label.example"}},
		},
		Retry: fastRetry,
	}
	return l
}

func (l *lab) counts() map[string]int {
	return map[string]int{
		"webhook": len(l.webhook.Hits()), "sms": len(l.sms.Hits()), "slack": len(l.slack.Hits()),
		"pagerduty": len(l.pagerduty.Hits()), "email": len(l.smtp.Messages()),
	}
}

func TestRouterSendsEachSeverityToExactlyItsNotifiers(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	r, err := notify.NewRouter(l.cfg)
	require.NoError(t, err)
	want := map[notify.Severity][]string{
		notify.Critical: {"pagerduty", "sms", "slack"},
		notify.High:     {"email", "slack"},
		notify.Medium:   {"email", "webhook"},
		notify.Low:      nil,
	}
	for _, sev := range notify.Severities() {
		require.Equal(t, want[sev], r.Targets(sev))
		before := l.counts()
		a := sampleAlert()
		a.Severity = sev
		require.NoError(t, r.Notify(context.Background(), a))
		after := l.counts()
		for name := range after {
			expected := 0
			for _, w := range want[sev] {
				if w == name {
					expected = 1
				}
			}
			require.Equal(t, expected, after[name]-before[name], "severity %s, notifier %s", sev, name)
		}
	}
}

func TestRouterFailingNotifierDoesNotStopTheOthers(t *testing.T) {
	t.Parallel()
	l := newLab(t, reply{status: http.StatusInternalServerError, body: "oops"})
	l.pagerduty.setReplies(reply{status: http.StatusBadRequest, body: `{"status":"invalid event"}`})
	var logs bytes.Buffer
	r, err := notify.NewRouter(l.cfg, notify.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	require.NoError(t, err)

	err = r.Notify(context.Background(), sampleAlert()) // critical: pagerduty, sms, slack
	require.Error(t, err)
	require.Len(t, l.sms.Hits(), 1, "the SMS webhook still got the alert")
	require.Len(t, l.slack.Hits(), 3, "HTTP 500 is retried up to the attempt limit")
	require.Len(t, l.pagerduty.Hits(), 1, "HTTP 400 is not retried")

	var failed []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ne *notify.NotifierError
		require.True(t, errors.As(e, &ne))
		failed = append(failed, ne.Notifier+"/"+ne.Type+"/"+string(rune('0'+ne.Attempts)))
	}
	require.ElementsMatch(t, []string{"slack/slack/3", "pagerduty/pagerduty/1"}, failed)
	require.ErrorContains(t, err, `notifier "slack" (slack) failed after 3 attempt(s): Slack refused the alert: HTTP 500`)
	require.ErrorContains(t, err, `notifier "pagerduty" (pagerduty) failed after 1 attempt(s): PagerDuty refused the alert: HTTP 400`)

	out := logs.String()
	require.Equal(t, 2, strings.Count(out, `"msg":"alert notification failed; retrying"`), out)
	require.Equal(t, 2, strings.Count(out, `"msg":"alert notification failed"`), out)
	require.Contains(t, out, `"notifier":"slack"`)
	require.Contains(t, out, `"alert_id":"data_loss/raw/spotify/streams"`)
}

func TestRouterRetriesTimeouts(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t, reply{hang: true}, reply{status: http.StatusOK})
	r, err := notify.NewRouter(notify.Config{
		Routes: map[notify.Severity][]string{notify.Low: {"hook"}},
		// The timeout must leave room for the second, prompt answer under a
		// loaded race-detector run: at 50 ms it once timed out too (3 hits).
		Notifiers: map[string]notify.NotifierConfig{"hook": {Type: "webhook", URL: srv.URL, Timeout: time.Second}},
		Retry:     fastRetry,
	})
	require.NoError(t, err)
	a := sampleAlert()
	a.Severity = notify.Low
	require.NoError(t, r.Notify(context.Background(), a))
	require.Len(t, srv.Hits(), 2, "the timed-out attempt is retried once and the retry succeeds")
}

func TestRouterStopsRetryingWhenCancelled(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t, reply{status: http.StatusServiceUnavailable})
	hook, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := notify.NewRouter(notify.Config{
		Routes: map[notify.Severity][]string{notify.High: {"hook"}},
		Retry:  notify.RetryConfig{Attempts: 5, Backoff: time.Hour, MaxBackoff: time.Hour},
	}, notify.WithNotifier("hook", "webhook", notify.NotifierFunc(func(ctx context.Context, a notify.Alert) error {
		err := hook.Notify(ctx, a)
		cancel() // the daemon shuts down while the receiver is failing
		return err
	})))
	require.NoError(t, err)
	a := sampleAlert()
	a.Severity = notify.High
	err = r.Notify(ctx, a) // would wait an hour before the second attempt
	require.ErrorContains(t, err, `notifier "hook" (webhook) failed after 1 attempt(s): the webhook at `+srv.URL+" refused the alert: HTTP 503")
	require.Len(t, srv.Hits(), 1)
}

func TestRouterSecretsNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	secrets := []string{"hmac-SENTINEL-1", "Bearer SENTINEL-sms", "SENTINEL-sms", routingKey, smtpPassword,
		"xoxSENTINELtoken", "T0SENTINEL", "B0SENTINEL", slackPath}
	// Every receiver fails, and the ones that can echo what they got do.
	l := newLab(t, reply{status: http.StatusNotFound, body: "no_service for " + slackPath})
	l.webhook.setReplies(reply{status: http.StatusUnauthorized, body: "bad signature with secret hmac-SENTINEL-1"})
	l.sms.setReplies(reply{status: http.StatusForbidden, body: "token Bearer SENTINEL-sms refused"})
	l.pagerduty.setReplies(reply{status: http.StatusBadRequest, body: `{"errors":["routing_key ` + routingKey + ` unknown"]}`})
	smtp := newFakeSMTP(t, func(f *fakeSMTP) { f.authMechs, f.wantPass = "PLAIN", "other" })
	l.cfg.Notifiers["email"] = notify.NotifierConfig{Host: "127.0.0.1", Port: smtp.Port(), TLS: notify.TLSNone,
		Username: "alerts", Password: smtpPassword, From: "alerts@label.example", To: []string{"team@label.example"}}
	// A second Slack whose server is gone: the transport error must not carry the URL.
	gone := newFakeHTTP(t)
	goneURL := gone.URL + "/services/T0SENTINEL/B0SENTINEL/goneSENTINELtoken"
	gone.Close()
	l.cfg.Notifiers["slack2"] = notify.NotifierConfig{Type: "slack", URL: goneURL}
	secrets = append(secrets, "goneSENTINELtoken")
	for _, sev := range notify.Severities() {
		l.cfg.Routes[sev] = []string{"webhook", "sms", "slack", "slack2", "pagerduty", "email"}
	}
	var logs bytes.Buffer
	r, err := notify.NewRouter(l.cfg, notify.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)

	var all strings.Builder
	for _, sev := range notify.Severities() {
		a := sampleAlert()
		a.Severity = sev
		err := r.Notify(context.Background(), a)
		require.Error(t, err)
		for _, name := range []string{"webhook", "sms", "slack", "slack2", "pagerduty", "email"} {
			require.ErrorContains(t, err, `notifier "`+name+`"`)
		}
		all.WriteString(err.Error() + "\n")
	}
	require.Positive(t, logs.Len())
	all.WriteString(logs.String())
	text := all.String()
	require.Contains(t, text, "[redacted]", "the echoed secrets were there to scrub")
	for _, s := range secrets {
		require.NotContains(t, text, s)
	}
	require.NotContains(t, text, "SENTINEL")

	// Configuration errors do not print secrets either.
	_, err = notify.NewRouter(notify.Config{Notifiers: map[string]notify.NotifierConfig{
		"slack":     {URL: "hooks.slack.com/services/T0SENTINEL/xoxSENTINEL", RoutingKey: routingKey},
		"pagerduty": {RoutingKey: routingKey, Endpoint: "::SENTINEL"},
		"email":     {Host: "h", Password: smtpPassword, From: "a@b.example", To: []string{"c@d.example"}},
	}})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "SENTINEL")
}

func TestRouterConfigErrorsNameTheirPlace(t *testing.T) {
	t.Parallel()
	_, err := notify.NewRouter(notify.Config{
		Routes: map[notify.Severity][]string{
			notify.Critical: {"pagerduty", "nobody"},
			"urgent":        {"slack"},
		},
		Notifiers: map[string]notify.NotifierConfig{
			"pagerduty": {},
			"slack":     {URL: "https://hooks.slack.com/x", Secret: "s3cr3t"},
			"teams":     {URL: "https://example.com"},
		},
		Retry: notify.RetryConfig{Attempts: 50},
	})
	require.ErrorIs(t, err, notify.ErrBadConfig)
	require.ErrorContains(t, err, "notifiers.pagerduty: pagerduty: routing_key is not set")
	require.ErrorContains(t, err, "notifiers.slack: slack notifiers do not use secret")
	require.ErrorContains(t, err, `notifiers.teams: type "teams" is not one of webhook, slack, email, pagerduty`)
	require.ErrorContains(t, err, `routes.critical: no notifier is named "nobody"`)
	require.ErrorContains(t, err, "routes.urgent: not a severity")
	require.ErrorContains(t, err, "retry.attempts 50")
	require.NotContains(t, err.Error(), "s3cr3t")
}

func TestRouterRejectsInvalidAlert(t *testing.T) {
	t.Parallel()
	r, err := notify.NewRouter(notify.Config{})
	require.NoError(t, err)
	require.ErrorIs(t, r.Notify(context.Background(), notify.Alert{}), notify.ErrInvalidAlert)
}

func TestRouterWithCodeNotifier(t *testing.T) {
	t.Parallel()
	var got []notify.Alert
	r, err := notify.NewRouter(notify.Config{Routes: map[notify.Severity][]string{notify.Medium: {"dashboard"}}},
		notify.WithNotifier("dashboard", "memory", notify.NotifierFunc(func(_ context.Context, a notify.Alert) error {
			got = append(got, a)
			return nil
		})))
	require.NoError(t, err)
	a := sampleAlert()
	a.Severity = notify.Medium
	require.NoError(t, r.Notify(context.Background(), a))
	require.Equal(t, []notify.Alert{a}, got)
}

const koanfYAML = `
alerts:
  routes:
    critical: [pagerduty, slack]
    high: [email, slack]
    medium: [email]
    low: []
  notifiers:
    slack:
      url: https://hooks.slack.com/services/T000/B000/XXXX
      timeout: 5s
    pagerduty:
      routing_key: R0123
      client_url: https://bedrot.label.example/
    email:
      host: smtp.label.example
      port: 587
      username: alerts
      password: pw
      from: BEDROT <alerts@label.example>
      to: [data-team@label.example]
      tls: starttls
    sms:
      type: webhook
      url: https://sms.example/hook
      secret: s
      headers:
        Authorization: Bearer x
  retry:
    attempts: 4
    backoff: 500ms
    max_backoff: 10s
`

func TestConfigLoadsThroughKoanf(t *testing.T) {
	t.Parallel()
	raw, err := yaml.Parser().Unmarshal([]byte(koanfYAML))
	require.NoError(t, err)
	k := koanf.New(".")
	require.NoError(t, k.Load(confmap.Provider(raw, ""), nil))
	var cfg notify.Config
	require.NoError(t, k.UnmarshalWithConf("alerts", &cfg, koanf.UnmarshalConf{Tag: "koanf"}))

	require.Equal(t, []string{"pagerduty", "slack"}, cfg.Routes[notify.Critical])
	require.Empty(t, cfg.Routes[notify.Low])
	require.Equal(t, 5*time.Second, cfg.Notifiers["slack"].Timeout)
	require.Equal(t, "R0123", cfg.Notifiers["pagerduty"].RoutingKey)
	require.Equal(t, []string{"data-team@label.example"}, cfg.Notifiers["email"].To)
	require.Equal(t, "starttls", cfg.Notifiers["email"].TLS)
	require.Equal(t, "webhook", cfg.Notifiers["sms"].Type)
	require.Equal(t, "Bearer x", cfg.Notifiers["sms"].Headers["Authorization"])
	require.Equal(t, notify.RetryConfig{Attempts: 4, Backoff: 500 * time.Millisecond, MaxBackoff: 10 * time.Second}, cfg.Retry)

	r, err := notify.NewRouter(cfg)
	require.NoError(t, err)
	require.Equal(t, []string{"email"}, r.Targets(notify.Medium))
}
