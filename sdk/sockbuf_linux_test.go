//go:build linux

package sdk

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// socketPair returns one end of a new Unix socket pair of the given type,
// both ends closed when the test ends.
func socketPair(t *testing.T, typ int) int {
	t.Helper()
	pair, err := syscall.Socketpair(syscall.AF_UNIX, typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(pair[0]); syscall.Close(pair[1]) })
	return pair[0]
}

// sendBuffer is the socket's SO_SNDBUF.
func sendBuffer(t *testing.T, fd int) int {
	t.Helper()
	v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRaiseSendBuffersRaisesUnixStreamSockets(t *testing.T) {
	stream, dgram := socketPair(t, syscall.SOCK_STREAM), socketPair(t, syscall.SOCK_DGRAM)
	before, beforeDgram := sendBuffer(t, stream), sendBuffer(t, dgram)

	const want = 1 << 20
	raiseSendBuffers(want, "")

	// The kernel caps the request at net.core.wmem_max and reports twice
	// what it granted.
	limit := want
	if b, err := os.ReadFile("/proc/sys/net/core/wmem_max"); err == nil {
		if m, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && m < limit {
			limit = m
		}
	}
	if got := sendBuffer(t, stream); got < 2*limit {
		t.Errorf("stream socket send buffer = %d after asking for %d (was %d, wmem_max allows %d)", got, want, before, limit)
	}
	if got := sendBuffer(t, dgram); got != beforeDgram {
		t.Errorf("datagram socket send buffer changed from %d to %d; only stream sockets carry the Read stream", beforeDgram, got)
	}
}

func TestRaiseSendBufferOnlyTouchesThePluginConnection(t *testing.T) {
	path := t.TempDir() + "/plugin.sock"
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	other := socketPair(t, syscall.SOCK_STREAM)
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	connBuf := func() (v int) {
		if err := raw.Control(func(fd uintptr) { v = sendBuffer(t, int(fd)) }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before, otherBefore := connBuf(), sendBuffer(t, other)

	RaiseSendBuffer(l.Addr())

	if got := connBuf(); got <= before {
		t.Errorf("the connection to %s kept its send buffer of %d", path, got)
	}
	if got := sendBuffer(t, other); got != otherBefore {
		t.Errorf("a socket connected elsewhere changed its send buffer from %d to %d", otherBefore, got)
	}
}
