package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SlackConfig configures a Slack incoming webhook
// (https://api.slack.com/messaging/webhooks).
type SlackConfig struct {
	URL     string // secret: the path is the token
	Timeout time.Duration
}

// Slack posts alerts to a channel through an incoming webhook. The message
// has a plain "text" (what notifications and screen readers show), a header
// block with the severity emoji and title, and a coloured attachment with
// the detail, the facts (severity, state, source, dataset, run, times) and
// the links:
//
//	{"text": "...", "blocks": [{"type": "header", ...}],
//	 "attachments": [{"color": "#D00000", "blocks": [section, section(fields), context]}]}
type Slack struct {
	cfg    SlackConfig
	client *http.Client
	red    redactor
}

// NewSlack checks cfg and returns the notifier.
func NewSlack(cfg SlackConfig) (*Slack, error) {
	if err := validateURL("url", cfg.URL); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	var r redactor
	r.addURL(cfg.URL)
	return &Slack{cfg: cfg, client: newHTTPClient(cfg.Timeout), red: r}, nil
}

// Slack emoji and attachment colours per severity; a resolved alert is
// green and an acknowledged one grey whatever its severity.
var (
	slackEmoji = map[Severity]string{
		Critical: ":rotating_light:",
		High:     ":red_circle:",
		Medium:   ":large_orange_circle:",
		Low:      ":large_blue_circle:",
	}
	slackColor = map[Severity]string{
		Critical: "#D00000",
		High:     "#E8590C",
		Medium:   "#F2C744",
		Low:      "#439FE0",
	}
)

const (
	slackResolvedEmoji = ":white_check_mark:"
	slackResolvedColor = "#2EB67D"
	slackAckEmoji      = ":eyes:"
	slackAckColor      = "#9E9E9E"
)

// slackEscape escapes the three characters Slack's mrkdwn treats specially.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackAttachment struct {
	Color    string       `json:"color"`
	Fallback string       `json:"fallback"`
	Blocks   []slackBlock `json:"blocks"`
}

// SlackMessage is the body posted to the incoming webhook.
type SlackMessage struct {
	Text        string            `json:"text"`
	Blocks      []slackBlock      `json:"blocks"`
	Attachments []slackAttachment `json:"attachments"`
}

// slackMessage builds the message for a.
func slackMessage(a Alert) SlackMessage {
	emoji, color := slackEmoji[a.Severity], slackColor[a.Severity]
	switch a.State {
	case Resolved:
		emoji, color = slackResolvedEmoji, slackResolvedColor
	case Acknowledged:
		emoji, color = slackAckEmoji, slackAckColor
	}
	summary := a.summary()
	header := truncate(emoji+" "+summary, 150) // Slack's limit for header text

	var inner []slackBlock
	if d := strings.TrimSpace(a.Detail); d != "" {
		inner = append(inner, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(slackEscape(d), 3000)}})
	}
	field := func(name, value string) slackText {
		return slackText{Type: "mrkdwn", Text: "*" + name + "*\n" + truncate(slackEscape(value), 1900)}
	}
	fields := []slackText{field("Severity", string(a.Severity)), field("State", string(a.State))}
	if a.Source != "" {
		fields = append(fields, field("Source", a.Source))
	}
	if a.Dataset != "" {
		fields = append(fields, field("Dataset", a.Dataset))
	}
	if a.RunID != "" {
		fields = append(fields, field("Run", a.RunID))
	}
	fields = append(fields, field("Started", a.StartedAt.UTC().Format(time.RFC3339)))
	if a.State != Firing {
		fields = append(fields, field("Updated", a.updated().UTC().Format(time.RFC3339)))
	}
	inner = append(inner, slackBlock{Type: "section", Fields: fields})
	ctxElems := []slackText{{Type: "mrkdwn", Text: "alert `" + truncate(slackEscape(a.ID), 200) + "`"}}
	for _, l := range a.Links {
		if len(ctxElems) == 10 { // Slack's limit for context elements
			break
		}
		name := l.Name
		if name == "" {
			name = l.URL
		}
		ctxElems = append(ctxElems, slackText{Type: "mrkdwn", Text: "<" + slackEscape(l.URL) + "|" + slackEscape(strings.ReplaceAll(name, "|", "/")) + ">"})
	}
	inner = append(inner, slackBlock{Type: "context", Elements: ctxElems})

	return SlackMessage{
		Text:        slackEscape(summary),
		Blocks:      []slackBlock{{Type: "header", Text: &slackText{Type: "plain_text", Text: header, Emoji: true}}},
		Attachments: []slackAttachment{{Color: color, Fallback: summary, Blocks: inner}},
	}
}

// Notify posts the alert. Slack answers 200 "ok"; anything else fails.
func (s *Slack) Notify(ctx context.Context, a Alert) error {
	if err := a.Validate(); err != nil {
		return err
	}
	body, err := json.Marshal(slackMessage(a))
	if err != nil {
		return fmt.Errorf("slack: encoding alert %q: %w", a.ID, err)
	}
	ans, err := postJSON(ctx, s.client, s.cfg.URL, body, nil, s.red, "Slack")
	if err != nil {
		return err
	}
	if ans.status == http.StatusOK {
		return nil
	}
	hint := ""
	switch {
	case ans.status == http.StatusNotFound || strings.Contains(ans.body, "no_service") || strings.Contains(ans.body, "invalid_token"):
		hint = "the incoming webhook URL is wrong or was removed; create a new one in Slack and update the slack url in the alerting configuration"
	case ans.status == http.StatusGone || strings.Contains(ans.body, "channel_is_archived"):
		hint = "the Slack channel was archived; point the webhook at another channel"
	case ans.status == http.StatusForbidden:
		hint = "Slack does not allow this webhook to post (action_prohibited); ask a Slack admin"
	}
	return statusError("Slack", ans, hint)
}

var _ Notifier = (*Slack)(nil)
