// Command bedrot is the BEDROT data lake's CLI and daemon: it installs
// connector plugins, ingests sources into the lake (landing → raw), and
// shows what the lake holds. Run `bedrot --help` for the tour.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/hashicorp/go-plugin"
)

func main() {
	// The host's only gRPC peers are its plugins.
	sdk.UseBufferPool()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	plugin.CleanupClients()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	isExit := errors.As(err, &ee)
	if !isExit || ee.err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
	}
	switch {
	case ctx.Err() != nil:
		return exitInterrupted
	case isExit:
		return ee.code
	}
	return exitUsageOrFailure(err)
}
