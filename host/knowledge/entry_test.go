package knowledge_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/knowledge"
)

func TestRenderParseRoundTrip(t *testing.T) {
	t.Parallel()
	e := knowledge.Entry{
		ID: "decision:tiktok-backoff", Kind: knowledge.KindDecision, Slug: "tiktok-backoff",
		Title: "Back off on TikTok: 429 and code 40100", Tags: []string{"ingest", "tiktok"},
		Datasets: []string{"raw.tiktok.videos"}, Agent: "ingest-bot", Session: "s-1",
		Supersedes: []string{"decision:old"}, Created: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		Body: "# Why\n\nThe API says `rate_limit_exceeded`.\n\n---\n\nA rule inside the body stays.",
	}
	data, err := knowledge.Render(e)
	require.NoError(t, err)
	require.Equal(t, `---
id: decision:tiktok-backoff
kind: decision
title: 'Back off on TikTok: 429 and code 40100'
tags: [ingest, tiktok]
datasets: [raw.tiktok.videos]
agent: ingest-bot
session: s-1
supersedes: ['decision:old']
created: 2026-03-01T10:00:00Z
---

# Why

The API says `+"`rate_limit_exceeded`"+`.

---

A rule inside the body stays.
`, string(data))

	got, err := knowledge.Parse(data)
	require.NoError(t, err)
	want := e
	want.Slug = "" // the caller derives it from the path
	require.Equal(t, want, got)
}

func TestParseHandWritten(t *testing.T) {
	t.Parallel()
	got, err := knowledge.Parse([]byte("\xef\xbb\xbf---\r\ntitle: Hand written\r\ntags:\r\n  - Spotify\r\n  - spotify\r\n---\r\nBody line.\r\n"))
	require.NoError(t, err)
	require.Equal(t, "Hand written", got.Title)
	require.Equal(t, []string{"spotify"}, got.Tags, "tags are lower-cased and de-duplicated")
	require.Equal(t, "Body line.", got.Body)
	require.True(t, got.Created.IsZero())

	got, err = knowledge.Parse([]byte("---\ntitle: No body\n---"))
	require.NoError(t, err)
	require.Equal(t, "No body", got.Title)
	require.Empty(t, got.Body)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ in, want string }{
		"no front matter": {"# Title\n\nbody", "no front matter"},
		"unclosed":        {"---\ntitle: x\nbody", "not closed"},
		"unknown field":   {"---\ntitle: x\ndataset: raw.a\n---\n", "field dataset not found"},
		"bad yaml":        {"---\ntitle: [x\n---\n", "front matter"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := knowledge.Parse([]byte(tc.in))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSlugify(t *testing.T) {
	t.Parallel()
	require.Equal(t, "back-off-on-tiktok-429", knowledge.Slugify("  Back off on TikTok: 429! "))
	require.Equal(t, "o-reilly-s-notes", knowledge.Slugify("O'Reilly's notes"))
	require.Empty(t, knowledge.Slugify("!!!"))
	long := knowledge.Slugify("a very long title that goes on and on and on and on and on and on and on")
	require.Equal(t, "a-very-long-title-that-goes-on-and-on-and-on-and-on-and-on-a", long, "cut at 60 characters")
	require.NoError(t, knowledge.ValidSlug(knowledge.Slugify("Any Title 2")))
}

func TestEntryPaths(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ kind, slug, agent, path string }{
		{knowledge.KindDecision, "use-isrc", "", "knowledge/decisions/use-isrc.md"},
		{knowledge.KindPattern, "short-pages", "", "knowledge/patterns/short-pages.md"},
		{knowledge.KindAgent, "ingest-bot", "", "knowledge/agents/ingest-bot.md"},
		{knowledge.KindFinding, "columns-moved", "ingest-bot", "knowledge/agents/ingest-bot/findings/columns-moved.md"},
	} {
		p, err := knowledge.EntryPath(tc.kind, tc.slug, tc.agent)
		require.NoError(t, err)
		require.Equal(t, tc.path, p)
		kind, slug, agent, ok := knowledge.ParsePath(p)
		require.True(t, ok, p)
		require.Equal(t, []string{tc.kind, tc.slug, tc.agent}, []string{kind, slug, agent})
	}
	_, err := knowledge.EntryPath(knowledge.KindFinding, "x", "")
	require.ErrorContains(t, err, "agent")
	_, err = knowledge.EntryPath(knowledge.KindDecision, "../etc", "")
	require.ErrorContains(t, err, "invalid slug")
	_, err = knowledge.EntryPath("opinion", "x", "")
	require.ErrorContains(t, err, "not one of")

	for _, key := range []string{
		"knowledge/decisions/README.md", "knowledge/decisions/x.txt", "knowledge/decisions/sub/x.md",
		"knowledge/agents/a/notes/x.md", "knowledge/agents/a/b/findings/x.md", "knowledge/other/x.md",
		"knowledge/decisions/.keep", "knowledge/decisions/Upper.md",
	} {
		_, _, _, ok := knowledge.ParsePath(key)
		require.False(t, ok, key)
	}
}
