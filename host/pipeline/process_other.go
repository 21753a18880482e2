//go:build !unix

package pipeline

// processExists cannot tell here; the lease decides.
func processExists(int) bool { return true }
