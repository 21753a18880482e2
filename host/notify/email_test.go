package notify_test

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/notify"
)

const smtpPassword = "smtp-pass-SENTINEL-77"

func emailConfig(f *fakeSMTP) notify.EmailConfig {
	return notify.EmailConfig{
		Host:  "127.0.0.1",
		Port:  f.Port(),
		From:  "BEDROT Alerts <alerts@label.example>",
		To:    []string{"data-team@label.example", "Ops <ops@label.example>"},
		TLS:   notify.TLSNone,
		Hello: "bedrot.test",
	}
}

type parsedMail struct {
	header mail.Header
	parts  map[string]string // content type → decoded body
	ptypes []string
}

func parseMail(t *testing.T, data string) parsedMail {
	t.Helper()
	m, err := mail.ReadMessage(readerOf(data))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	out := parsedMail{header: m.Header, parts: map[string]string{}}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		// multipart.Reader decodes quoted-printable and drops the header,
		// so seeing it gone proves the part was declared quoted-printable.
		require.Empty(t, p.Header.Get("Content-Transfer-Encoding"))
		body, err := io.ReadAll(p)
		require.NoError(t, err)
		ct := p.Header.Get("Content-Type")
		out.ptypes = append(out.ptypes, ct)
		out.parts[ct] = string(body)
	}
	return out
}

func TestEmailMessageHasHeadersAndBothParts(t *testing.T) {
	t.Parallel()
	f := newFakeSMTP(t, nil)
	e, err := notify.NewEmail(emailConfig(f))
	require.NoError(t, err)
	a := sampleAlert()
	a.Title = "Prüfsumme stimmt nicht: <script>alert(1)</script>"
	require.NoError(t, e.Notify(context.Background(), a))

	msgs := f.Messages()
	require.Len(t, msgs, 1)
	m := msgs[0]
	require.Equal(t, "alerts@label.example", m.From)
	require.Equal(t, []string{"data-team@label.example", "ops@label.example"}, m.To)
	require.Equal(t, "EHLO bedrot.test", m.Commands[0])
	conv := f.Conversations()
	require.Len(t, conv, 1)
	require.Equal(t, "QUIT", conv[0][len(conv[0])-1], "the conversation ends with QUIT")
	require.False(t, m.TLS)
	require.Empty(t, m.AuthUser, "no credentials configured, no AUTH")

	pm := parseMail(t, m.Data)
	h := pm.header
	require.Equal(t, `"BEDROT Alerts" <alerts@label.example>`, h.Get("From"))
	to, err := h.AddressList("To")
	require.NoError(t, err)
	require.Equal(t, []string{"data-team@label.example", "ops@label.example"}, []string{to[0].Address, to[1].Address})
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "[BEDROT] [CRITICAL] Prüfsumme stimmt nicht: <script>alert(1)</script> (spotify · raw/spotify/streams)", subject)
	require.NotEqual(t, subject, h.Get("Subject"), "non-ASCII subjects are encoded words")
	_, err = h.Date()
	require.NoError(t, err)
	require.Regexp(t, `^<[0-9a-f]{32}@label\.example>$`, h.Get("Message-ID"))
	require.Regexp(t, `^<alert-[0-9a-f]{24}@label\.example>$`, h.Get("References"))
	require.Equal(t, "1.0", h.Get("MIME-Version"))
	require.Equal(t, "data_loss/raw/spotify/streams", h.Get("X-Bedrot-Alert-Id"))
	require.Equal(t, "critical", h.Get("X-Bedrot-Severity"))
	require.Equal(t, "firing", h.Get("X-Bedrot-State"))
	require.Equal(t, "high", h.Get("Importance"))
	require.Equal(t, "auto-generated", h.Get("Auto-Submitted"))

	require.Equal(t, []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}, pm.ptypes, "plain text first, HTML preferred last")
	text := pm.parts["text/plain; charset=utf-8"]
	require.Contains(t, text, "[CRITICAL] Prüfsumme stimmt nicht: <script>alert(1)</script> (spotify · raw/spotify/streams)\n")
	require.Contains(t, text, "part-0001.parquet: manifest sha256 ab12 <> storage sha256 cd34 & more\n")
	require.Contains(t, text, "Severity:  critical\n")
	require.Contains(t, text, "Run:       run-42\n")
	require.Contains(t, text, "files:     1\n")
	require.Contains(t, text, "Alert ID:  data_loss/raw/spotify/streams\n")
	require.Contains(t, text, "- Data docs: http://bedrot.local/docs/raw/spotify/streams?a=1&b=2\n")

	html := pm.parts["text/html; charset=utf-8"]
	require.Contains(t, html, "<!DOCTYPE html>")
	require.Contains(t, html, "Prüfsumme stimmt nicht: &lt;script&gt;alert(1)&lt;/script&gt;")
	require.NotContains(t, html, "<script>")
	require.Contains(t, html, "border-left:6px solid #D00000")
	require.Contains(t, html, "manifest sha256 ab12 &lt;&gt; storage sha256 cd34 &amp; more")
	require.Contains(t, html, `<a href="http://bedrot.local/docs/raw/spotify/streams?a=1&amp;b=2">Data docs</a>`)
	require.Contains(t, html, "<th style=\"text-align:left;padding:2px 12px 2px 0\">Dataset</th><td style=\"padding:2px 0\">raw/spotify/streams</td>")
}

