package displayapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Exchange is one answered request as the landing zone keeps it: what was
// asked, and the body exactly as received. It never holds a credential:
// tokens travel in headers, which are not kept, and URL and Params hold
// only the query and body parameters.
type Exchange struct {
	// Method is the HTTP method, e.g. "POST".
	Method string
	// URL is the request URL with its query string.
	URL string
	// Params are the request's parameters by name: the query parameters and
	// the fields of a JSON body.
	Params map[string]any
	// Status is the HTTP status of the answer.
	Status int
	// ReceivedAt is when the answer was read, UTC.
	ReceivedAt time.Time
	// Body is the answer's body byte for byte.
	Body []byte
}

// exchangeLine is the JSON form of an Exchange.
type exchangeLine struct {
	Request struct {
		Method string         `json:"method"`
		URL    string         `json:"url"`
		Params map[string]any `json:"params"`
	} `json:"request"`
	Status     int             `json:"status"`
	ReceivedAt string          `json:"received_at"`
	Body       json.RawMessage `json:"body"`
}

// JSONLine renders the exchange as one line of JSON Lines, newline
// included:
//
//	{"request":{"method":…,"url":…,"params":{…}},"status":200,"received_at":"RFC 3339","body":…}
//
// The body is embedded as JSON with only insignificant whitespace removed
// (so that the line stays one line); a body that is not valid JSON is
// embedded as a JSON string instead.
func (e Exchange) JSONLine() ([]byte, error) {
	var l exchangeLine
	l.Request.Method, l.Request.URL, l.Request.Params = e.Method, e.URL, e.Params
	if l.Request.Params == nil {
		l.Request.Params = map[string]any{}
	}
	l.Status = e.Status
	l.ReceivedAt = e.ReceivedAt.UTC().Format(time.RFC3339Nano)
	var body bytes.Buffer
	if err := json.Compact(&body, e.Body); err == nil && body.Len() > 0 {
		l.Body = body.Bytes()
	} else {
		s, err := json.Marshal(string(e.Body))
		if err != nil {
			return nil, fmt.Errorf("failed to encode the body of %s %s: %w", e.Method, e.URL, err)
		}
		l.Body = s
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return nil, fmt.Errorf("failed to encode the exchange %s %s: %w", e.Method, e.URL, err)
	}
	return out.Bytes(), nil
}

// requestParams merges the fields parameter with the fields of a JSON
// request body (the client's own, so it always decodes).
func requestParams(fields []string, body []byte) map[string]any {
	params := map[string]any{}
	if len(body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		_ = dec.Decode(&params)
	}
	params["fields"] = strings.Join(fields, ",")
	return params
}
