package spotify

import "github.com/bedrot-label/bedrot/sdk"

// Spotify for Artists (S4A) export streams (sources.md §2.6).
const (
	// StreamS4AAudience holds the audience timeline export
	// (<artist>-audience-timeline.csv), one row per day.
	StreamS4AAudience = "s4a_audience_timeline"
	// StreamS4ASongTimeline holds the per-song timeline exports
	// (<song>-timeline.csv), one row per song and day.
	StreamS4ASongTimeline = "s4a_song_timeline"
	// StreamS4ASongs holds the songs table exports
	// (<artist>-songs-<window>.csv), one row per song.
	StreamS4ASongs = "s4a_songs"
	// StreamS4APlaylists holds the playlists table exports, one row per
	// playlist.
	StreamS4APlaylists = "s4a_playlists"
)

// Column positions of the s4a_audience_timeline stream, in schema order.
const (
	AudColArtist = iota
	AudColDate
	AudColListeners
	AudColMonthlyListeners
	AudColMonthlyActiveListeners
	AudColSuperListeners
	AudColStreams
	AudColPlaylistAdds
	AudColSaves
	AudColFollowers
	audTail // extra_columns, source_file, source_sha256, source_line
)

// Column positions of the s4a_song_timeline stream, in schema order.
const (
	SongTLColSong = iota
	SongTLColDate
	SongTLColStreams
	songTLTail
)

// Column positions of the s4a_songs stream, in schema order.
const (
	SongsColArtist = iota
	SongsColTimeWindow
	SongsColSong
	SongsColListeners
	SongsColStreams
	SongsColSaves
	SongsColReleaseDate
	songsTail
)

// Column positions of the s4a_playlists stream, in schema order.
const (
	PlColTitle = iota
	PlColAuthor
	PlColListeners
	PlColStreams
	PlColDateAdded
	plTail
)

// Offsets of the columns every S4A stream ends with, from its tail.
const (
	tailExtraColumns = iota
	tailSourceFile
	tailSourceSHA256
	tailSourceLine
	tailCols
)

const absentDoc = " Null when the export has no such column (older header variants) or the cell is empty; never 0 for absent."

func s4aInt(name, doc string) sdk.Field {
	return sdk.Field{Name: name, Type: sdk.TypeInt64, Nullable: true, Doc: doc + absentDoc}
}

// withTail appends the provenance columns every S4A stream ends with.
func withTail(fields ...sdk.Field) sdk.Schema {
	return sdk.Schema{Fields: append(fields,
		sdk.Field{Name: "extra_columns", Type: sdk.TypeString, Nullable: true,
			Doc: "Columns this connector does not know, as a JSON object of header (as written) to text value; null when the file has none."},
		sdk.Field{Name: "source_file", Type: sdk.TypeString, Doc: "Name of the export file the row came from."},
		sdk.Field{Name: "source_sha256", Type: sdk.TypeString, Doc: "Hex SHA-256 of the export file: a re-exported file with new content is a new version."},
		sdk.Field{Name: "source_line", Type: sdk.TypeInt64, Doc: "1-based line of the row in its file (the header is line 1)."},
	)}
}

// S4AAudienceSchema is the schema of the s4a_audience_timeline stream. It
// covers the three header variants: 2026 (with super listeners), the
// variant without super listeners, and the older date,listeners,streams,followers.
var S4AAudienceSchema = withTail(
	sdk.Field{Name: "artist", Type: sdk.TypeString, Nullable: true, Doc: "Artist, from the file name <artist>-audience-timeline.csv; null when the file is named otherwise."},
	sdk.Field{Name: "date", Type: sdk.TypeDate, Doc: "Day (UTC) the figures are for."},
	s4aInt("listeners", "Unique listeners that day."),
	s4aInt("monthly_listeners", "Monthly listeners (rolling 28 days)."),
	s4aInt("monthly_active_listeners", "Monthly active listeners."),
	s4aInt("super_listeners", "Super listeners (2026 header only)."),
	s4aInt("streams", "Streams that day (a stream counts after 30 s)."),
	s4aInt("playlist_adds", "Playlist adds that day."),
	s4aInt("saves", "Saves that day."),
	s4aInt("followers", "Followers at the end of the day."),
)

// S4ASongTimelineSchema is the schema of the s4a_song_timeline stream.
var S4ASongTimelineSchema = withTail(
	sdk.Field{Name: "song", Type: sdk.TypeString, Doc: "Song title, from the file name <song>-timeline.csv (the file has no song column)."},
	sdk.Field{Name: "date", Type: sdk.TypeDate, Doc: "Day (UTC) the figure is for."},
	s4aInt("streams", "Streams of the song that day."),
)

// S4ASongsSchema is the schema of the s4a_songs stream.
var S4ASongsSchema = withTail(
	sdk.Field{Name: "artist", Type: sdk.TypeString, Nullable: true, Doc: "Artist, from the file name <artist>-songs-<window>.csv; null when the file is named otherwise."},
	sdk.Field{Name: "time_window", Type: sdk.TypeString, Nullable: true, Doc: "Period the table covers as written in the file name (e.g. 28days, 1year, all); null when the file is named otherwise."},
	sdk.Field{Name: "song", Type: sdk.TypeString, Doc: "Song title as written (no ISRC or Spotify id in this export)."},
	s4aInt("listeners", "Listeners of the song in the period."),
	s4aInt("streams", "Streams of the song in the period."),
	s4aInt("saves", "Saves of the song in the period."),
	sdk.Field{Name: "release_date", Type: sdk.TypeDate, Nullable: true, Doc: "Release date; null when empty, n/a or -."},
)

// S4APlaylistsSchema is the schema of the s4a_playlists stream.
var S4APlaylistsSchema = withTail(
	sdk.Field{Name: "title", Type: sdk.TypeString, Doc: "Playlist title as written."},
	sdk.Field{Name: "author", Type: sdk.TypeString, Nullable: true, Doc: "Playlist author as written; null when the export has no author column."},
	s4aInt("listeners", "Listeners who found the label's music through the playlist."),
	s4aInt("streams", "Streams from the playlist."),
	sdk.Field{Name: "date_added", Type: sdk.TypeDate, Nullable: true, Doc: "When the music was added to the playlist; null when Spotify writes n/a, - or nothing (algorithmic and personal playlists)."},
)

var s4aKey = []string{"source_sha256", "source_line"}

// S4AStreams returns the four Spotify for Artists export streams.
func S4AStreams() []sdk.Stream {
	return []sdk.Stream{
		{Name: StreamS4AAudience, Doc: "Spotify for Artists audience timeline exports (daily listeners, streams, followers …), all three header variants.",
			Schema: S4AAudienceSchema, PrimaryKey: s4aKey},
		{Name: StreamS4ASongTimeline, Doc: "Spotify for Artists per-song timeline exports (date,streams; the song comes from the file name).",
			Schema: S4ASongTimelineSchema, PrimaryKey: s4aKey},
		{Name: StreamS4ASongs, Doc: "Spotify for Artists songs table exports (song, listeners, streams, saves, release date).",
			Schema: S4ASongsSchema, PrimaryKey: s4aKey},
		{Name: StreamS4APlaylists, Doc: "Spotify for Artists playlists table exports (title, author, listeners, streams, date added).",
			Schema: S4APlaylistsSchema, PrimaryKey: s4aKey},
	}
}
