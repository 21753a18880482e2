package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Email TLS modes.
const (
	// TLSAuto upgrades with STARTTLS when the server offers it (default).
	TLSAuto = "auto"
	// TLSStartTLS requires STARTTLS; a server without it is an error.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit = "implicit"
	// TLSNone never uses TLS: only for a relay on the same machine.
	TLSNone = "none"
)

// DefaultEmailTimeout bounds one whole SMTP conversation.
const DefaultEmailTimeout = 30 * time.Second

// EmailConfig configures e-mail over SMTP.
type EmailConfig struct {
	Host string
	Port int // default 587, or 465 with TLS "implicit"
	// Username and Password enable SMTP AUTH (PLAIN, else LOGIN, else
	// CRAM-MD5, as the server offers). Credentials are only ever sent over
	// TLS, or to a server on the loopback interface.
	Username string
	Password string // secret
	From     string // "BEDROT <alerts@label.example>"
	To       []string
	TLS      string // auto (default), starttls, implicit, none
	// CA is extra PEM certificates to trust for the server (an internal
	// relay's CA), on top of the system roots.
	CA string
	// Hello is the name sent with EHLO (default: this machine's host name).
	Hello string
	// SubjectPrefix starts every subject (default "[BEDROT]").
	SubjectPrefix string
	Timeout       time.Duration
}

// Email sends each alert as a multipart/alternative message: a plain-text
// part and an HTML part, both UTF-8 quoted-printable. Headers include
// X-Bedrot-Alert-Id, X-Bedrot-Severity and X-Bedrot-State, and every
// message about one alert carries the same References header so mail
// clients thread firing, acknowledged and resolved together. Critical
// alerts are marked Importance: high.
//
// It uses the standard library's net/smtp: frozen but complete for sending
// one message (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT), and it
// refuses to send PLAIN credentials over an unencrypted connection to
// another machine. No extra dependency is needed.
type Email struct {
	cfg  EmailConfig
	from *mail.Address
	to   []*mail.Address
	tls  *tls.Config
	red  redactor
	now  func() time.Time
}

// NewEmail checks cfg and returns the notifier.
func NewEmail(cfg EmailConfig) (*Email, error) {
	var errs []error
	if cfg.TLS == "" {
		cfg.TLS = TLSAuto
	}
	switch cfg.TLS {
	case TLSAuto, TLSStartTLS, TLSImplicit, TLSNone:
	default:
		errs = append(errs, fmt.Errorf("tls %q is not one of auto, starttls, implicit, none", cfg.TLS))
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if strings.TrimSpace(cfg.Host) == "" {
		errs = append(errs, errors.New("host is not set"))
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d is not a TCP port", cfg.Port))
	}
	if cfg.Password != "" && cfg.Username == "" {
		errs = append(errs, errors.New("password is set but username is not"))
	}
	e := &Email{cfg: cfg, now: time.Now}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		errs = append(errs, fmt.Errorf("from %q is not an e-mail address: %v", cfg.From, err))
	}
	e.from = from
	if len(cfg.To) == 0 {
		errs = append(errs, errors.New("to lists no recipients"))
	}
	for i, t := range cfg.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			errs = append(errs, fmt.Errorf("to[%d] %q is not an e-mail address: %v", i, t, err))
			continue
		}
		e.to = append(e.to, a)
	}
	e.tls = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.CA != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(cfg.CA)) {
			errs = append(errs, errors.New("ca holds no PEM certificate"))
		}
		e.tls.RootCAs = pool
	}
	if e.cfg.Hello == "" {
		e.cfg.Hello, _ = os.Hostname()
		if e.cfg.Hello == "" {
			e.cfg.Hello = "localhost"
		}
	}
	if e.cfg.SubjectPrefix == "" {
		e.cfg.SubjectPrefix = "[BEDROT]"
	}
	if e.cfg.Timeout <= 0 {
		e.cfg.Timeout = DefaultEmailTimeout
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("email: %w", errors.Join(errs...))
	}
	e.red = newRedactor(cfg.Password)
	return e, nil
}

// Notify sends one message to all recipients.
func (e *Email) Notify(ctx context.Context, a Alert) error {
	if err := a.Validate(); err != nil {
		return err
	}
	msg, err := e.message(a)
	if err != nil {
		return fmt.Errorf("email: composing alert %q: %w", a.ID, err)
	}
	if err := e.send(ctx, msg); err != nil {
		return e.classify(ctx, err)
	}
	return nil
}

// smtpStep marks which part of the conversation failed.
type smtpStep struct {
	step string
	err  error
}

func (s *smtpStep) Error() string { return s.step + ": " + s.err.Error() }
func (s *smtpStep) Unwrap() error { return s.err }

func step(name string, err error) error {
	if err == nil {
		return nil
	}
	return &smtpStep{step: name, err: err}
}

