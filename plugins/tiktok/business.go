package tiktok

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/plugins/tiktok/displayapi"
	"github.com/bedrot-label/bedrot/sdk"
)

// businessEndpoint is the account endpoint of the Accounts API, relative to
// business_base_url.
const businessEndpoint = "/open_api/v1.3/business/get/"

// Accounts API response codes (sources.md §3.7). 40100 is documented as
// the throttling code; the token and permission codes are the Business
// API's usual ones.
const (
	bizCodeOK           = 0
	bizCodeNoPermission = 40001
	bizCodeRateLimited  = 40100
)

// bizTokenCodes are the codes for a missing, expired or revoked access
// token.
var bizTokenCodes = map[int]bool{40102: true, 40104: true, 40105: true}

// Business metrics timing (sources.md §3.7): days settle 24–48 h after they
// end, and the API serves at most 60 days back.
const (
	metricsLatency = 48 * time.Hour
	// lookbackDays is how many days back the first run reads, today
	// excluded, one day inside TikTok's 60-day limit so that a run at
	// midnight does not ask for a day that just fell out of it.
	lookbackDays = 59
	// bizRateLimitWindow is when a throttled Accounts API answer is
	// expected to clear (its limits count per minute).
	bizRateLimitWindow = time.Minute
)

// businessFields are requested from /business/get/: the daily metrics of
// the stream and audience_activity.
var businessFields = append(append([]string(nil), businessMetricNames...), "audience_activity")

// businessClient calls /business/get/ with retries.
type businessClient struct {
	baseURL, businessID, token string
	http                       *http.Client
	maxRetries                 int
	sleep                      func(context.Context, time.Duration) error
	now                        func() time.Time
	logf                       func(msg string, kv ...any)
}

