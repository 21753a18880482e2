package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/scheduler"
)

// Client is Control over a running daemon's HTTP API.
type Client struct {
	// URL is the daemon's base URL, e.g. http://127.0.0.1:8080.
	URL string
	// Token is sent as the bearer token when set (daemon.api_token).
	Token string
	HTTP  *http.Client
}

// NewClient returns a client of the daemon at base (a URL, or host:port).
func NewClient(base string) *Client {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &Client{URL: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: time.Minute}}
}

// apiError is a daemon's error answer, mapped back to the sentinel errors
// so that callers test them the same way as with Local.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func (e *apiError) Is(target error) bool {
	switch e.status {
	case http.StatusNotFound:
		return target == scheduler.ErrUnknownSource || target == metastore.ErrNotFound
	case http.StatusConflict:
		return target == scheduler.ErrPaused
	case http.StatusBadRequest:
		return target == scheduler.ErrBadRequest
	}
	return false
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("the daemon at %s does not answer (is `bedrot serve` running?): %w", c.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("failed to read the daemon's answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("the daemon answered %s", resp.Status)
		}
		if resp.StatusCode == http.StatusUnauthorized {
			what := "requires its API token"
			if c.Token != "" {
				what = "refused the API token given"
			}
			e.Error = fmt.Sprintf("the daemon at %s %s: set daemon.api_token (BEDROT_DAEMON_API_TOKEN, or BEDROT_DAEMON_API_TOKEN_FILE naming a file) to the daemon's", c.URL, what)
		}
		return &apiError{status: resp.StatusCode, msg: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the daemon's answer to %s %s is not what this bedrot expects: %w", method, path, err)
	}
	return nil
}

func sourcePath(source, action string) string {
	return "/api/v1/sources/" + url.PathEscape(source) + "/" + action
}

// Trigger queues a manual run.
func (c *Client) Trigger(ctx context.Context, source, mode string) (scheduler.JobInfo, error) {
	var ji scheduler.JobInfo
	err := c.do(ctx, http.MethodPost, sourcePath(source, "trigger"), map[string]string{"mode": mode}, &ji)
	return ji, err
}

// Backfill queues a backfill.
func (c *Client) Backfill(ctx context.Context, req scheduler.BackfillRequest) (scheduler.BackfillResult, error) {
	var res scheduler.BackfillResult
	body := map[string]any{"stream": req.Stream, "from": req.From.Format(time.DateOnly), "to": req.To.Format(time.DateOnly),
		"window_days": int(req.Window / (24 * time.Hour))}
	err := c.do(ctx, http.MethodPost, sourcePath(req.Source, "backfill"), body, &res)
	return res, err
}

// Pause pauses a source.
func (c *Client) Pause(ctx context.Context, source, by, reason string) (bool, error) {
	var out struct {
		Changed bool `json:"changed"`
	}
	err := c.do(ctx, http.MethodPost, sourcePath(source, "pause"), map[string]string{"by": by, "reason": reason}, &out)
	return out.Changed, err
}

// Resume resumes a source.
func (c *Client) Resume(ctx context.Context, source string) (bool, error) {
	var out struct {
		Changed bool `json:"changed"`
	}
	err := c.do(ctx, http.MethodPost, sourcePath(source, "resume"), nil, &out)
	return out.Changed, err
}

// Jobs lists jobs.
func (c *Client) Jobs(ctx context.Context, f scheduler.JobFilter) ([]scheduler.JobInfo, error) {
	q := url.Values{}
	if f.Source != "" {
		q.Set("source", f.Source)
	}
	if len(f.States) > 0 {
		q.Set("state", strings.Join(f.States, ","))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var jobs []scheduler.JobInfo
	err := c.do(ctx, http.MethodGet, "/api/v1/jobs?"+q.Encode(), nil, &jobs)
	return jobs, err
}

// Job returns a job.
func (c *Client) Job(ctx context.Context, id int64) (scheduler.JobInfo, error) {
	var ji scheduler.JobInfo
	err := c.do(ctx, http.MethodGet, "/api/v1/jobs/"+strconv.FormatInt(id, 10), nil, &ji)
	return ji, err
}

// Cancel cancels a job.
func (c *Client) Cancel(ctx context.Context, id int64) (scheduler.JobInfo, error) {
	var ji scheduler.JobInfo
	err := c.do(ctx, http.MethodPost, "/api/v1/jobs/"+strconv.FormatInt(id, 10)+"/cancel", nil, &ji)
	return ji, err
}

// Sources lists the daemon's sources.
func (c *Client) Sources(ctx context.Context) ([]SourceInfo, error) {
	var out []SourceInfo
	err := c.do(ctx, http.MethodGet, "/api/v1/sources", nil, &out)
	return out, err
}
