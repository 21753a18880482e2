package displayapi

import (
	"context"
	"sync"
	"time"
)

// limiter is a token bucket sized so that no sliding one-minute window holds
// more than perMinute requests: a burst of perMinute/20 (at least one)
// followed by a steady refill of the remainder over the minute. Each call to
// wait reserves a token, possibly going into debt, and sleeps off the debt;
// the reservation does not depend on the clock moving during the sleep, so
// a fake Sleep that only records is enough in tests.
type limiter struct {
	mu     sync.Mutex
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	burst  float64
	rate   float64 // tokens per second
	tokens float64
	last   time.Time
}

// newLimiter returns a full bucket for perMinute requests a minute.
func newLimiter(perMinute int, now func() time.Time, sleep func(context.Context, time.Duration) error) *limiter {
	burst := max(1, perMinute/20)
	refill := max(1, perMinute-burst)
	return &limiter{
		now:    now,
		sleep:  sleep,
		burst:  float64(burst),
		rate:   float64(refill) / 60,
		tokens: float64(burst),
		last:   now(),
	}
}

// wait takes one token, sleeping until it is available.
func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := l.now()
	if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = min(l.burst, l.tokens+elapsed.Seconds()*l.rate)
		l.last = now
	}
	l.tokens--
	var d time.Duration
	if l.tokens < 0 {
		d = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if d <= 0 {
		return ctx.Err()
	}
	if err := l.sleep(ctx, d); err != nil {
		l.mu.Lock()
		l.tokens++ // the request is not sent: give the reservation back
		l.mu.Unlock()
		return err
	}
	return nil
}
