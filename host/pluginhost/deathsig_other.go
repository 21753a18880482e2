//go:build !linux

package pluginhost

import (
	"os"
	"os/exec"
)

// setDeathSignal is a no-op where the kernel has no parent-death signal; the
// SDK's own parent watch makes the plugin exit.
func setDeathSignal(*exec.Cmd) {}

// peakRSS is unknown here.
func peakRSS(*os.ProcessState) int64 { return 0 }

// HighWaterRSS is unknown here (0).
func HighWaterRSS(int) int64 { return 0 }
