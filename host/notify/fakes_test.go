package notify_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/notify"
)

// sampleAlert is a firing critical alert with every field set.
func sampleAlert() notify.Alert {
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	return notify.Alert{
		ID:        "data_loss/raw/spotify/streams",
		Kind:      "data_loss",
		Severity:  notify.Critical,
		State:     notify.Firing,
		Title:     "Checksum mismatch in raw/spotify/streams",
		Detail:    "part-0001.parquet: manifest sha256 ab12 <> storage sha256 cd34 & more",
		Source:    "spotify",
		Dataset:   "raw/spotify/streams",
		RunID:     "run-42",
		StartedAt: start,
		UpdatedAt: start.Add(5 * time.Minute),
		Links: []notify.Link{
			{Name: "Run", URL: "http://bedrot.local/runs/run-42"},
			{Name: "Data docs", URL: "http://bedrot.local/docs/raw/spotify/streams?a=1&b=2"},
		},
		Details: map[string]string{"files": "1"},
	}
}

// hit is one request a fake HTTP server received.
type hit struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// fakeHTTP records requests and answers with the scripted replies in
// order, then with the last one again.
type fakeHTTP struct {
	*httptest.Server
	mu      sync.Mutex
	hits    []hit
	replies []reply
	release chan struct{}
}

type reply struct {
	status int
	body   string
	header map[string]string
	hang   bool // wait until the client gives up
}

func newFakeHTTP(t *testing.T, replies ...reply) *fakeHTTP {
	t.Helper()
	if len(replies) == 0 {
		replies = []reply{{status: http.StatusOK, body: "ok"}}
	}
	f := &fakeHTTP{replies: replies, release: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hits = append(f.hits, hit{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
		rep := f.replies[min(len(f.hits), len(f.replies))-1]
		f.mu.Unlock()
		if rep.hang {
			select {
			case <-r.Context().Done():
			case <-f.release:
			}
			return
		}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(func() {
		close(f.release)
		f.Close()
	})
	return f
}

// setReplies replaces the scripted replies.
func (f *fakeHTTP) setReplies(replies ...reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies = replies
}

func (f *fakeHTTP) Hits() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// smtpMessage is one message the fake SMTP server accepted.
type smtpMessage struct {
	From     string
	To       []string
	Data     string
	TLS      bool
	AuthUser string
	AuthPass string
	AuthMech string
	Commands []string
}

// fakeSMTP is a tiny SMTP server on a loopback listener: EHLO/HELO,
// STARTTLS (when tls is set), AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET,
// NOOP, QUIT. fail scripts refusals: the first reply for a verb is popped
// each time the verb is seen.
type fakeSMTP struct {
	ln        net.Listener
	tls       *tls.Config
	authMechs string // advertised AUTH mechanisms; "" = no AUTH
	wantPass  string // when set, AUTH with another password gets 535

	mu            sync.Mutex
	fail          map[string][]string
	msgs          []smtpMessage
	conversations [][]string // every command of every connection, in order
	wg            sync.WaitGroup
}

func newFakeSMTP(t *testing.T, configure func(*fakeSMTP)) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeSMTP{ln: ln, fail: map[string][]string{}}
	if configure != nil {
		configure(f)
	}
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() { f.serve(c) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeSMTP) Port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *fakeSMTP) Messages() []smtpMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]smtpMessage(nil), f.msgs...)
}

func (f *fakeSMTP) Conversations() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([][]string, len(f.conversations))
	for i, c := range f.conversations {
		out[i] = append([]string(nil), c...)
	}
	return out
}

func (f *fakeSMTP) failNext(verb string, replies ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[verb] = append(f.fail[verb], replies...)
}

func (f *fakeSMTP) failure(verb string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.fail[verb]
	if len(q) == 0 {
		return ""
	}
	f.fail[verb] = q[1:]
	return q[0]
}

func (f *fakeSMTP) serve(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a stuck client cannot hang the test
	tp := textproto.NewConn(conn)
	reply := func(lines ...string) bool {
		for _, l := range lines {
			if err := tp.PrintfLine("%s", l); err != nil {
				return false
			}
		}
		return true
	}
	var cur smtpMessage
	f.mu.Lock()
	conv := len(f.conversations)
	f.conversations = append(f.conversations, nil)
	f.mu.Unlock()
	if !reply("220 fake.test ESMTP ready") {
		return
	}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cur.Commands = append(cur.Commands, line)
		f.mu.Lock() // recorded before the reply, so a client that got it sees the line
		f.conversations[conv] = append(f.conversations[conv], line)
		f.mu.Unlock()
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if refusal := f.failure(verb); refusal != "" {
			reply(refusal)
			continue
		}
		switch verb {
		case "EHLO":
			lines := []string{"250-fake.test greets " + arg}
			if f.tls != nil && !cur.TLS {
				lines = append(lines, "250-STARTTLS")
			}
			if f.authMechs != "" {
				lines = append(lines, "250-AUTH "+f.authMechs)
			}
			reply(append(lines, "250 8BITMIME")...)
		case "HELO", "NOOP":
			reply("250 ok")
		case "RSET":
			cur.From, cur.To = "", nil
			reply("250 ok")
		case "STARTTLS":
			if f.tls == nil {
				reply("502 not offered")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(conn, f.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn = tc
			tp = textproto.NewConn(tc)
			cur = smtpMessage{TLS: true, Commands: cur.Commands}
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			var user, pass string
			switch strings.ToUpper(mech) {
			case "PLAIN":
				raw, err := base64.StdEncoding.DecodeString(initial)
				if err != nil {
					reply("501 bad base64")
					continue
				}
				parts := strings.Split(string(raw), "\x00")
				if len(parts) != 3 {
					reply("501 bad PLAIN")
					continue
				}
				user, pass = parts[1], parts[2]
			case "LOGIN":
				ask := func(prompt string) (string, bool) {
					if !reply("334 " + base64.StdEncoding.EncodeToString([]byte(prompt))) {
						return "", false
					}
					l, err := tp.ReadLine()
					if err != nil {
						return "", false
					}
					v, err := base64.StdEncoding.DecodeString(l)
					return string(v), err == nil
				}
				var ok bool
				if user, ok = ask("Username:"); !ok {
					return
				}
				if pass, ok = ask("Password:"); !ok {
					return
				}
			default:
				reply("504 unrecognised mechanism")
				continue
			}
			if f.wantPass != "" && pass != f.wantPass {
				reply("535 5.7.8 authentication failed for " + user + " with password " + pass)
				continue
			}
			cur.AuthUser, cur.AuthPass, cur.AuthMech = user, pass, strings.ToUpper(mech)
			reply("235 2.7.0 authenticated")
		case "MAIL":
			cur.From = strings.TrimSuffix(strings.TrimPrefix(strings.Fields(arg)[0], "FROM:<"), ">")
			reply("250 ok")
		case "RCPT":
			cur.To = append(cur.To, strings.TrimSuffix(strings.TrimPrefix(arg, "TO:<"), ">"))
			reply("250 ok")
		case "DATA":
			if !reply("354 end with <CRLF>.<CRLF>") {
				return
			}
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.Data = string(data)
			f.mu.Lock()
			f.msgs = append(f.msgs, cur)
			f.mu.Unlock()
			cur = smtpMessage{TLS: cur.TLS, AuthUser: cur.AuthUser, AuthPass: cur.AuthPass, AuthMech: cur.AuthMech}
			reply("250 2.0.0 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("500 unknown command")
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and returns the server TLS
// config and the certificate as PEM (for the client's ca).
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// readerOf is a convenience for parsing messages.
func readerOf(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
