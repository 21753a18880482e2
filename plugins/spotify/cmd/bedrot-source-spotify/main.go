// Command bedrot-source-spotify is the Spotify Web API connector plugin: it
// snapshots the configured artists, their releases and tracks (with ISRCs)
// and hands BEDROT the original response bodies and typed rows.
package main

import (
	"github.com/bedrot-label/bedrot/plugins/spotify"
	"github.com/bedrot-label/bedrot/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{Spec: spotify.Spec(), NewSource: spotify.NewSource})
}