// businessClient returns the Accounts API client for c; logs go to out when
// it is not nil.
func (s *Source) businessClient(c config, out sdk.Emitter) *businessClient {
	bc := &businessClient{
		baseURL: c.businessBaseURL, businessID: c.businessID, token: c.businessToken,
		http: s.httpClient(), maxRetries: s.maxRetries, sleep: s.sleep, now: s.now,
		logf: func(string, ...any) {},
	}
	if bc.maxRetries == 0 {
		bc.maxRetries = displayapi.DefaultMaxRetries
	}
	if bc.maxRetries < 0 {
		bc.maxRetries = 0
	}
	if bc.sleep == nil {
		bc.sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	if out != nil {
		bc.logf = logf(out)
	}
	return bc
}

// businessEnvelope is the body of every Accounts API answer.
type businessEnvelope struct {
	Code      *int            `json:"code"`
	Message   string          `json:"message"`
	RequestID string          `json:"request_id"`
	Data      json.RawMessage `json:"data"`
}

// get calls /business/get/ with fields and, when start is set, the date
// range start..end (YYYY-MM-DD, inclusive). It returns the envelope's data
// and the answered exchange.
func (b *businessClient) get(ctx context.Context, fields []string, start, end string) (json.RawMessage, displayapi.Exchange, error) {
	f, err := json.Marshal(fields)
	if err != nil {
		return nil, displayapi.Exchange{}, fmt.Errorf("failed to encode the Accounts API fields: %w", err)
	}
	q := url.Values{"business_id": {b.businessID}, "fields": {string(f)}}
	params := map[string]any{"business_id": b.businessID, "fields": string(f)}
	if start != "" {
		q.Set("start_date", start)
		q.Set("end_date", end)
		params["start_date"], params["end_date"] = start, end
	}
	ex := displayapi.Exchange{Method: http.MethodGet, URL: b.baseURL + businessEndpoint + "?" + q.Encode(), Params: params}
	for retries := 0; ; retries++ {
		data, answered, retry, err := b.attempt(ctx, ex)
		if err == nil {
			return data, answered, nil
		}
		if !retry {
			return nil, displayapi.Exchange{}, err
		}
		if retries >= b.maxRetries {
			if errors.Is(err, errBizThrottled) {
				return nil, displayapi.Exchange{}, sdk.RateLimited(fmt.Errorf("TikTok kept throttling the Accounts API (code 40100) after %d retries: %w", retries, err), b.now().Add(bizRateLimitWindow))
			}
			return nil, displayapi.Exchange{}, sdk.Transient(fmt.Errorf("the TikTok Accounts API kept failing after %d retries: %w", retries, err))
		}
		d := displayapi.Backoff(retries)
		b.logf("retrying TikTok Accounts API request", "retry", retries+1, "delay", d, "reason", err.Error())
		if err := b.sleep(ctx, d); err != nil {
			return nil, displayapi.Exchange{}, fmt.Errorf("failed to wait before retrying the TikTok Accounts API: %w", err)
		}
	}
}

// errBizThrottled marks a throttled Accounts API answer.
var errBizThrottled = errors.New("throttled")

// attempt sends one request and classifies the answer: the data, or an
// error and whether retrying may help.
func (b *businessClient) attempt(ctx context.Context, ex displayapi.Exchange) (json.RawMessage, displayapi.Exchange, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ex.URL, nil)
	if err != nil {
		return nil, ex, false, fmt.Errorf("failed to build the TikTok Accounts API request: %w", err)
	}
	req.Header.Set("Access-Token", b.token)
	resp, err := b.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ex, false, fmt.Errorf("failed to call the TikTok Accounts API: %w", ctx.Err())
		}
		return nil, ex, true, fmt.Errorf("failed to call the TikTok Accounts API: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ex, false, fmt.Errorf("failed to read the TikTok Accounts API answer: %w", ctx.Err())
		}
		return nil, ex, true, fmt.Errorf("failed to read the TikTok Accounts API answer: %w", err)
	}
	ex.Status, ex.ReceivedAt, ex.Body = resp.StatusCode, b.now().UTC(), raw
	var env businessEnvelope
	decodeErr := json.Unmarshal(raw, &env)
	if decodeErr == nil && env.Code == nil {
		decodeErr = errors.New("the answer has no code")
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || (decodeErr == nil && *env.Code == bizCodeRateLimited):
		return nil, ex, true, fmt.Errorf("TikTok Accounts API answered HTTP %d, code %d: %s (request_id %s): %w", resp.StatusCode, bizCodeRateLimited, env.Message, env.RequestID, errBizThrottled)
	case resp.StatusCode >= 500:
		return nil, ex, true, fmt.Errorf("TikTok Accounts API answered HTTP %d (%d bytes)", resp.StatusCode, len(raw))
	case resp.StatusCode == http.StatusNotFound && decodeErr != nil:
		return nil, ex, false, sdk.ConfigError(fmt.Errorf("there is no TikTok Accounts API at %s (HTTP 404); check %s", b.baseURL, ParamBusinessBaseURL))
	case decodeErr != nil && resp.StatusCode == http.StatusOK:
		return nil, ex, true, fmt.Errorf("TikTok Accounts API answered HTTP 200 with a body that is not a valid answer (%d bytes): %w", len(raw), decodeErr)
	case decodeErr != nil:
		return nil, ex, false, fmt.Errorf("TikTok Accounts API answered HTTP %d with a body that is not a valid answer (%d bytes): %w", resp.StatusCode, len(raw), decodeErr)
	case bizTokenCodes[*env.Code] || resp.StatusCode == http.StatusUnauthorized:
		return nil, ex, false, sdk.ConfigError(fmt.Errorf("TikTok rejected business_access_token (code %d: %s); create a new Accounts API access token for the business account and set %s",
			*env.Code, env.Message, ParamBusinessAccessToken))
	case *env.Code == bizCodeNoPermission || resp.StatusCode == http.StatusForbidden:
		return nil, ex, false, sdk.ConfigError(fmt.Errorf("TikTok refused the Accounts API request for business_id %s (code %d: %s); check %s and that the authorisation grants the user.insights scope",
			b.businessID, *env.Code, env.Message, ParamBusinessID))
	case *env.Code != bizCodeOK || resp.StatusCode != http.StatusOK:
		return nil, ex, false, fmt.Errorf("TikTok Accounts API answered HTTP %d, code %d: %s (request_id %s)", resp.StatusCode, *env.Code, env.Message, env.RequestID)
	}
	return env.Data, ex, false, nil
}

// businessState is the checkpoint of the business_metrics stream.
type businessState struct {
	// LastDate is the last day emitted (YYYY-MM-DD); later runs emit only
	// days after it.
	LastDate string `json:"last_date"`
}

