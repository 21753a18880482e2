// Command bedrot-source-spotify is the Spotify connector plugin: it
// snapshots the configured artists, their releases and tracks (with ISRCs)
// from the Web API, and reads the Spotify for Artists CSV exports dropped
// into a folder, handing BEDROT the original payloads and typed rows.
package main

import (
	"github.com/bedrot-label/bedrot/plugins/spotify"
	"github.com/bedrot-label/bedrot/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{Spec: spotify.Spec(), NewSource: spotify.NewSource})
}
