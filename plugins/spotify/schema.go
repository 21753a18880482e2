package spotify

import "github.com/bedrot-label/bedrot/sdk"

// Stream names.
const (
	// StreamArtists holds one row per configured artist per snapshot.
	StreamArtists = "artists"
	// StreamAlbums holds one row per release of the configured artists per snapshot.
	StreamAlbums = "albums"
	// StreamTracks holds one row per track of those releases per snapshot.
	StreamTracks = "tracks"
)

// Column positions of the artists stream, in schema order.
const (
	ArtistColID = iota
	ArtistColName
	ArtistColGenres
	ArtistColPopularity
	ArtistColFollowers
	ArtistColSnapshotAt
)

// Column positions of the albums stream, in schema order.
const (
	AlbumColID = iota
	AlbumColName
	AlbumColType
	AlbumColArtistIDs
	AlbumColReleaseDate
	AlbumColReleaseDatePrecision
	AlbumColTotalTracks
	AlbumColSnapshotAt
)

// Column positions of the tracks stream, in schema order.
const (
	TrackColID = iota
	TrackColName
	TrackColAlbumID
	TrackColArtistIDs
	TrackColISRC
	TrackColDiscNumber
	TrackColTrackNumber
	TrackColDurationMS
	TrackColExplicit
	TrackColPopularity
	TrackColSnapshotAt
)

const snapshotDoc = "When the snapshot started: the same instant for every row of a snapshot, also when a run stopped half-way and the next run finished it."

// ArtistsSchema is the schema of the artists stream.
var ArtistsSchema = sdk.Schema{Fields: []sdk.Field{
	ArtistColID:         {Name: "artist_id", Type: sdk.TypeString, Doc: "Spotify artist id (base62)."},
	ArtistColName:       {Name: "name", Type: sdk.TypeString, Doc: "Artist name."},
	ArtistColGenres:     {Name: "genres", Type: sdk.TypeString, Nullable: true, Doc: "Genres as a JSON array of strings; null when Spotify omits them (deprecated field)."},
	ArtistColPopularity: {Name: "popularity", Type: sdk.TypeInt64, Nullable: true, Doc: "Popularity 0–100; null when absent (Development-Mode apps), never 0 for absent."},
	ArtistColFollowers:  {Name: "followers", Type: sdk.TypeInt64, Nullable: true, Doc: "followers.total; null when absent (Development-Mode apps), never 0 for absent."},
	ArtistColSnapshotAt: {Name: "snapshot_at", Type: sdk.TypeTimestamp, Doc: snapshotDoc},
}}

// AlbumsSchema is the schema of the albums stream.
var AlbumsSchema = sdk.Schema{Fields: []sdk.Field{
	AlbumColID:                   {Name: "album_id", Type: sdk.TypeString, Doc: "Spotify album id (base62)."},
	AlbumColName:                 {Name: "name", Type: sdk.TypeString, Doc: "Album name."},
	AlbumColType:                 {Name: "album_type", Type: sdk.TypeString, Doc: "album, single or compilation."},
	AlbumColArtistIDs:            {Name: "artist_ids", Type: sdk.TypeString, Doc: "Ids of the album's artists, comma-separated, in Spotify's order."},
	AlbumColReleaseDate:          {Name: "release_date", Type: sdk.TypeDate, Nullable: true, Doc: "First day of the release period (see release_date_precision); null when Spotify sends an unparseable date."},
	AlbumColReleaseDatePrecision: {Name: "release_date_precision", Type: sdk.TypeString, Doc: "year, month or day: how much of release_date is meaningful."},
	AlbumColTotalTracks:          {Name: "total_tracks", Type: sdk.TypeInt64, Doc: "Number of tracks on the album."},
	AlbumColSnapshotAt:           {Name: "snapshot_at", Type: sdk.TypeTimestamp, Doc: snapshotDoc},
}}

// TracksSchema is the schema of the tracks stream.
var TracksSchema = sdk.Schema{Fields: []sdk.Field{
	TrackColID:          {Name: "track_id", Type: sdk.TypeString, Doc: "Spotify track id (base62)."},
	TrackColName:        {Name: "name", Type: sdk.TypeString, Doc: "Track name."},
	TrackColAlbumID:     {Name: "album_id", Type: sdk.TypeString, Doc: "Spotify id of the track's album."},
	TrackColArtistIDs:   {Name: "artist_ids", Type: sdk.TypeString, Doc: "Ids of the track's artists, comma-separated, in Spotify's order."},
	TrackColISRC:        {Name: "isrc", Type: sdk.TypeString, Nullable: true, Doc: "ISRC from external_ids.isrc; null when absent."},
	TrackColDiscNumber:  {Name: "disc_number", Type: sdk.TypeInt64, Doc: "Disc number (1-based)."},
	TrackColTrackNumber: {Name: "track_number", Type: sdk.TypeInt64, Doc: "Track number on its disc (1-based)."},
	TrackColDurationMS:  {Name: "duration_ms", Type: sdk.TypeInt64, Doc: "Duration in milliseconds."},
	TrackColExplicit:    {Name: "explicit", Type: sdk.TypeBool, Doc: "Whether the track has explicit lyrics."},
	TrackColPopularity:  {Name: "popularity", Type: sdk.TypeInt64, Nullable: true, Doc: "Popularity 0–100; null when absent (Development-Mode apps), never 0 for absent."},
	TrackColSnapshotAt:  {Name: "snapshot_at", Type: sdk.TypeTimestamp, Doc: snapshotDoc},
}}

// Streams returns every stream the source can produce: the Web API streams,
// then the Spotify for Artists export streams. Discover lists those the
// configuration enables.
func Streams() []sdk.Stream { return append(APIStreams(), S4AStreams()...) }

// APIStreams returns the three Web API streams in the order Read emits them.
func APIStreams() []sdk.Stream {
	return []sdk.Stream{
		{Name: StreamArtists, Doc: "Snapshot of each configured Spotify artist (GET /artists/{id}).",
			Schema: ArtistsSchema, PrimaryKey: []string{"artist_id", "snapshot_at"}},
		{Name: StreamAlbums, Doc: "Snapshot of every release of the configured artists (GET /artists/{id}/albums, all groups), each once.",
			Schema: AlbumsSchema, PrimaryKey: []string{"album_id", "snapshot_at"}},
		{Name: StreamTracks, Doc: "Snapshot of every track of those releases with its ISRC (GET /albums/{id}/tracks, then GET /tracks).",
			Schema: TracksSchema, PrimaryKey: []string{"track_id", "snapshot_at"}},
	}
}
