// Command bedrot-agent-trends is an example third-party BEDROT agent plugin,
// built only against the SDK. Its task "summarize" reads one dataset through
// the host's lake service, computes per-column statistics and the
// week-over-week change of every numeric column, writes a Markdown report to
// the sandbox, contributes a finding to the knowledge base and proposes next
// steps:
//
//	go build -o bedrot-agent-trends .
//	bedrot plugin install ./bedrot-agent-trends
package main

import "github.com/bedrot-label/bedrot/sdk"

func main() {
	sdk.Serve(sdk.Plugin{Spec: spec, NewAgent: newAgent})
}
