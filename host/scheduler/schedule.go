package scheduler

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// schedule gives a source's scheduled times.
type schedule interface {
	Next(time.Time) time.Time
}

// cronParser takes five fields, six with seconds first, and descriptors
// (@hourly, @daily, ...).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseSchedule parses a cron expression, a descriptor or "@every <d>".
// "@every" schedules are anchored to the clock (every 15m runs at :00,
// :15, ...), unlike robfig/cron's, so that every daemon computes the same
// ticks.
func parseSchedule(spec, tz string) (schedule, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("time zone %q: %w", tz, err)
		}
		loc = l
	}
	spec = strings.TrimSpace(spec)
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", spec, err)
		}
		if d < time.Second {
			return nil, fmt.Errorf("%q: the shortest interval is 1s", spec)
		}
		return every{d: d, loc: loc}, nil
	}
	if !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
		spec = "CRON_TZ=" + loc.String() + " " + spec
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%q is not a cron expression (e.g. \"0 6 * * *\", \"@daily\", \"@every 15m\"): %w", spec, err)
	}
	return sched, nil
}

// every is a clock-anchored interval.
type every struct {
	d   time.Duration
	loc *time.Location
}

// Next returns the first multiple of d (counted from midnight of the
// schedule's time zone when d divides a day, else from the Unix epoch)
// after t.
func (e every) Next(t time.Time) time.Time {
	var base time.Time
	if (24*time.Hour)%e.d == 0 {
		lt := t.In(e.loc)
		base = time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, e.loc)
	} else {
		base = time.Unix(0, 0)
	}
	n := t.Sub(base)/e.d + 1
	return base.Add(n * e.d)
}

// prevTick returns the newest tick at or before now, or zero if there is
// none in the last year.
func prevTick(s schedule, now time.Time) time.Time {
	for back := time.Minute; back <= 366*24*time.Hour; back *= 4 {
		t := s.Next(now.Add(-back))
		if t.IsZero() || t.After(now) {
			continue
		}
		for n := s.Next(t); !n.IsZero() && !n.After(now); n = s.Next(t) {
			t = n
		}
		return t
	}
	return time.Time{}
}