func (e *Email) send(ctx context.Context, msg []byte) (err error) {
	addr := net.JoinHostPort(e.cfg.Host, strconv.Itoa(e.cfg.Port))
	deadline := time.Now().Add(e.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return step("connecting", err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if e.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, e.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return step("TLS handshake", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, e.cfg.Host)
	if err != nil {
		return step("greeting", err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Hello(e.cfg.Hello); err != nil {
		return step("EHLO", err)
	}
	if e.cfg.TLS == TLSAuto || e.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(e.tls); err != nil {
				return step("STARTTLS", err)
			}
		} else if e.cfg.TLS == TLSStartTLS {
			return step("STARTTLS", errors.New("the server does not offer STARTTLS but tls is \"starttls\""))
		}
	}
	if e.cfg.Username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return step("AUTH", errors.New("the server does not offer authentication; remove username/password or use the right server"))
		}
		if err := c.Auth(e.auth(strings.Fields(strings.ToUpper(mechs)))); err != nil {
			return step("AUTH", err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return step("MAIL FROM", err)
	}
	for _, t := range e.to {
		if err := c.Rcpt(t.Address); err != nil {
			return step("RCPT TO <"+t.Address+">", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return step("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return step("DATA", err)
	}
	if err := w.Close(); err != nil {
		return step("DATA", err)
	}
	return step("QUIT", c.Quit())
}

// auth picks the first mechanism the server offers among PLAIN, LOGIN and
// CRAM-MD5.
func (e *Email) auth(mechs []string) smtp.Auth {
	switch {
	case slices.Contains(mechs, "PLAIN") || len(mechs) == 0:
		return smtp.PlainAuth("", e.cfg.Username, e.cfg.Password, e.cfg.Host)
	case slices.Contains(mechs, "LOGIN"):
		return &loginAuth{user: e.cfg.Username, pass: e.cfg.Password, host: e.cfg.Host}
	case slices.Contains(mechs, "CRAM-MD5"):
		return smtp.CRAMMD5Auth(e.cfg.Username, e.cfg.Password)
	default:
		return smtp.PlainAuth("", e.cfg.Username, e.cfg.Password, e.cfg.Host)
	}
}

// loginAuth is the LOGIN mechanism (Microsoft 365 and others), with the
// same refusal as smtp.PlainAuth to send credentials in the clear.
type loginAuth struct{ user, pass, host string }

func (l *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != l.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (l *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch p := strings.ToLower(strings.TrimSpace(string(fromServer))); {
	case strings.HasPrefix(p, "user"):
		return []byte(l.user), nil
	case strings.HasPrefix(p, "pass"):
		return []byte(l.pass), nil
	default:
		return nil, fmt.Errorf("unexpected LOGIN challenge %q", truncate(string(fromServer), 40))
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// classify turns an SMTP failure into a scrubbed error: 4xx replies and
// connection problems may pass later; 5xx replies and TLS/auth refusals
// will not.
func (e *Email) classify(ctx context.Context, err error) error {
	server := net.JoinHostPort(e.cfg.Host, strconv.Itoa(e.cfg.Port))
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &deliveryError{msg: fmt.Sprintf("email: delivery to %s was cancelled: %v", server, ctxErr), cause: ctxErr}
	}
	what := "email: the mail server " + server
	where := ""
	var st *smtpStep
	if errors.As(err, &st) {
		where = " at " + st.step
	}
	text := err.Error()
	if st != nil {
		text = st.err.Error()
	}
	text = e.red.String(text)
	var tp *textproto.Error
	if errors.As(err, &tp) {
		retry := tp.Code >= 400 && tp.Code < 500
		msg := fmt.Sprintf("%s refused the alert%s: %d %s", what, where, tp.Code, e.red.String(oneLine(tp.Msg)))
		switch {
		case tp.Code == 535 || tp.Code == 534 || tp.Code == 530:
			msg += " — check the e-mail username and password in the alerting configuration"
		case retry:
			msg += " — a temporary refusal; will retry"
		}
		return &deliveryError{msg: msg, retryable: retry}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &deliveryError{msg: fmt.Sprintf("%s did not answer in time%s; will retry", what, where), retryable: true}
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return &deliveryError{msg: fmt.Sprintf("%s presented a certificate that is not trusted%s: %s — set ca to the relay's CA certificate", what, where, text)}
	}
	if st != nil && (st.step == "STARTTLS" || st.step == "AUTH") {
		return &deliveryError{msg: fmt.Sprintf("%s could not be used%s: %s", what, where, text)}
	}
	return &deliveryError{msg: fmt.Sprintf("%s could not be used%s: %s", what, where, text), retryable: true}
}

// headerSafe removes line breaks so a value cannot start a new header.
func headerSafe(s string) string { return oneLine(s) }

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// message renders the whole RFC 5322 message.
func (e *Email) message(a Alert) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := writeQPPart(mw, "text/plain; charset=utf-8", []byte(emailText(a))); err != nil {
		return nil, err
	}
	var html bytes.Buffer
	if err := emailHTML.Execute(&html, emailView(a)); err != nil {
		return nil, err
	}
	if err := writeQPPart(mw, "text/html; charset=utf-8", html.Bytes()); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}

	domain := "bedrot.local"
	if at := strings.LastIndexByte(e.from.Address, '@'); at >= 0 {
		domain = e.from.Address[at+1:]
	}
	thread := sha256.Sum256([]byte(a.ID))
	to := make([]string, len(e.to))
	for i, t := range e.to {
		to[i] = t.String()
	}
	var h bytes.Buffer
	hdr := func(k, v string) { h.WriteString(k + ": " + v + "\r\n") }
	hdr("From", e.from.String())
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", headerSafe(e.cfg.SubjectPrefix+" "+a.summary())))
	hdr("Date", e.now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+randomID()+"@"+domain+">")
	hdr("References", "<alert-"+hex.EncodeToString(thread[:12])+"@"+domain+">")
	hdr("X-Bedrot-Alert-Id", mime.QEncoding.Encode("utf-8", headerSafe(a.ID)))
	hdr("X-Bedrot-Severity", string(a.Severity))
	hdr("X-Bedrot-State", string(a.State))
	if a.Severity == Critical && a.State == Firing {
		hdr("Importance", "high")
		hdr("X-Priority", "1")
	}
	hdr("Auto-Submitted", "auto-generated")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	h.WriteString("\r\n")
	h.Write(body.Bytes())
	return h.Bytes(), nil
}

func writeQPPart(mw *multipart.Writer, contentType string, content []byte) error {
	pw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {contentType},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(pw)
	if _, err := qp.Write(content); err != nil {
		return err
	}
	return qp.Close()
}

// emailFact is one labelled line of an e-mail.
type emailFact struct{ Name, Value string }

type emailPage struct {
	Summary string
	Color   string
	Detail  string
	Facts   []emailFact
	Links   []Link
}

func emailView(a Alert) emailPage {
	color := slackColor[a.Severity]
	switch a.State {
	case Resolved:
		color = slackResolvedColor
	case Acknowledged:
		color = slackAckColor
	}
	facts := []emailFact{{"Severity", string(a.Severity)}, {"State", string(a.State)}}
	for _, f := range []emailFact{{"Source", a.Source}, {"Dataset", a.Dataset}, {"Run", a.RunID}} {
		if f.Value != "" {
			facts = append(facts, f)
		}
	}
	facts = append(facts, emailFact{"Started", a.StartedAt.UTC().Format(time.RFC3339)}, emailFact{"Updated", a.updated().UTC().Format(time.RFC3339)})
	keys := make([]string, 0, len(a.Details))
	for k := range a.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		facts = append(facts, emailFact{k, a.Details[k]})
	}
	facts = append(facts, emailFact{"Alert ID", a.ID})
	return emailPage{Summary: a.summary(), Color: color, Detail: strings.TrimSpace(a.Detail), Facts: facts, Links: a.Links}
}

func emailText(a Alert) string {
	v := emailView(a)
	var b strings.Builder
	b.WriteString(v.Summary + "\n\n")
	if v.Detail != "" {
		b.WriteString(v.Detail + "\n\n")
	}
	width := 0
	for _, f := range v.Facts {
		width = max(width, len(f.Name))
	}
	for _, f := range v.Facts {
		fmt.Fprintf(&b, "%-*s  %s\n", width+1, f.Name+":", f.Value)
	}
	if len(v.Links) > 0 {
		b.WriteString("\nLinks:\n")
		for _, l := range v.Links {
			fmt.Fprintf(&b, "- %s: %s\n", l.Name, l.URL)
		}
	}
	b.WriteString("\n-- \nSent by the BEDROT Data Lake alerting.\n")
	return b.String()
}

var emailHTML = template.Must(template.New("alert").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Summary}}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;color:#222">
<div style="border-left:6px solid {{.Color}};padding:8px 16px">
<h2 style="margin:0 0 12px 0">{{.Summary}}</h2>
{{if .Detail}}<p style="white-space:pre-wrap">{{.Detail}}</p>{{end}}
<table style="border-collapse:collapse">
{{range .Facts}}<tr><th style="text-align:left;padding:2px 12px 2px 0">{{.Name}}</th><td style="padding:2px 0">{{.Value}}</td></tr>
{{end}}</table>
{{if .Links}}<p>{{range .Links}}<a href="{{.URL}}">{{.Name}}</a><br>
{{end}}</p>{{end}}
</div>
<p style="color:#888;font-size:12px">Sent by the BEDROT Data Lake alerting.</p>
</body></html>
`))

var _ Notifier = (*Email)(nil)
