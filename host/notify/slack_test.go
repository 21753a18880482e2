package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/notify"
)

const slackPath = "/services/T0SENTINEL/B0SENTINEL/xoxSENTINELtoken"

func TestSlackMessageFormat(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t)
	s, err := notify.NewSlack(notify.SlackConfig{URL: srv.URL + slackPath})
	require.NoError(t, err)
	require.NoError(t, s.Notify(context.Background(), sampleAlert()))

	h := srv.Hits()[0]
	require.Equal(t, http.MethodPost, h.Method)
	require.Equal(t, slackPath, h.Path)
	require.Equal(t, "application/json", h.Header.Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(h.Body, &got))
	require.ElementsMatch(t, []string{"text", "blocks", "attachments"}, keys(got))
	require.Equal(t, "[CRITICAL] Checksum mismatch in raw/spotify/streams (spotify · raw/spotify/streams)", got["text"])
	require.Equal(t, []any{map[string]any{
		"type": "header",
		"text": map[string]any{"type": "plain_text", "emoji": true,
			"text": ":rotating_light: [CRITICAL] Checksum mismatch in raw/spotify/streams (spotify · raw/spotify/streams)"},
	}}, got["blocks"])

	atts := got["attachments"].([]any)
	require.Len(t, atts, 1)
	att := atts[0].(map[string]any)
	require.Equal(t, "#D00000", att["color"])
	require.Equal(t, got["text"], att["fallback"])
	blocks := att["blocks"].([]any)
	require.Len(t, blocks, 3)
	require.Equal(t, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
		"text": "part-0001.parquet: manifest sha256 ab12 &lt;&gt; storage sha256 cd34 &amp; more"}}, blocks[0])
	field := func(name, value string) any {
		return map[string]any{"type": "mrkdwn", "text": "*" + name + "*\n" + value}
	}
	require.Equal(t, map[string]any{"type": "section", "fields": []any{
		field("Severity", "critical"), field("State", "firing"), field("Source", "spotify"),
		field("Dataset", "raw/spotify/streams"), field("Run", "run-42"), field("Started", "2026-05-01T10:00:00Z"),
	}}, blocks[1])
	require.Equal(t, map[string]any{"type": "context", "elements": []any{
		map[string]any{"type": "mrkdwn", "text": "alert `data_loss/raw/spotify/streams`"},
		map[string]any{"type": "mrkdwn", "text": "<http://bedrot.local/runs/run-42|Run>"},
		map[string]any{"type": "mrkdwn", "text": "<http://bedrot.local/docs/raw/spotify/streams?a=1&amp;b=2|Data docs>"},
	}}, blocks[2])
}

func TestSlackSeverityEmojiAndColour(t *testing.T) {
	t.Parallel()
	cases := []struct {
		sev   notify.Severity
		state notify.State
		emoji string
		color string
	}{
		{notify.Critical, notify.Firing, ":rotating_light:", "#D00000"},
		{notify.High, notify.Firing, ":red_circle:", "#E8590C"},
		{notify.Medium, notify.Firing, ":large_orange_circle:", "#F2C744"},
		{notify.Low, notify.Firing, ":large_blue_circle:", "#439FE0"},
		{notify.High, notify.Acknowledged, ":eyes:", "#9E9E9E"},
		{notify.Critical, notify.Resolved, ":white_check_mark:", "#2EB67D"},
	}
	srv := newFakeHTTP(t)
	s, err := notify.NewSlack(notify.SlackConfig{URL: srv.URL + slackPath})
	require.NoError(t, err)
	for i, c := range cases {
		a := sampleAlert()
		a.Severity, a.State = c.sev, c.state
		require.NoError(t, s.Notify(context.Background(), a))
		var got notify.SlackMessage
		require.NoError(t, json.Unmarshal(srv.Hits()[i].Body, &got))
		require.Equal(t, c.color, got.Attachments[0].Color, "%s/%s", c.sev, c.state)
		var raw map[string]any
		require.NoError(t, json.Unmarshal(srv.Hits()[i].Body, &raw))
		header := raw["blocks"].([]any)[0].(map[string]any)["text"].(map[string]any)["text"].(string)
		require.Regexp(t, "^"+c.emoji+` \[`, header)
		if c.state != notify.Firing {
			require.Contains(t, header, "] "+map[notify.State]string{notify.Acknowledged: "ACKNOWLEDGED: ", notify.Resolved: "RESOLVED: "}[c.state])
		}
	}
}

func TestSlackRefusalNamesTheFixWithoutTheToken(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t, reply{status: http.StatusNotFound, body: "no_service"})
	s, err := notify.NewSlack(notify.SlackConfig{URL: srv.URL + slackPath})
	require.NoError(t, err)
	err = s.Notify(context.Background(), sampleAlert())
	require.ErrorContains(t, err, "Slack refused the alert: HTTP 404 Not Found: no_service")
	require.ErrorContains(t, err, "create a new one in Slack")
	require.NotContains(t, err.Error(), "SENTINEL")
	require.False(t, notify.IsRetryable(err))

	srv5 := newFakeHTTP(t, reply{status: http.StatusServiceUnavailable, body: "busy"})
	s5, err := notify.NewSlack(notify.SlackConfig{URL: srv5.URL + slackPath})
	require.NoError(t, err)
	err = s5.Notify(context.Background(), sampleAlert())
	require.True(t, notify.IsRetryable(err))
}

func TestSlackUnreachableDoesNotLeakTheURL(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t)
	url := srv.URL + slackPath
	srv.Close() // nothing listens there any more
	s, err := notify.NewSlack(notify.SlackConfig{URL: url})
	require.NoError(t, err)
	err = s.Notify(context.Background(), sampleAlert())
	require.ErrorContains(t, err, "Slack could not be reached at http://127.0.0.1")
	require.True(t, notify.IsRetryable(err))
	require.NotContains(t, err.Error(), "SENTINEL")
	require.NotContains(t, err.Error(), "/services/")
}
