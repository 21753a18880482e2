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

func TestRaiseSendBuffersRaisesUnixStreamSockets(t *testing.T) {
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(pair[0])
	defer syscall.Close(pair[1])
	dgram, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dgram[0])
	defer syscall.Close(dgram[1])
	sndbuf := func(fd int) int {
		v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before, beforeDgram := sndbuf(pair[0]), sndbuf(dgram[0])

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
	if got := sndbuf(pair[0]); got < 2*limit {
		t.Errorf("stream socket send buffer = %d after asking for %d (was %d, wmem_max allows %d)", got, want, before, limit)
	}
	if got := sndbuf(dgram[0]); got != beforeDgram {
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
	other, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(other[0])
	defer syscall.Close(other[1])
	sndbuf := func(fd int) int {
		v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	connBuf := func() (v int) {
		if err := raw.Control(func(fd uintptr) { v = sndbuf(int(fd)) }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before, otherBefore := connBuf(), sndbuf(other[0])

	RaiseSendBuffer(l.Addr())

	if got := connBuf(); got <= before {
		t.Errorf("the connection to %s kept its send buffer of %d", path, got)
	}
	if got := sndbuf(other[0]); got != otherBefore {
		t.Errorf("a socket connected elsewhere changed its send buffer from %d to %d", otherBefore, got)
	}
}
