package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Notifier types.
const (
	TypeWebhook   = "webhook"
	TypeSlack     = "slack"
	TypeEmail     = "email"
	TypePagerDuty = "pagerduty"
)

// Config is the alerting configuration, e.g. in bedrot.yaml:
//
//	alerts:
//	  routes:
//	    critical: [pagerduty, slack]
//	    high:     [email, slack]
//	    medium:   [email]
//	    low:      []            # dashboard only
//	  notifiers:
//	    slack:     {url: https://hooks.slack.com/services/T…/B…/…}
//	    pagerduty: {routing_key: R0…}
//	    email:
//	      host: smtp.label.example
//	      port: 587
//	      username: alerts
//	      password_file: /run/secrets/smtp   # the host config reads *_file keys
//	      from: BEDROT <alerts@label.example>
//	      to: [data-team@label.example]
//	    sms:                     # SMS through a gateway that takes a webhook
//	      type: webhook
//	      url: https://sms-gateway.example/hook
//	      secret: …
//	  retry: {attempts: 3, backoff: 2s, max_backoff: 30s}
//
// A notifier's type is its "type" field or, when that is empty, its name.
type Config struct {
	Routes    map[Severity][]string     `koanf:"routes" json:"routes"`
	Notifiers map[string]NotifierConfig `koanf:"notifiers" json:"notifiers"`
	Retry     RetryConfig               `koanf:"retry" json:"retry,omitempty"`
}

// NotifierConfig configures one notifier. Which fields apply depends on the
// type; setting a field another type uses is an error, so a misplaced key
// is noticed. Secret fields: url (webhook, slack), secret, headers,
// routing_key, password.
type NotifierConfig struct {
	Type    string        `koanf:"type" json:"type,omitempty"`
	Timeout time.Duration `koanf:"timeout" json:"timeout,omitempty"`

	// webhook, slack
	URL string `koanf:"url" json:"url,omitempty"`
	// webhook
	Secret  string            `koanf:"secret" json:"secret,omitempty"`
	Headers map[string]string `koanf:"headers" json:"headers,omitempty"`

	// pagerduty
	RoutingKey string `koanf:"routing_key" json:"routing_key,omitempty"`
	Endpoint   string `koanf:"endpoint" json:"endpoint,omitempty"`
	Source     string `koanf:"source" json:"source,omitempty"`
	Group      string `koanf:"group" json:"group,omitempty"`
	ClientURL  string `koanf:"client_url" json:"client_url,omitempty"`

	// email
	Host          string   `koanf:"host" json:"host,omitempty"`
	Port          int      `koanf:"port" json:"port,omitempty"`
	Username      string   `koanf:"username" json:"username,omitempty"`
	Password      string   `koanf:"password" json:"password,omitempty"`
	From          string   `koanf:"from" json:"from,omitempty"`
	To            []string `koanf:"to" json:"to,omitempty"`
	TLS           string   `koanf:"tls" json:"tls,omitempty"`
	CA            string   `koanf:"ca" json:"ca,omitempty"`
	Hello         string   `koanf:"hello" json:"hello,omitempty"`
	SubjectPrefix string   `koanf:"subject_prefix" json:"subject_prefix,omitempty"`
}

// kind is the notifier type, defaulting to the name.
func (c NotifierConfig) kind(name string) string {
	if c.Type != "" {
		return strings.ToLower(c.Type)
	}
	return strings.ToLower(name)
}