func TestEmailResolvedKeepsTheThread(t *testing.T) {
	t.Parallel()
	f := newFakeSMTP(t, nil)
	e, err := notify.NewEmail(emailConfig(f))
	require.NoError(t, err)
	a := sampleAlert()
	require.NoError(t, e.Notify(context.Background(), a))
	a.State = notify.Resolved
	require.NoError(t, e.Notify(context.Background(), a))
	msgs := f.Messages()
	require.Len(t, msgs, 2)
	first, second := parseMail(t, msgs[0].Data).header, parseMail(t, msgs[1].Data).header
	require.Equal(t, first.Get("References"), second.Get("References"))
	require.NotEqual(t, first.Get("Message-ID"), second.Get("Message-ID"))
	require.Equal(t, "resolved", second.Get("X-Bedrot-State"))
	require.Empty(t, second.Get("Importance"))
	subject, err := new(mime.WordDecoder).DecodeHeader(second.Get("Subject"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(subject, "[BEDROT] [CRITICAL] RESOLVED: "), subject)
}

func TestEmailAuthPlainOnLoopback(t *testing.T) {
	t.Parallel()
	f := newFakeSMTP(t, func(f *fakeSMTP) { f.authMechs = "PLAIN LOGIN" })
	cfg := emailConfig(f)
	cfg.Username, cfg.Password = "alerts", smtpPassword
	e, err := notify.NewEmail(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Notify(context.Background(), sampleAlert()))
	m := f.Messages()[0]
	require.Equal(t, "PLAIN", m.AuthMech)
	require.Equal(t, "alerts", m.AuthUser)
	require.Equal(t, smtpPassword, m.AuthPass)
}

func TestEmailAuthLogin(t *testing.T) {
	t.Parallel()
	f := newFakeSMTP(t, func(f *fakeSMTP) { f.authMechs = "LOGIN" })
	cfg := emailConfig(f)
	cfg.Username, cfg.Password = "alerts", smtpPassword
	e, err := notify.NewEmail(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Notify(context.Background(), sampleAlert()))
	m := f.Messages()[0]
	require.Equal(t, "LOGIN", m.AuthMech)
	require.Equal(t, smtpPassword, m.AuthPass)
}

func TestEmailStartTLSWhenOfferedThenAuth(t *testing.T) {
	t.Parallel()
	serverTLS, caPEM := selfSigned(t)
	f := newFakeSMTP(t, func(f *fakeSMTP) { f.tls, f.authMechs = serverTLS, "PLAIN" })
	cfg := emailConfig(f)
	cfg.TLS = "" // auto
	cfg.CA = caPEM
	cfg.Username, cfg.Password = "alerts", smtpPassword
	e, err := notify.NewEmail(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Notify(context.Background(), sampleAlert()))
	m := f.Messages()[0]
	require.True(t, m.TLS, "the message went over the upgraded connection")
	require.Equal(t, smtpPassword, m.AuthPass)
	var verbs []string
	for _, c := range m.Commands {
		verbs = append(verbs, strings.ToUpper(strings.Fields(c)[0]))
	}
	require.Equal(t, []string{"EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "DATA"}, verbs[:8],
		"STARTTLS before AUTH, EHLO again after it")
}

func TestEmailUntrustedCertificateIsAConfigProblem(t *testing.T) {
	t.Parallel()
	serverTLS, _ := selfSigned(t)
	f := newFakeSMTP(t, func(f *fakeSMTP) { f.tls = serverTLS })
	cfg := emailConfig(f)
	cfg.TLS = notify.TLSStartTLS
	e, err := notify.NewEmail(cfg)
	require.NoError(t, err)
	err = e.Notify(context.Background(), sampleAlert())
	require.ErrorContains(t, err, "certificate that is not trusted")
	require.ErrorContains(t, err, "set ca")
	require.False(t, notify.IsRetryable(err))
	require.Empty(t, f.Messages())
}

func TestEmailRequiredStartTLSMissing(t *testing.T) {
	t.Parallel()
	f := newFakeSMTP(t, nil)
	cfg := emailConfig(f)
	cfg.TLS = notify.TLSStartTLS
	e, err := notify.NewEmail(cfg)
	require.NoError(t, err)
	err = e.Notify(context.Background(), sampleAlert())
	require.ErrorContains(t, err, "does not offer STARTTLS")
	require.False(t, notify.IsRetryable(err))
	require.Empty(t, f.Messages())
}

func TestEmailRefusals(t *testing.T) {
	t.Parallel()
	t.Run("temporary 4xx is retryable and retried", func(t *testing.T) {
		t.Parallel()
		f := newFakeSMTP(t, func(f *fakeSMTP) { f.fail["RCPT"] = []string{"451 4.7.1 greylisted, try again later"} })
		e, err := notify.NewEmail(emailConfig(f))
		require.NoError(t, err)
		err = e.Notify(context.Background(), sampleAlert())
		require.ErrorContains(t, err, "refused the alert at RCPT TO <data-team@label.example>: 451 4.7.1 greylisted")
		require.ErrorContains(t, err, "451 4.7.1 greylisted")
		require.True(t, notify.IsRetryable(err))

		r := notify.WithRetry(e, notify.RetryConfig{Attempts: 2, Backoff: time.Millisecond})
		f.failNext("RCPT", "451 4.7.1 greylisted")
		require.NoError(t, r.Notify(context.Background(), sampleAlert()))
		require.Len(t, f.Messages(), 1)
	})
	t.Run("permanent 5xx is not retryable", func(t *testing.T) {
		t.Parallel()
		f := newFakeSMTP(t, func(f *fakeSMTP) { f.fail["MAIL"] = []string{"550 5.7.1 sender rejected"} })
		e, err := notify.NewEmail(emailConfig(f))
		require.NoError(t, err)
		err = e.Notify(context.Background(), sampleAlert())
		require.ErrorContains(t, err, "at MAIL FROM: 550 5.7.1 sender rejected")
		require.False(t, notify.IsRetryable(err))
	})
	t.Run("bad password is named and not echoed", func(t *testing.T) {
		t.Parallel()
		f := newFakeSMTP(t, func(f *fakeSMTP) { f.authMechs, f.wantPass = "PLAIN", "the-right-one" })
		cfg := emailConfig(f)
		cfg.Username, cfg.Password = "alerts", smtpPassword
		e, err := notify.NewEmail(cfg)
		require.NoError(t, err)
		err = e.Notify(context.Background(), sampleAlert())
		require.ErrorContains(t, err, "535 5.7.8 authentication failed")
		require.ErrorContains(t, err, "check the e-mail username and password")
		require.NotContains(t, err.Error(), "SENTINEL")
		require.False(t, notify.IsRetryable(err))
	})
	t.Run("nobody listening is retryable", func(t *testing.T) {
		t.Parallel()
		f := newFakeSMTP(t, nil)
		cfg := emailConfig(f)
		require.NoError(t, f.ln.Close())
		e, err := notify.NewEmail(cfg)
		require.NoError(t, err)
		err = e.Notify(context.Background(), sampleAlert())
		require.ErrorContains(t, err, "could not be used at connecting")
		require.True(t, notify.IsRetryable(err))
	})
}

func TestEmailConfigValidation(t *testing.T) {
	t.Parallel()
	_, err := notify.NewEmail(notify.EmailConfig{TLS: "maybe", Password: smtpPassword, From: "not an address", To: []string{"ok@x.example", "@@"}})
	require.ErrorContains(t, err, `tls "maybe" is not one of`)
	require.ErrorContains(t, err, "host is not set")
	require.ErrorContains(t, err, "password is set but username is not")
	require.ErrorContains(t, err, `from "not an address"`)
	require.ErrorContains(t, err, `to[1] "@@"`)
	require.NotContains(t, err.Error(), "SENTINEL")
	_, err = notify.NewEmail(notify.EmailConfig{Host: "h", From: "a@b.example", CA: "not pem"})
	require.ErrorContains(t, err, "to lists no recipients")
	require.ErrorContains(t, err, "ca holds no PEM certificate")
}
