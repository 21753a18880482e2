package tiktok

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/tiktok/displayapi"
	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// landingLine is one line of a landing payload.
type landingLine struct {
	Request struct {
		Method string         `json:"method"`
		URL    string         `json:"url"`
		Params map[string]any `json:"params"`
	} `json:"request"`
	Status     int             `json:"status"`
	ReceivedAt string          `json:"received_at"`
	Body       json.RawMessage `json:"body"`
}

// lines splits a JSON Lines payload.
func lines(t *testing.T, data []byte) []landingLine {
	t.Helper()
	var out []landingLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var l landingLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "each line is one JSON object")
		out = append(out, l)
	}
	require.NoError(t, sc.Err())
	require.True(t, bytes.HasSuffix(data, []byte("\n")))
	return out
}

func TestReadSnapshot(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 33})
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)

	a := f.srv.Account()
	users := rec.Rows(StreamUserInfo)
	require.Len(t, users, 1)
	u := users[0]
	require.Equal(t, a.OpenID, u["open_id"])
	require.Equal(t, a.DisplayName, u["display_name"])
	require.Equal(t, a.Username, u["username"])
	require.Equal(t, a.BioDescription, u["bio_description"])
	require.Equal(t, false, u["is_verified"], "false is a value, not null")
	require.Equal(t, a.FollowerCount, u["follower_count"])
	require.Equal(t, a.LikesCount, u["likes_count"])
	require.Equal(t, int64(33), u["video_count"])
	require.Equal(t, testStart.UnixMicro(), u["snapshot_at"])
	require.Equal(t, "2026-11-07", u["snapshot_date"])

	requireVideos(t, f.srv.Videos(), rec.Rows(StreamVideos), testStart, a.OpenID)

	// One user_info payload, then one payload per two pages of 7 videos:
	// 33 videos make 5 pages, so 3 payloads.
	ps := rec.Payloads()
	require.Len(t, ps, 4)
	require.Equal(t, "user_info-20261107T100000Z.jsonl", ps[0].Name)
	require.Equal(t, "videos-20261107T100000Z-pages-0001-0002.jsonl", ps[1].Name)
	require.Equal(t, "videos-20261107T100000Z-pages-0005-0005.jsonl", ps[3].Name)
	pages := 0
	for _, p := range ps {
		require.Equal(t, "application/x-ndjson", p.MediaType)
		require.True(t, p.Ended)
		require.Empty(t, p.Problems)
		for _, l := range lines(t, p.Data) {
			pages++
			require.Equal(t, 200, l.Status)
			_, err := time.Parse(time.RFC3339, l.ReceivedAt)
			require.NoError(t, err)
			var env struct {
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(l.Body, &env))
			require.Equal(t, "ok", env.Error.Code, "the body is embedded as received")
			require.True(t, strings.HasPrefix(l.Request.URL, f.cfg[ParamBaseURL]+"/v2/"), l.Request.URL)
			require.Contains(t, l.Request.Params, "fields")
		}
	}
	require.Equal(t, 6, pages, "one line per API response")
	first := lines(t, ps[1].Data)[0]
	require.Equal(t, "POST", first.Request.Method)
	require.EqualValues(t, 7, first.Request.Params["max_count"])
	require.NotContains(t, first.Request.Params, "cursor", "the first page has no cursor")

	// Checkpoints: the new snapshot first, then one per payload.
	cps := rec.Checkpoints(StreamVideos)
	require.Len(t, cps, 4)
	var st videosState
	require.NoError(t, json.Unmarshal(cps[0], &st))
	require.Equal(t, videosState{SnapshotAt: testStart}, st)
	require.NoError(t, json.Unmarshal(cps[3], &st))
	require.True(t, st.Done)
	require.Equal(t, 33, st.Videos)
	require.Equal(t, 5, st.Pages)
	require.Equal(t, testStart, st.SnapshotAt)
	var us userInfoState
	require.NoError(t, json.Unmarshal(lastStates(rec, StreamUserInfo)[StreamUserInfo], &us))
	require.Equal(t, testStart, us.SnapshotAt)
}

func TestEachRunIsANewSnapshot(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 12})
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)
	state := lastStates(rec, StreamUserInfo, StreamVideos)

	f.clock.Add(24 * time.Hour)
	f.srv.AdvanceDay()
	rec2, err := f.read(t, rec.Config(f.cfg), state)
	require.NoError(t, err)
	next := testStart.Add(24 * time.Hour)
	requireVideos(t, f.srv.Videos(), rec2.Rows(StreamVideos), next, f.srv.Account().OpenID)
	require.Len(t, rec2.Rows(StreamUserInfo), 1)
	require.Equal(t, "2026-11-08", rec2.Rows(StreamUserInfo)[0]["snapshot_date"])
	require.NotEqual(t, rec.Rows(StreamVideos)[0]["view_count"], rec2.Rows(StreamVideos)[0]["view_count"], "the counters moved on")
}

func TestSelectedStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 5})
	rec, err := f.read(t, f.cfg, nil, StreamUserInfo)
	require.NoError(t, err)
	require.Len(t, rec.Rows(StreamUserInfo), 1)
	require.Empty(t, rec.Payloads()[1:])
	require.Empty(t, rec.Checkpoints(StreamVideos))
	require.Zero(t, f.srv.Counts().VideoList)

	rec, err = f.read(t, rec.Config(f.cfg), nil, StreamVideos)
	require.NoError(t, err)
	require.Len(t, rec.Rows(StreamVideos), 5)
	require.Empty(t, rec.Rows(StreamUserInfo))
	require.Equal(t, 1, f.srv.Counts().UserInfo)

	_, err = f.read(t, rec.Config(f.cfg), nil, "comments")
	require.ErrorContains(t, err, `unknown stream "comments"`)
	_, err = f.read(t, rec.Config(f.cfg), nil, StreamBusinessMetrics)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.ErrorContains(t, err, ParamBusinessID)
}

func TestSpecAndDiscover(t *testing.T) {
	t.Parallel()
	spec := Spec()
	require.Equal(t, "tiktok", spec.Name)
	secret := map[string]bool{}
	for _, p := range spec.Params {
		require.NotEmpty(t, p.Description, p.Name)
		secret[p.Name] = p.Secret
	}
	require.True(t, secret[ParamClientSecret])
	require.True(t, secret[ParamRefreshToken])
	require.True(t, secret[ParamBusinessAccessToken])
	require.False(t, secret[ParamClientKey])
	for _, p := range spec.Params {
		switch p.Name {
		case ParamBaseURL:
			require.Equal(t, "https://open.tiktokapis.com", p.Default)
		case ParamTokenURL:
			require.Equal(t, "https://open.tiktokapis.com/v2/oauth/token/", p.Default)
		case ParamBusinessBaseURL:
			require.Equal(t, "https://business-api.tiktok.com", p.Default)
		}
	}

	f := newFixture(t, emulator.Options{})
	streams, err := NewSource().Discover(t.Context(), f.cfg)
	require.NoError(t, err)
	require.Len(t, streams, 2)
	f = newFixture(t, business(emulator.Options{}))
	streams, err = NewSource().Discover(t.Context(), f.cfg)
	require.NoError(t, err)
	require.Len(t, streams, 3)
	for _, s := range streams {
		for _, k := range s.PrimaryKey {
			require.GreaterOrEqual(t, s.Schema.Index(k), 0, "%s: %s", s.Name, k)
			require.False(t, s.Schema.Fields[s.Schema.Index(k)].Nullable, "%s: key %s must not be null", s.Name, k)
		}
		for _, col := range []string{"snapshot_at", "snapshot_date"} {
			require.GreaterOrEqual(t, s.Schema.Index(col), 0, "%s has %s", s.Name, col)
		}
	}
	require.Equal(t, "date", streams[2].CursorField)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t, business(emulator.Options{}))
	require.NoError(t, f.src.Check(t.Context(), f.cfg))
	c := f.srv.Counts()
	require.Zero(t, c.Token, "Check must not refresh: it would rotate the refresh token")
	require.Equal(t, 1, c.Business, "the business token is checked")

	with := func(k, v string) sdk.Config {
		cfg := sdk.Config{}
		for kk, vv := range f.cfg {
			cfg[kk] = vv
		}
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
		return cfg
	}
	for name, tc := range map[string]struct {
		cfg  sdk.Config
		want string
	}{
		"no secret":             {with(ParamClientSecret, ""), ParamClientSecret},
		"no refresh token":      {with(ParamRefreshToken, ""), ParamRefreshToken},
		"business without key":  {with(ParamBusinessAccessToken, ""), ParamBusinessAccessToken},
		"page size":             {with(ParamMaxCount, "25"), ParamMaxCount},
		"base url":              {with(ParamBaseURL, "open.tiktokapis.com"), ParamBaseURL},
		"token url with secret": {with(ParamTokenURL, "https://user:"+testClientSecret+"@example.com/t"), ParamTokenURL},
		"wrong business token":  {with(ParamBusinessAccessToken, "not-the-token"), "rejected business_access_token"},
	} {
		err := f.src.Check(t.Context(), tc.cfg)
		require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "%s: %v", name, err)
		require.Contains(t, err.Error(), tc.want, name)
		for _, s := range []string{testClientSecret, testRefreshToken, testBusinessToken, "not-the-token"} {
			require.NotContains(t, err.Error(), s, name)
		}
	}
	require.Zero(t, f.srv.Counts().Token)
}

func TestRefreshTokenRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 10})
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)
	ups := rec.ConfigUpdates()
	require.Len(t, ups, 1)
	require.Equal(t, []string{ParamRefreshToken}, mapsKeys(ups[0]))
	require.Equal(t, f.srv.RefreshToken(), ups[0][ParamRefreshToken])
	require.NotEqual(t, testRefreshToken, ups[0][ParamRefreshToken])

	// The next run uses the stored token, and rotates it again.
	next := rec.Config(f.cfg)
	rec2, err := f.read(t, next, nil)
	require.NoError(t, err)
	require.Len(t, rec2.ConfigUpdates(), 1)
	require.Equal(t, f.srv.RefreshToken(), rec2.Config(next)[ParamRefreshToken])

	// A run with the old, rotated token is locked out with a clear error.
	_, err = f.read(t, f.cfg, nil)
	requireReauthorise(t, err)
}

// requireReauthorise checks err is the configuration error that tells the
// user to re-authorise, without a secret in it.
func requireReauthorise(t *testing.T, err error) {
	t.Helper()
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "error: %v", err)
	require.Contains(t, err.Error(), "TikTok rejected the refresh token")
	require.Contains(t, err.Error(), "re-authorise the app and set refresh_token")
	for _, s := range []string{testClientSecret, testRefreshToken, "rft."} {
		require.NotContains(t, err.Error(), s)
	}
}

func mapsKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// failingUpdates is a Recorder whose UpdateConfig fails, as when BEDROT
// cannot store the value.
type failingUpdates struct{ *sdktest.Recorder }

func (failingUpdates) UpdateConfig(map[string]string) error {
	return errors.New("the metastore is read-only")
}

func TestUpdateConfigFailureStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 10})
	rec := failingUpdates{f.recorder(t)}
	err := f.src.Read(t.Context(), sdk.ReadRequest{Config: f.cfg}, rec)
	require.ErrorContains(t, err, "BEDROT could not store the new TikTok refresh token")
	require.ErrorContains(t, err, "re-authorise the app and set refresh_token")
	c := f.srv.Counts()
	require.Equal(t, 1, c.Refreshed)
	require.Zero(t, c.UserInfo+c.VideoList, "no data request with the new access token")
	require.Empty(t, rec.Payloads())
}

func TestRevokedAuthorisation(t *testing.T) {
	t.Parallel()
	t.Run("before the run", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Options{})
		f.srv.Revoke()
		rec, err := f.read(t, f.cfg, nil)
		requireReauthorise(t, err)
		require.Empty(t, rec.Payloads())
	})
	t.Run("mid-run", func(t *testing.T) {
		t.Parallel()
		// Revoked after the profile and three pages; the access token then
		// fails, and so does the refresh.
		f := newFixture(t, emulator.Options{VideoCount: 40, RevokeAfter: 4})
		rec, err := f.read(t, f.cfg, nil)
		requireReauthorise(t, err)
		require.Len(t, rec.Rows(StreamVideos), 21, "the pages read before are kept")
		var st videosState
		require.NoError(t, json.Unmarshal(lastStates(rec, StreamVideos)[StreamVideos], &st))
		require.False(t, st.Done)
		require.Equal(t, 3, st.Pages)
	})
}

func TestQuarantinesUnreadableVideos(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 20})
	victim := f.srv.Videos()[9] // on page 2
	f.src.transport = rewriteBody{next: f.src.transport, old: `"id":"` + victim.ID + `"`, new: `"id":"` + victim.ID + `","duration":12.5`}
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)
	ps := rec.Payloads()
	require.Len(t, ps, 3)
	bad := ps[1]
	require.Equal(t, "videos-20261107T100000Z-pages-0001-0002.jsonl", bad.Name)
	require.Len(t, bad.Problems, 1)
	p := bad.Problems[0]
	require.Equal(t, bad.Name, p.File)
	require.Equal(t, int64(2), p.Line, "the second answer of the payload")
	require.Equal(t, "data.videos[2].duration", p.Field)
	require.Contains(t, p.Message, victim.ID)
	require.Contains(t, string(bad.Data), `"duration":12.5`, "landing keeps the body as received")
	require.Empty(t, ps[2].Problems, "the next payload is fine")
	require.Contains(t, logText(rec), "quarantined")
}

func TestEmptyAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: -1})
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)
	require.Empty(t, rec.Rows(StreamVideos))
	require.Len(t, rec.Payloads(), 2, "the empty page is still landed")
	var st videosState
	require.NoError(t, json.Unmarshal(lastStates(rec, StreamVideos)[StreamVideos], &st))
	require.True(t, st.Done)
}

func TestLogsAreNotWarningsWhenAllIsWell(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 9})
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)
	for _, l := range rec.Logs() {
		require.Less(t, l.Level, sdk.LevelWarn, l.Message)
	}
	require.Contains(t, logText(rec), "TikTok videos snapshot complete")
}

func TestPageSizeIsTheConfiguredMaxCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 41})
	f.cfg[ParamMaxCount] = ""
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)
	require.Equal(t, 3, f.srv.Counts().VideoList, "41 videos at the default 20 a page")
	require.Len(t, rec.Rows(StreamVideos), 41)
	require.EqualValues(t, displayapi.PageSize, lines(t, rec.Payloads()[1].Data)[0].Request.Params["max_count"])
}
