// Package apiauth guards bedrot's HTTP APIs — the daemon's /api/v1 and
// `bedrot mcp --http` — with what an API reachable from a browser or a
// network needs:
//
//   - a bearer token, when one is configured (daemon.api_token,
//     agents.mcp_token): a request without "Authorization: Bearer <token>"
//     is answered 401;
//   - cross-origin browser requests refused (net/http's
//     CrossOriginProtection), so a web page cannot make the browser trigger
//     runs or call tools;
//   - on a loopback listener without a token, requests naming another host
//     refused, so a web page cannot reach it through DNS rebinding (a
//     token stops that too: a browser does not send it; so behind a proxy
//     that passes its own host name on, set one).
//
// An API listening beyond loopback must have a token: CheckExposure says so
// before the server starts.
package apiauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Guard returns h behind the protections of the package comment: token
// (none when empty) and, when loopback (the server listens on a loopback
// address only) and there is no token, the Host check. Refusals are JSON:
// {"error": "..."}.
func Guard(h http.Handler, token string, loopback bool) http.Handler {
	cop := http.NewCrossOriginProtection()
	var want [sha256.Size]byte
	if token != "" {
		want = sha256.Sum256([]byte(token))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loopback && token == "" && !IsLoopbackHost(r.Host) {
			refuse(w, http.StatusForbidden, fmt.Sprintf("this API listens on loopback without a token and refuses requests for host %q "+
				"(behind a proxy that passes that name on, give the API a token)", r.Host))
			return
		}
		if err := cop.Check(r); err != nil {
			refuse(w, http.StatusForbidden, "cross-origin requests are refused")
			return
		}
		if token != "" {
			got, ok := bearer(r)
			// Comparing digests takes the same time whatever the token's
			// length and content.
			if sum := sha256.Sum256([]byte(got)); !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bedrot"`)
				refuse(w, http.StatusUnauthorized, "this API requires its token: send it as the header Authorization: Bearer <token>")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// bearer returns the request's bearer token.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// IsLoopback reports whether addr, a listener's address, is reachable from
// this machine only.
func IsLoopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsLoopbackHost reports whether a request's Host (name or address, with or
// without a port) names this machine.
func IsLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckExposure returns an error when a server listening on addr would be
// reachable beyond this machine without a token. what names the server and
// setting how to give it a token, for the message.
func CheckExposure(addr net.Addr, token, what, setting string) error {
	if token != "" || IsLoopback(addr) {
		return nil
	}
	return fmt.Errorf("%s listens on %s, beyond this machine, without a token: set %s, which clients then send as a bearer token, or listen on 127.0.0.1", what, addr, setting)
}
