package notify

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryWaitIsExponentialJitteredAndBounded(t *testing.T) {
	t.Parallel()
	c := RetryConfig{Attempts: 10, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}.withDefaults()
	for n := 1; n <= 10; n++ {
		full := min(c.Backoff<<(n-1), c.MaxBackoff)
		for range 50 {
			w := c.wait(n, nil)
			require.GreaterOrEqual(t, w, full/2, "attempt %d", n)
			require.LessOrEqual(t, w, full, "attempt %d", n)
		}
	}
	asked := &deliveryError{retryable: true, retryAfter: 700 * time.Millisecond}
	require.Equal(t, 700*time.Millisecond, c.wait(1, asked), "Retry-After longer than the backoff wins")
	asked.retryAfter = time.Hour
	require.Equal(t, time.Second, c.wait(1, asked), "but never beyond max_backoff")
}

func TestRetryDefaults(t *testing.T) {
	t.Parallel()
	require.Equal(t, RetryConfig{Attempts: 3, Backoff: 2 * time.Second, MaxBackoff: 30 * time.Second}, RetryConfig{}.withDefaults())
	require.Equal(t, MaxAttempts, RetryConfig{Attempts: 99}.withDefaults().Attempts)
	require.Equal(t, 5*time.Minute, RetryConfig{Backoff: 5 * time.Minute}.withDefaults().MaxBackoff, "max_backoff is at least backoff")
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	require.Equal(t, 7*time.Second, parseRetryAfter("7"))
	require.Zero(t, parseRetryAfter(""))
	require.Zero(t, parseRetryAfter("soon"))
	d := parseRetryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat))
	require.Greater(t, d, 50*time.Second)
	require.LessOrEqual(t, d, time.Minute)
}

func TestRedactorScrubsURLParts(t *testing.T) {
	t.Parallel()
	var r redactor
	r.addURL("https://user:pa55word@hooks.example.com/services/T01/B02/abcdefTOKEN?key=qwerty12")
	got := r.String("a https://user:pa55word@hooks.example.com/services/T01/B02/abcdefTOKEN?key=qwerty12 b abcdefTOKEN c qwerty12 d pa55word")
	require.Equal(t, "a [redacted] b [redacted] c [redacted] d [redacted]", got)
	var bare redactor
	bare.addURL("https://events.pagerduty.com")
	require.Equal(t, "to https://events.pagerduty.com", bare.String("to https://events.pagerduty.com"), "a bare host names the endpoint")
	require.Equal(t, "https://hooks.example.com", endpointName("https://u:p@hooks.example.com/services/x?y=z"))
}

func TestSummaryAndTruncate(t *testing.T) {
	t.Parallel()
	a := Alert{Severity: High, State: Acknowledged, Title: "Run\nfailed  after\tretries", Dataset: "raw/x"}
	require.Equal(t, "[HIGH] ACKNOWLEDGED: Run failed after retries (raw/x)", a.summary())
	require.Equal(t, "abcd…", truncate("abcdefgh", 5))
	require.Equal(t, "abc", truncate("abc", 5))
}