// foreignFields names the fields set that the type does not use.
func (c NotifierConfig) foreignFields(kind string) []string {
	set := map[string]bool{
		"url": c.URL != "", "secret": c.Secret != "", "headers": len(c.Headers) > 0,
		"routing_key": c.RoutingKey != "", "endpoint": c.Endpoint != "", "source": c.Source != "",
		"group": c.Group != "", "client_url": c.ClientURL != "",
		"host": c.Host != "", "port": c.Port != 0, "username": c.Username != "", "password": c.Password != "",
		"from": c.From != "", "to": len(c.To) > 0, "tls": c.TLS != "", "ca": c.CA != "",
		"hello": c.Hello != "", "subject_prefix": c.SubjectPrefix != "",
	}
	uses := map[string][]string{
		TypeWebhook:   {"url", "secret", "headers"},
		TypeSlack:     {"url"},
		TypePagerDuty: {"routing_key", "endpoint", "source", "group", "client_url"},
		TypeEmail:     {"host", "port", "username", "password", "from", "to", "tls", "ca", "hello", "subject_prefix"},
	}[kind]
	var out []string
	for f, on := range set {
		if on && !slices.Contains(uses, f) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// Build makes the notifier this configuration describes.
func (c NotifierConfig) Build(name string) (Notifier, error) {
	kind := c.kind(name)
	if extra := c.foreignFields(kind); len(extra) > 0 && slices.Contains([]string{TypeWebhook, TypeSlack, TypeEmail, TypePagerDuty}, kind) {
		return nil, fmt.Errorf("%s notifiers do not use %s", kind, strings.Join(extra, ", "))
	}
	switch kind {
	case TypeWebhook:
		return NewWebhook(WebhookConfig{URL: c.URL, Secret: c.Secret, Headers: c.Headers, Timeout: c.Timeout})
	case TypeSlack:
		return NewSlack(SlackConfig{URL: c.URL, Timeout: c.Timeout})
	case TypePagerDuty:
		return NewPagerDuty(PagerDutyConfig{RoutingKey: c.RoutingKey, Endpoint: c.Endpoint, Source: c.Source,
			Group: c.Group, ClientURL: c.ClientURL, Timeout: c.Timeout})
	case TypeEmail:
		return NewEmail(EmailConfig{Host: c.Host, Port: c.Port, Username: c.Username, Password: c.Password,
			From: c.From, To: c.To, TLS: c.TLS, CA: c.CA, Hello: c.Hello, SubjectPrefix: c.SubjectPrefix, Timeout: c.Timeout})
	}
	return nil, fmt.Errorf("type %q is not one of webhook, slack, email, pagerduty (set type when the name is not the type)", kind)
}

// secrets is a redactor for every secret value of the configuration.
func (c NotifierConfig) secrets() redactor {
	r := newRedactor(c.Secret, c.RoutingKey, c.Password)
	if c.URL != "" {
		r.addURL(c.URL)
	}
	for _, v := range c.Headers {
		r.add(v)
	}
	return r
}

// ErrBadConfig wraps every problem NewRouter finds in a Config.
var ErrBadConfig = errors.New("bad alerting configuration")

// Router sends each alert to the notifiers routed for its severity.
type Router struct {
	routes    map[Severity][]string
	notifiers map[string]routed
	retry     RetryConfig
	log       *slog.Logger
	red       redactor
}

type routed struct {
	kind string
	n    Notifier
}

// RouterOption adjusts a Router.
type RouterOption func(*Router)

// WithLogger logs failed attempts (and retries) to l. Messages never
// contain secrets.
func WithLogger(l *slog.Logger) RouterOption { return func(r *Router) { r.log = l } }

// WithNotifier adds or replaces a notifier by name (its type shown as
// kind), for notifiers built in code. Its errors are scrubbed of the
// configured secrets only.
func WithNotifier(name, kind string, n Notifier) RouterOption {
	return func(r *Router) { r.notifiers[name] = routed{kind: kind, n: n} }
}

// NewRouter builds every configured notifier and checks the routes. Every
// problem is reported, each naming its notifier or severity.
func NewRouter(cfg Config, opts ...RouterOption) (*Router, error) {
	r := &Router{routes: map[Severity][]string{}, notifiers: map[string]routed{}, retry: cfg.Retry.withDefaults()}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(cfg.Notifiers)) {
		nc := cfg.Notifiers[name]
		r.red = r.red.merge(nc.secrets())
		n, err := nc.Build(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("notifiers.%s: %w", name, err))
			continue
		}
		r.notifiers[name] = routed{kind: nc.kind(name), n: n}
	}
	for _, o := range opts {
		o(r)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Retry.Attempts < 0 || cfg.Retry.Attempts > MaxAttempts {
		errs = append(errs, fmt.Errorf("retry.attempts %d is not between 1 and %d", cfg.Retry.Attempts, MaxAttempts))
	}
	for sev, names := range cfg.Routes {
		sev = Severity(strings.ToLower(string(sev)))
		if !sev.Valid() {
			errs = append(errs, fmt.Errorf("routes.%s: not a severity (critical, high, medium, low)", sev))
			continue
		}
		seen := map[string]bool{}
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			if _, ok := r.notifiers[name]; !ok {
				if _, configured := cfg.Notifiers[name]; !configured {
					errs = append(errs, fmt.Errorf("routes.%s: no notifier is named %q", sev, name))
				}
				continue
			}
			r.routes[sev] = append(r.routes[sev], name)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrBadConfig, r.red.String(errors.Join(errs...).Error()))
	}
	return r, nil
}

// Targets lists the notifiers an alert of severity s goes to.
func (r *Router) Targets(s Severity) []string { return slices.Clone(r.routes[s]) }

// NotifierError is one notifier's failure to deliver an alert.
type NotifierError struct {
	Notifier string // its name in the configuration
	Type     string
	Attempts int
	Err      error
}

func (e *NotifierError) Error() string {
	return fmt.Sprintf("notifier %q (%s) failed after %d attempt(s): %v", e.Notifier, e.Type, e.Attempts, e.Err)
}

func (e *NotifierError) Unwrap() error { return e.Err }

// Notify sends a to every notifier routed for its severity, concurrently,
// each with its own retries. A failing notifier does not stop the others;
// the result joins one *NotifierError per failed notifier (nil when all
// succeeded or the severity has no route).
func (r *Router) Notify(ctx context.Context, a Alert) error {
	if err := a.Validate(); err != nil {
		return err
	}
	names := r.routes[a.Severity]
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		t := r.notifiers[name]
		wg.Go(func() {
			attempts, err := deliver(ctx, t.n, a, r.retry, func(attempt int, err error, wait time.Duration) {
				attrs := []any{"notifier", name, "type", t.kind, "alert_id", a.ID, "severity", string(a.Severity),
					"state", string(a.State), "attempt", attempt, "error", r.red.String(err.Error())}
				if wait > 0 {
					r.log.WarnContext(ctx, "alert notification failed; retrying", append(attrs, "retry_in", wait)...)
				} else {
					r.log.ErrorContext(ctx, "alert notification failed", attrs...)
				}
			})
			if err != nil {
				errs[i] = &NotifierError{Notifier: name, Type: t.kind, Attempts: attempts, Err: scrubbed{err, r.red}}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// scrubbed wraps an error so its text is scrubbed of configured secrets
// while errors.Is / errors.As still see the original.
type scrubbed struct {
	err error
	red redactor
}

func (s scrubbed) Error() string { return s.red.String(s.err.Error()) }
func (s scrubbed) Unwrap() error { return s.err }

var _ Notifier = (*Router)(nil)
