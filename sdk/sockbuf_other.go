//go:build !linux

package sdk

// raiseSendBuffers does nothing where the plugin's sockets cannot be listed.
func raiseSendBuffers(int, string) {}
