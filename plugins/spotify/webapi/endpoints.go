package webapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Artist returns the artist with the given Spotify id (GET /artists/{id}).
func (c *Client) Artist(ctx context.Context, id string) (Artist, error) {
	var a Artist
	err := c.getJSON(ctx, c.endpoint("/artists/"+url.PathEscape(id), nil), "artist "+id, &a)
	return a, err
}

// ArtistAlbums returns every album, single, compilation and appears-on
// release of the artist (GET /artists/{id}/albums), following next until it
// is null. Each album appears once, in the order Spotify lists them.
func (c *Client) ArtistAlbums(ctx context.Context, artistID string) ([]Album, error) {
	q := url.Values{"include_groups": {allAlbumGroups}, "limit": {strconv.Itoa(pageLimit)}}
	first := c.endpoint("/artists/"+url.PathEscape(artistID)+"/albums", q)
	return collect(ctx, c, first, "albums of artist "+artistID, func(a Album) string { return a.ID })
}

// AlbumTracks returns every track of the album (GET /albums/{id}/tracks),
// following next until it is null.
func (c *Client) AlbumTracks(ctx context.Context, albumID string) ([]SimpleTrack, error) {
	first := c.endpoint("/albums/"+url.PathEscape(albumID)+"/tracks", url.Values{"limit": {strconv.Itoa(pageLimit)}})
	return collect(ctx, c, first, "tracks of album "+albumID, func(t SimpleTrack) string { return t.ID })
}

// Track returns the full track, including ExternalIDs.ISRC (GET /tracks/{id}).
func (c *Client) Track(ctx context.Context, id string) (Track, error) {
	var t Track
	err := c.getJSON(ctx, c.endpoint("/tracks/"+url.PathEscape(id), nil), "track "+id, &t)
	return t, err
}

// Tracks returns the full tracks for ids, in the order of ids; unknown ids
// are left out. It uses GET /tracks?ids= in chunks of 50 and, when that
// endpoint answers 403 or 404 (removed for Development-Mode apps), logs a
// warning once, remembers it, and uses one GET /tracks/{id} per id instead.
func (c *Client) Tracks(ctx context.Context, ids []string) ([]Track, error) {
	out := make([]Track, 0, len(ids))
	for start := 0; start < len(ids); start += batchSize {
		chunk := ids[start:min(start+batchSize, len(ids))]
		if !c.batchRemoved.Load() {
			tracks, err := c.batchTracks(ctx, chunk)
			if err == nil {
				out = append(out, tracks...)
				continue
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || (apiErr.Status != http.StatusForbidden && apiErr.Status != http.StatusNotFound) {
				return nil, err
			}
			if c.batchRemoved.CompareAndSwap(false, true) {
				c.cfg.Logger("spotify batch endpoint GET /tracks?ids= is unavailable (Development Mode app?); falling back to one request per track",
					"status", apiErr.Status, "error", apiErr.Message)
			}
		}
		for _, id := range chunk {
			t, err := c.Track(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// batchTracks calls GET /tracks?ids= for at most batchSize ids.
func (c *Client) batchTracks(ctx context.Context, ids []string) ([]Track, error) {
	escaped := make([]string, len(ids))
	for i, id := range ids {
		escaped[i] = url.QueryEscape(id)
	}
	u := c.endpoint("/tracks", nil) + "?ids=" + strings.Join(escaped, ",")
	var body struct {
		Tracks []*Track `json:"tracks"`
	}
	if err := c.getJSON(ctx, u, fmt.Sprintf("tracks (batch of %d)", len(ids)), &body); err != nil {
		return nil, err
	}
	out := make([]Track, 0, len(body.Tracks))
	for _, t := range body.Tracks {
		if t != nil {
			out = append(out, *t)
		}
	}
	return out, nil
}
