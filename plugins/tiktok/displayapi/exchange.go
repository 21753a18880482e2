package displayapi

import (
	"bytes"
	"encoding/json"
	"errors"
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
	// Note is the caller's own JSON about the answer, kept on the line
	// under "bedrot" when set: what the landing zone needs besides the
	// answer to rebuild rows from it. It must never hold a credential.
	Note json.RawMessage
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
	Note       json.RawMessage `json:"bedrot,omitempty"`
}

// JSONLine renders the exchange as one line of JSON Lines, newline
// included:
//
//	{"request":{"method":…,"url":…,"params":{…}},"status":200,"received_at":"RFC 3339","body":…,"bedrot":{…}}
//
// The body is embedded as JSON with only insignificant whitespace removed
// (so that the line stays one line); a body that is not valid JSON is
// embedded as a JSON string instead. "bedrot" holds Note, compacted, and
// is left out when Note is empty.
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
	if len(e.Note) > 0 {
		var note bytes.Buffer
		if err := json.Compact(&note, e.Note); err != nil {
			return nil, fmt.Errorf("failed to encode the note on %s %s: %w", e.Method, e.URL, err)
		}
		l.Note = note.Bytes()
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return nil, fmt.Errorf("failed to encode the exchange %s %s: %w", e.Method, e.URL, err)
	}
	return out.Bytes(), nil
}

// ParseLine reads one line written by JSONLine (with or without its
// newline) back into an Exchange. Body is the body as embedded: the answer
// itself when it was JSON (with insignificant whitespace removed), a JSON
// string when it was not. Params keep numbers as json.Number. The error
// names the part of the line that is missing or malformed.
func ParseLine(line []byte) (Exchange, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var l exchangeLine
	if err := dec.Decode(&l); err != nil {
		return Exchange{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if len(bytes.TrimSpace(line[dec.InputOffset():])) > 0 {
		return Exchange{}, errors.New("more than one JSON value on the line")
	}
	switch {
	case l.Request.Method == "" || l.Request.URL == "":
		return Exchange{}, errors.New("request.method or request.url is missing")
	case l.Status == 0:
		return Exchange{}, errors.New("status is missing")
	case len(l.Body) == 0:
		return Exchange{}, errors.New("body is missing")
	}
	at, err := time.Parse(time.RFC3339Nano, l.ReceivedAt)
	if err != nil {
		return Exchange{}, fmt.Errorf("received_at %q is not an RFC 3339 time", l.ReceivedAt)
	}
	ex := Exchange{Method: l.Request.Method, URL: l.Request.URL, Params: l.Request.Params, Status: l.Status,
		ReceivedAt: at.UTC(), Body: l.Body}
	if string(l.Note) != "null" {
		ex.Note = l.Note
	}
	if ex.Params == nil {
		ex.Params = map[string]any{}
	}
	return ex, nil
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
