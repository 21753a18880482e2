// Command bedrot-source-releases is an example third-party BEDROT source
// plugin, built only against the SDK. It reads the label's release calendar
// (a JSON array of releases) and emits it as the "releases" stream:
//
//	go build -o bedrot-source-releases .
//	bedrot plugin install ./bedrot-source-releases
//	bedrot ingest releases testdata/releases.json
package main

import "github.com/bedrot-label/bedrot/sdk"

func main() {
	sdk.Serve(sdk.Plugin{Spec: spec, NewSource: newSource})
}
