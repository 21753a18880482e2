package lineage_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/lineage"
	"github.com/bedrot-label/bedrot/host/lineage/lineagetest"
)

const apiKey = "olk_live_7f3c9a2b1d"

func event(t *testing.T) *lineage.RunEvent {
	t.Helper()
	namer, err := lineage.NewNamer("/srv/lake")
	require.NoError(t, err)
	ev, err := lineage.NewBuilder(lineage.Config{Namer: namer}).Finish(runs(t)["build"])
	require.NoError(t, err)
	return ev
}

func TestHTTPEmitterSends(t *testing.T) {
	t.Parallel()
	var got []byte
	var hdr http.Header
	var method, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, path, hdr = r.Method, r.URL.Path, r.Header.Clone()
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()

	em, err := lineage.NewHTTPEmitter(lineage.HTTPConfig{URL: srv.URL + "/marquez", APIKey: apiKey})
	require.NoError(t, err)
	ev := event(t)
	require.NoError(t, em.Emit(context.Background(), ev))

	require.Equal(t, http.MethodPost, method)
	require.Equal(t, "/marquez/api/v1/lineage", path)
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
	require.Equal(t, "Bearer "+apiKey, hdr.Get("Authorization"))
	require.NoError(t, lineagetest.Validate(got))
	var back lineage.RunEvent
	require.NoError(t, json.Unmarshal(got, &back))
	require.Equal(t, *ev, back)
}

func TestHTTPEmitterNoKeyNoHeader(t *testing.T) {
	t.Parallel()
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	em, err := lineage.NewHTTPEmitter(lineage.HTTPConfig{URL: srv.URL, Endpoint: "api/v1/openlineage/lineage"})
	require.NoError(t, err)
	require.NoError(t, em.Emit(context.Background(), event(t)))
	require.Equal(t, "", auth.Load())
}

func TestHTTPEmitterRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	em, err := lineage.NewHTTPEmitter(lineage.HTTPConfig{URL: srv.URL, Retries: 2, Backoff: time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, em.Emit(context.Background(), event(t)))
	require.Equal(t, int32(3), calls.Load())
}

func TestHTTPEmitterGivesUpAndHidesKey(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	// A careless server that echoes the request headers in its error body.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "boom; you sent Authorization: "+r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	em, err := lineage.NewHTTPEmitter(lineage.HTTPConfig{URL: srv.URL, APIKey: apiKey, Retries: 2, Backoff: time.Millisecond})
	require.NoError(t, err)
	err = em.Emit(context.Background(), event(t))
	require.Error(t, err)
	require.Equal(t, int32(3), calls.Load(), "bounded: one try and two retries")
	require.Contains(t, err.Error(), "HTTP 500")
	require.Contains(t, err.Error(), "3 attempt(s)")
	require.Contains(t, err.Error(), "boom")
	require.NotContains(t, err.Error(), apiKey)
}

func TestHTTPEmitterDoesNotRetryClientErrors(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]string{
		http.StatusBadRequest:   "HTTP 400",
		http.StatusUnauthorized: "check the API key",
		http.StatusForbidden:    "check the API key",
	} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.WriteHeader(status)
		}))
		em, err := lineage.NewHTTPEmitter(lineage.HTTPConfig{URL: srv.URL, APIKey: apiKey, Backoff: time.Millisecond})
		require.NoError(t, err)
		err = em.Emit(context.Background(), event(t))
		srv.Close()
		require.ErrorContains(t, err, want)
		require.NotContains(t, err.Error(), apiKey)
		require.Equal(t, int32(1), calls.Load(), "%d is not retried", status)
	}
}

func TestHTTPEmitterTimeoutAndUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Never answers in time. (Reading the body lets the server notice
		// the client hanging up.)
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	em, err := lineage.NewHTTPEmitter(lineage.HTTPConfig{URL: srv.URL, Timeout: 50 * time.Millisecond, Retries: -1})
	require.NoError(t, err)
	start := time.Now()
	err = em.Emit(context.Background(), event(t))
	require.ErrorContains(t, err, "1 attempt(s)")
	require.ErrorContains(t, err, "deadline exceeded")
	require.Less(t, time.Since(start), 5*time.Second)

	// A password in the URL stays out of errors too.
	dead := httptest.NewServer(http.NotFoundHandler())
	u := strings.Replace(dead.URL, "http://", "http://ol:hunter2@", 1)
	dead.Close()
	em, err = lineage.NewHTTPEmitter(lineage.HTTPConfig{URL: u, APIKey: apiKey, Retries: 1, Backoff: time.Millisecond})
	require.NoError(t, err)
	err = em.Emit(context.Background(), event(t))
	require.ErrorContains(t, err, "2 attempt(s)")
	require.NotContains(t, err.Error(), "hunter2")
	require.NotContains(t, err.Error(), apiKey)
}

func TestHTTPEmitterStopsOnCancel(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	em, err := lineage.NewHTTPEmitter(lineage.HTTPConfig{URL: srv.URL, Retries: 5, Backoff: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = em.Emit(ctx, event(t))
	require.ErrorContains(t, err, "gave up before retrying")
}

func TestHTTPEmitterConfig(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "marquez:5000", "ftp://x", "http://"} {
		_, err := lineage.NewHTTPEmitter(lineage.HTTPConfig{URL: u})
		require.Error(t, err, u)
	}
}
