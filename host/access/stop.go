package access

import (
	"os"
	"time"
)

// StopAfter kills p when maxRuntime has passed, enforcing a role's
// max_runtime on a plugin process (the SDK also sets it as the run's
// deadline, which a well-behaved plugin honours first). It returns a func
// that cancels the timer and reports whether it did so before the kill;
// call it when the process exits. maxRuntime <= 0 sets no timer.
func StopAfter(p *os.Process, maxRuntime time.Duration) (cancel func() bool) {
	if maxRuntime <= 0 {
		return func() bool { return true }
	}
	t := time.AfterFunc(maxRuntime, func() { _ = p.Kill() })
	return t.Stop
}