// businessRow is one decoded metrics entry.
type businessRow struct {
	date     time.Time
	metrics  []*int64 // in businessMetricNames order
	activity *string
}

// readBusiness emits the settled days after the state's last day, as one
// payload, and checkpoints the last day emitted.
func (s *Source) readBusiness(ctx context.Context, c config, raw []byte, now time.Time, out sdk.Emitter) error {
	var st businessState
	var last time.Time
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &st); err != nil {
			return stateError(StreamBusinessMetrics, err)
		}
		d, err := time.Parse(time.DateOnly, st.LastDate)
		if err != nil {
			return stateError(StreamBusinessMetrics, fmt.Errorf("last_date %q: %w", st.LastDate, err))
		}
		last = d
	}
	today := now.UTC().Truncate(24 * time.Hour)
	lastSettled := now.UTC().Add(-metricsLatency).Truncate(24*time.Hour).AddDate(0, 0, -1)
	earliest := today.AddDate(0, 0, -lookbackDays)
	start := earliest
	if !last.IsZero() {
		if next := last.AddDate(0, 0, 1); next.After(earliest) {
			start = next
		} else if next.Before(earliest) {
			out.Log(sdk.LevelWarn, fmt.Sprintf("TikTok business metrics from %s to %s can no longer be read: the Accounts API keeps only %d days",
				next.Format(time.DateOnly), earliest.AddDate(0, 0, -1).Format(time.DateOnly), lookbackDays+1))
		}
	}
	end := lastSettled
	if !c.windowStart.IsZero() {
		// A backfill: the window, as far as TikTok still serves and has
		// settled it; the state only moves forward.
		start, end = maxTime(c.windowStart, earliest), minTime(c.windowEnd, lastSettled)
		if start.After(end) {
			out.Log(sdk.LevelWarn, fmt.Sprintf("TikTok business metrics from %s to %s cannot be read: the Accounts API serves settled days from %s to %s",
				c.windowStart.Format(time.DateOnly), c.windowEnd.Format(time.DateOnly), earliest.Format(time.DateOnly), lastSettled.Format(time.DateOnly)))
			return nil
		}
	}
	if start.After(end) {
		out.Log(sdk.LevelInfo, "TikTok business metrics are up to date; the next day settles 48 hours after it ends",
			"last_date", st.LastDate)
		return nil
	}
	from, to := start.Format(time.DateOnly), end.Format(time.DateOnly)
	data, ex, err := s.businessClient(c, out).get(ctx, businessFields, from, to)
	if err != nil {
		return fmt.Errorf("failed to read the TikTok business metrics from %s to %s (GET %s): %w", from, to, businessEndpoint, err)
	}
	rows, problems, newest := decodeBusinessMetrics(data, start, end)
	name := businessPayloadName(c.businessID, from, to)
	if missing := missingDays(rows, start, newest); len(missing) > 0 {
		out.Log(sdk.LevelWarn, "TikTok sent no business metrics for some days before the last day it sent; they are not asked for again",
			"days", strings.Join(missing, ","))
	}
	if len(problems) > 0 {
		out.Log(sdk.LevelWarn, "TikTok sent business metrics that cannot be read; their payload is quarantined with the reasons",
			"payload", name, "problems", len(problems))
	}
	if ex.Note, err = (lineNote{Stream: StreamBusinessMetrics, SnapshotAt: now}).json(); err != nil {
		return err
	}
	if err := emitPayload(out, name, []displayapi.Exchange{ex}, businessRows(c.businessID, now, rows, problems)); err != nil {
		return err
	}
	if newest.IsZero() || !newest.After(last) {
		return nil
	}
	return checkpoint(out, StreamBusinessMetrics, businessState{LastDate: newest.Format(time.DateOnly)})
}

// businessPayloadName names the payload of the metrics of businessID from
// day from to day to (YYYY-MM-DD).
func businessPayloadName(businessID, from, to string) string {
	return fmt.Sprintf("business_metrics-%s-%s-%s.jsonl", businessID, from, to)
}

