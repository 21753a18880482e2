package displayapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
)

func TestVideoPageReturnsTheExchange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 12, Seed: 4})
	c := f.client()
	p, err := c.VideoPage(t.Context(), []string{"create_time", "view_count"}, 0, 5)
	require.NoError(t, err)
	want := f.srv.Videos()
	require.Len(t, p.Videos, 5)
	require.Equal(t, want[4].ID, p.Videos[4].ID)
	require.Equal(t, want[4].CreateTime*1000, p.Cursor)
	require.True(t, p.HasMore)
	require.Empty(t, p.Invalid)

	ex := p.Exchange
	require.Equal(t, http.MethodPost, ex.Method)
	require.Equal(t, f.base+"/v2/video/list/?fields=id%2Ccreate_time%2Cview_count", ex.URL)
	require.Equal(t, map[string]any{"fields": "id,create_time,view_count", "max_count": json.Number("5")}, ex.Params)
	require.Equal(t, http.StatusOK, ex.Status)
	require.Equal(t, f.clock.Now(), ex.ReceivedAt)
	var body struct {
		Data struct {
			Videos []map[string]any `json:"videos"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(ex.Body, &body))
	require.Len(t, body.Data.Videos, 5)

	require.Equal(t, f.srv.Account().OpenID, c.OpenID(), "open_id comes with the token")

	// The next page goes on from the cursor; a page size out of range is
	// the maximum.
	p2, err := c.VideoPage(t.Context(), nil, p.Cursor, 99)
	require.NoError(t, err)
	require.Len(t, p2.Videos, 7)
	require.Equal(t, want[5].ID, p2.Videos[0].ID)
	require.False(t, p2.HasMore)
	require.Equal(t, json.Number("20"), p2.Exchange.Params["max_count"])
	require.Equal(t, json.Number(jsonInt(p.Cursor)), p2.Exchange.Params["cursor"])
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }

func TestExchangeJSONLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 7, 10, 45, 12, 5000, time.UTC)
	ex := Exchange{
		Method: http.MethodGet, URL: "https://open.tiktokapis.com/v2/user/info/?fields=open_id",
		Params: map[string]any{"fields": "open_id"}, Status: 200, ReceivedAt: at,
		Body: []byte("{\"data\": {\"user\": {\"display_name\": \"Mara <3 🌊\\n\"}},\n \"error\": {\"code\": \"ok\"}}\n"),
	}
	line, err := ex.JSONLine()
	require.NoError(t, err)
	require.Equal(t, `{"request":{"method":"GET","url":"https://open.tiktokapis.com/v2/user/info/?fields=open_id","params":{"fields":"open_id"}},"status":200,"received_at":"2026-11-07T10:45:12.000005Z","body":{"data":{"user":{"display_name":"Mara <3 🌊\n"}},"error":{"code":"ok"}}}`+"\n", string(line))

	ex.Body = []byte("<html>502\nBad Gateway</html>")
	line, err = ex.JSONLine()
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(line), "\n"), "one line")
	var back struct {
		Body string `json:"body"`
	}
	require.NoError(t, json.Unmarshal(line, &back))
	require.Equal(t, string(ex.Body), back.Body, "a body that is not JSON is kept as a string")
}

// fakeAPI serves the token endpoint and one canned video list answer.
func fakeAPI(t *testing.T, list func(n int64) (int, string)) (string, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case tokenEndpoint:
			_, _ = w.Write([]byte(`{"access_token":"act.x","expires_in":7200,"refresh_token":"rft.next","refresh_expires_in":86400,"open_id":"-000x"}`))
		case videoListEndpoint:
			status, body := list(calls.Add(1))
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &calls
}

func TestVideoPageListsInvalidVideos(t *testing.T) {
	t.Parallel()
	base, _ := fakeAPI(t, func(int64) (int, string) {
		return 200, `{"data":{"videos":[{"id":"7569912233445566778","create_time":1762300000,"view_count":12},` +
			`{"id":"7569912233445566779","create_time":1762299999,"view_count":1.5},` +
			`"not an object",` +
			`{"id":"7569912233445566780","create_time":1762299998}],"cursor":1762299998000,"has_more":false},"error":{"code":"ok","message":"","log_id":"x"}}`
	})
	clock := newFakeClock()
	c := New(Config{BaseURL: base, ClientKey: "k", ClientSecret: "s", RefreshToken: "r", OnRefreshTokenRotated: (&recorder{}).rotated, Sleep: clock.Sleep, Now: clock.Now})
	p, err := c.VideoPage(t.Context(), nil, 0, 20)
	require.NoError(t, err)
	require.Len(t, p.Videos, 2)
	require.Equal(t, "7569912233445566780", p.Videos[1].ID)
	require.Len(t, p.Invalid, 2)
	require.Equal(t, InvalidVideo{Index: 1, ID: "7569912233445566779", Field: "view_count", Message: `video 7569912233445566779: field view_count 1.5 is not an integer`}, p.Invalid[0])
	require.Equal(t, 2, p.Invalid[1].Index)

	_, err = c.Videos(t.Context(), nil)
	require.ErrorContains(t, err, "field view_count")
}

func TestMalformedBodiesAreRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 30, Seed: 9, MalformedJSON: emulator.Burst{After: 1, Count: 2}})
	got, err := f.client().Videos(t.Context(), nil)
	require.NoError(t, err)
	require.Len(t, got, 30)
	require.Equal(t, 2, f.srv.Counts().Malformed)
	require.Len(t, f.clock.Sleeps(), 2)
	require.Contains(t, f.rec.Logs(), "not valid JSON")

	f = newFixture(t, emulator.Options{VideoCount: 30, MalformedJSON: emulator.Burst{Count: 100}})
	f.cfg.MaxRetries = 2
	_, err = f.client().Videos(t.Context(), nil)
	require.Equal(t, sdk.KindTransient, sdk.KindOf(err), "error: %v", err)
	require.ErrorContains(t, err, "not valid JSON")
}

func TestTokenURLIsSeparate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 2})
	f.cfg.TokenURL = f.base + "/v2/oauth/token/"
	f.cfg.BaseURL = f.base + "/elsewhere" // data requests go nowhere
	_, err := f.client().UserInfo(t.Context(), nil)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "error: %v", err)
	require.ErrorContains(t, err, "check base_url")
	require.Equal(t, 1, f.srv.Counts().Refreshed, "the token came from token_url")

	f = newFixture(t, emulator.Options{VideoCount: 2})
	f.cfg.TokenURL = f.base + "/no/token/here"
	_, err = f.client().UserInfo(t.Context(), nil)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "error: %v", err)
	require.ErrorContains(t, err, "check token_url")
}

func TestParseLineReadsJSONLineBack(t *testing.T) {
	t.Parallel()
	ex := Exchange{
		Method: http.MethodPost, URL: "https://open.tiktokapis.com/v2/video/list/?fields=id",
		Params: map[string]any{"fields": "id", "cursor": json.Number("1762299998000"), "max_count": json.Number("20")}, Status: 200,
		ReceivedAt: time.Date(2026, 11, 7, 10, 45, 12, 5000, time.UTC),
		Body:       []byte(`{"data": {"videos": [], "cursor": 0, "has_more": false}, "error": {"code": "ok"}}`),
		Note:       json.RawMessage(`{"stream": "videos", "already_emitted": [0, 3]}`),
	}
	line, err := ex.JSONLine()
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(line), `,"bedrot":{"stream":"videos","already_emitted":[0,3]}}`+"\n"), string(line))
	back, err := ParseLine(line)
	require.NoError(t, err)
	require.Equal(t, ex.Method, back.Method)
	require.Equal(t, ex.URL, back.URL)
	require.Equal(t, ex.Params, back.Params, "numbers stay exact")
	require.Equal(t, ex.Status, back.Status)
	require.Equal(t, ex.ReceivedAt, back.ReceivedAt)
	require.JSONEq(t, string(ex.Body), string(back.Body))
	require.JSONEq(t, string(ex.Note), string(back.Note))
	again, err := back.JSONLine()
	require.NoError(t, err)
	require.Equal(t, string(line), string(again), "a parsed line writes the same bytes")

	ex.Note = nil
	line, err = ex.JSONLine()
	require.NoError(t, err)
	require.NotContains(t, string(line), "bedrot", "no note, no key")
	back, err = ParseLine(line)
	require.NoError(t, err)
	require.Empty(t, back.Note)

	for name, bad := range map[string]string{
		"not JSON":      `hello`,
		"two values":    `{"request":{"method":"GET","url":"u"},"status":200,"received_at":"2026-11-07T10:00:00Z","body":{}} {}`,
		"no request":    `{"status":200,"received_at":"2026-11-07T10:00:00Z","body":{}}`,
		"no status":     `{"request":{"method":"GET","url":"u"},"received_at":"2026-11-07T10:00:00Z","body":{}}`,
		"no body":       `{"request":{"method":"GET","url":"u"},"status":200,"received_at":"2026-11-07T10:00:00Z"}`,
		"bad time":      `{"request":{"method":"GET","url":"u"},"status":200,"received_at":"yesterday","body":{}}`,
		"note not JSON": `{"request":{"method":"GET","url":"u"},"status":200,"received_at":"2026-11-07T10:00:00Z","body":{},"bedrot":}`,
	} {
		_, err := ParseLine([]byte(bad))
		require.Error(t, err, name)
	}
}

func TestDecodeVideoPageKeepsPositions(t *testing.T) {
	t.Parallel()
	data, err := AnswerData([]byte(`{"data":{"videos":[{"id":"1","create_time":3},{"id":"2","view_count":1.5},{"id":"3"}],"cursor":7,"has_more":true},"error":{"code":"ok"}}`))
	require.NoError(t, err)
	p, err := DecodeVideoPage(data, 9)
	require.NoError(t, err)
	require.Equal(t, []int{0, 2}, p.Index, "the position in data.videos, past the invalid video")
	require.Equal(t, "3", p.Videos[1].ID)
	require.Equal(t, int64(7), p.Cursor)
	require.True(t, p.HasMore)

	for name, body := range map[string]string{
		"not an envelope": `[1,2]`,
		"error":           `{"data":{},"error":{"code":"rate_limit_exceeded"}}`,
		"no data":         `{"error":{"code":"ok"}}`,
	} {
		_, err := AnswerData([]byte(body))
		require.Error(t, err, name)
	}
	_, err = DecodeVideoPage(json.RawMessage(`{"videos":{}}`), 0)
	require.ErrorContains(t, err, "data.videos")
}
