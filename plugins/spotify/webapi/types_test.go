package webapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReleaseDatePrecisions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		json      string
		want      ReleaseDate
		wantStart time.Time
	}{
		{`{"release_date":"2019","release_date_precision":"year"}`, ReleaseDate{"2019", PrecisionYear}, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)},
		{`{"release_date":"2019-03","release_date_precision":"month"}`, ReleaseDate{"2019-03", PrecisionMonth}, time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)},
		{`{"release_date":"2019-03-15","release_date_precision":"day"}`, ReleaseDate{"2019-03-15", PrecisionDay}, time.Date(2019, 3, 15, 0, 0, 0, 0, time.UTC)},
		{`{"release_date":"2019-03"}`, ReleaseDate{"2019-03", PrecisionMonth}, time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		var a Album
		require.NoError(t, json.Unmarshal([]byte(tc.json), &a))
		require.Equal(t, tc.want, a.ReleaseDate)
		got, err := a.ReleaseDate.Time()
		require.NoError(t, err)
		require.Equal(t, tc.wantStart, got)
	}
	_, err := ReleaseDate{"2019-03", PrecisionDay}.Time()
	require.Error(t, err)
	_, err = ReleaseDate{"2019", ""}.Time()
	require.Error(t, err)
}

func TestArtistOptionalFields(t *testing.T) {
	t.Parallel()
	var a Artist
	require.NoError(t, json.Unmarshal([]byte(`{"id":"x","followers":{"href":null,"total":0},"popularity":0}`), &a))
	require.NotNil(t, a.Followers)
	require.NotNil(t, a.Popularity)
	var b Artist
	require.NoError(t, json.Unmarshal([]byte(`{"id":"x","images":[{"url":"u","height":null,"width":null}]}`), &b))
	require.Nil(t, b.Followers)
	require.Nil(t, b.Popularity)
	require.Nil(t, b.Images[0].Height)
}

func TestAPIErrorShapes(t *testing.T) {
	t.Parallel()
	require.Equal(t, "HTTP 404: non existing id", (&APIError{Status: 404, Message: "non existing id"}).Error())
	require.Equal(t, "HTTP 400: invalid_client: Invalid client", (&APIError{Status: 400, Code: "invalid_client", Message: "Invalid client"}).Error())
	require.ErrorIs(t, &APIError{Status: 404}, ErrNotFound)
	require.NotErrorIs(t, &APIError{Status: 400}, ErrNotFound)
}