// businessRows are the rows of the decoded metrics of businessID read at
// snap, with the payload's problems.
func businessRows(businessID string, snap time.Time, rows []businessRow, problems []payloadProblem) payloadRows {
	return payloadRows{stream: StreamBusinessMetrics, schema: BusinessMetricsSchema, n: len(rows), problems: problems, fill: func(b *sdk.BatchBuilder, i int) {
		r := rows[i]
		b.AppendString(BizColBusinessID, []byte(businessID))
		b.AppendInt32(BizColDate, sdk.DaysSinceEpoch(r.date))
		for j, v := range r.metrics {
			appendOptInt(b, BizColVideoViews+j, v)
		}
		appendOptString(b, BizColAudienceActivity, r.activity)
		appendSnapshot(b, BizColSnapshotAt, BizColSnapshotDate, snap)
	}}
}

// businessAnswerData returns the data of a successful Accounts API answer
// body, as a landing line keeps it: {code: 0, message, request_id, data}.
func businessAnswerData(body []byte) (json.RawMessage, error) {
	var env businessEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("the body is not an Accounts API answer ({code, message, data}): %w", err)
	}
	if env.Code == nil || *env.Code != bizCodeOK {
		return nil, errors.New("the body is not a successful Accounts API answer: its code is missing or not 0")
	}
	return env.Data, nil
}

// decodeBusinessMetrics reads the metrics entries of data whose date lies
// in from..to, sorted by date. Entries that cannot be read become problems
// (the payload's only line is 1). newest is the latest date in range, read
// or not.
func decodeBusinessMetrics(data json.RawMessage, from, to time.Time) (rows []businessRow, problems []payloadProblem, newest time.Time) {
	var d struct {
		Metrics []map[string]json.RawMessage `json:"metrics"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, []payloadProblem{{line: 1, field: "data.metrics", message: "not a list of daily entries: " + err.Error()}}, time.Time{}
	}
	seen := map[time.Time]bool{}
	for i, m := range d.Metrics {
		at := func(field string) string { return fmt.Sprintf("data.metrics[%d].%s", i, field) }
		var ds string
		if err := json.Unmarshal(m["date"], &ds); err != nil {
			problems = append(problems, payloadProblem{line: 1, field: at("date"), message: "missing or not a string"})
			continue
		}
		date, err := time.Parse(time.DateOnly, ds)
		if err != nil {
			problems = append(problems, payloadProblem{line: 1, field: at("date"), message: fmt.Sprintf("%q is not a YYYY-MM-DD date", ds)})
			continue
		}
		if date.Before(from) || date.After(to) {
			continue
		}
		if date.After(newest) {
			newest = date
		}
		if seen[date] {
			problems = append(problems, payloadProblem{line: 1, field: at("date"), message: "day " + ds + " is sent twice"})
			continue
		}
		seen[date] = true
		r := businessRow{date: date, metrics: make([]*int64, len(businessMetricNames))}
		ok := true
		for j, name := range businessMetricNames {
			v, err := optInt(m[name])
			if err != nil {
				problems = append(problems, payloadProblem{line: 1, field: at(name), message: err.Error()})
				ok = false
				continue
			}
			r.metrics[j] = v
		}
		if a := bytes.TrimSpace(m["audience_activity"]); len(a) > 0 && string(a) != "null" {
			var buf bytes.Buffer
			if err := json.Compact(&buf, a); err == nil {
				s := buf.String()
				r.activity = &s
			}
		}
		if ok {
			rows = append(rows, r)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].date.Before(rows[j].date) })
	return rows, problems, newest
}

// optInt reads an optional integer: nil for absent or null.
func optInt(raw json.RawMessage) (*int64, error) {
	if len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var n json.Number
	if err := dec.Decode(&n); err != nil {
		return nil, fmt.Errorf("%s is not a number", raw)
	}
	v, err := n.Int64()
	if err != nil {
		return nil, fmt.Errorf("%s is not a whole number", raw)
	}
	return &v, nil
}

// missingDays lists the days from..to without a row. Call it with to the
// newest day sent: days after it are asked for again by the next run.
func missingDays(rows []businessRow, from, to time.Time) []string {
	have := map[time.Time]bool{}
	for _, r := range rows {
		have[r.date] = true
	}
	var missing []string
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		if !have[d] {
			missing = append(missing, d.Format(time.DateOnly))
		}
	}
	return missing
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
