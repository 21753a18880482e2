// Command bedrot-agent-anomaly is the anomaly-detection agent plugin: it
// flags spikes and drops in daily streams and views per track and platform.
// bedrot launches it; it is not run by hand (except `bedrot-agent-anomaly
// spec`, which prints its spec).
package main

import (
	"github.com/bedrot-label/bedrot/plugins/anomaly"
	"github.com/bedrot-label/bedrot/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{Spec: anomaly.Spec(), NewAgent: anomaly.New})
}
