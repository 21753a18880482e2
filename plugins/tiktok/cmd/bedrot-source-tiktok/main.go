// Command bedrot-source-tiktok is the TikTok connector plugin: each run it
// snapshots the label's TikTok account (profile counters and every public
// video with its lifetime counters) through the Display API v2, and
// optionally reads daily account metrics from the Accounts API, handing
// BEDROT the original API responses and typed rows.
package main

import (
	"github.com/bedrot-label/bedrot/plugins/tiktok"
	"github.com/bedrot-label/bedrot/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{Spec: tiktok.Spec(), NewSource: tiktok.NewSource})
}
