// Command bedrot-validator-quality-ge is the Great Expectations validator
// plugin; bedrot launches it, it is not run by hand.
package main

import (
	qualityge "github.com/bedrot-label/bedrot/plugins/quality-ge"
	"github.com/bedrot-label/bedrot/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{Spec: qualityge.Spec(), NewValidator: qualityge.New})
}
