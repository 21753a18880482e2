// Command bedrot-source-distrokid is the DistroKid connector plugin: it reads
// the "bank details" earnings exports a user downloads (DistroKid has no API)
// and hands BEDROT their original bytes and typed rows.
package main

import (
	"github.com/bedrot-label/bedrot/plugins/distrokid"
	"github.com/bedrot-label/bedrot/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{Spec: distrokid.Spec(), NewSource: distrokid.NewSource})
}
