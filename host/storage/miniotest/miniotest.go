package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// BinEnv names the environment variable that points at the MinIO binary.
const BinEnv = "BEDROT_MINIO_BIN"

// startTimeout bounds how long Start waits for the server to answer.
const startTimeout = 30 * time.Second

// Server is a running MinIO server.
type Server struct {
	// Endpoint is "127.0.0.1:port", without scheme (plain HTTP).
	Endpoint string
	// AccessKey and SecretKey are the root credentials (random per server).
	AccessKey string
	SecretKey string

	cmd     *exec.Cmd
	dir     string
	client  *minio.Client
	out     *lockedBuffer
	exited  chan struct{}
	waitErr error
	stop    sync.Once
	buckets atomic.Int64
}

// BinaryPath returns where the MinIO binary is expected: $BEDROT_MINIO_BIN,
// else $HOME/.cache/bedrot/bin/minio.
func BinaryPath() string {
	if p := os.Getenv(BinEnv); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.Getenv("HOME")
	}
	return filepath.Join(home, ".cache", "bedrot", "bin", "minio")
}

// Start launches a new MinIO server and waits until it serves S3 requests.
// The caller must Stop it. Most tests want Require instead.
func Start() (*Server, error) {
	return startBinary(BinaryPath())
}

func startBinary(bin string) (*Server, error) {
	fi, err := os.Stat(bin)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("MinIO binary not found at %s (set %s or run `make minio` to build it): %v", bin, BinEnv, err)
	}
	var lastErr error
	for range 3 { // a free port can be taken between probing and binding
		s, err := start(bin)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "bedrot-minio-*")
	if err != nil {
		return nil, fmt.Errorf("failed to create MinIO data folder: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{
		Endpoint:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		AccessKey: "bedrot-test",
		SecretKey: randomHex(20),
		dir:       dir,
		out:       &lockedBuffer{},
		exited:    make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "server", filepath.Join(dir, "data"),
		"--address", s.Endpoint,
		"--console-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		"--certs-dir", filepath.Join(dir, "certs"),
		"--quiet")
	s.cmd.Env = append(minioFreeEnv(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("failed to start MinIO %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	s.client, err = minio.New(s.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		BucketLookup: minio.BucketLookupPath,
	})
	if err == nil {
		err = s.waitReady()
	}
	if err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls the liveness endpoint, then an S3 call, until both answer.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	url := "http://" + s.Endpoint + "/minio/health/live"
	live := false
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("MinIO exited before it was ready (%v): %s", s.waitErr, s.out.tail())
		case <-ctx.Done():
			return fmt.Errorf("MinIO did not become ready within %s: %s", startTimeout, s.out.tail())
		case <-time.After(25 * time.Millisecond):
		}
		if !live {
			resp, err := hc.Get(url)
			if err != nil {
				continue
			}
			_ = resp.Body.Close()
			live = resp.StatusCode == http.StatusOK
			if !live {
				continue
			}
		}
		reqCtx, reqCancel := context.WithTimeout(ctx, time.Second)
		_, err := s.client.ListBuckets(reqCtx)
		reqCancel()
		if err == nil {
			return nil
		}
	}
}

// Stop kills the server and removes its data. It is safe to call more than
// once.
func (s *Server) Stop() error {
	var err error
	s.stop.Do(func() {
		if s.cmd.Process != nil {
			_ = s.cmd.Process.Kill()
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				err = errors.New("failed to stop MinIO: still running 10s after SIGKILL")
			}
		}
		if rmErr := os.RemoveAll(s.dir); rmErr != nil && err == nil {
			err = fmt.Errorf("failed to remove MinIO data folder: %w", rmErr)
		}
	})
	return err
}

// Client returns a minio-go client with the root credentials.
func (s *Server) Client() *minio.Client { return s.client }

// URL returns the server's base URL, "http://127.0.0.1:port".
func (s *Server) URL() string { return "http://" + s.Endpoint }

var bucketUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// NewBucket creates a bucket with a unique name derived from the test's name
// and returns the name. The bucket and everything in it are removed when the
// test ends.
func (s *Server) NewBucket(tb testing.TB) string {
	tb.Helper()
	base := strings.Trim(bucketUnsafe.ReplaceAllString(strings.ToLower(tb.Name()), "-"), "-")
	if len(base) > 40 {
		base = strings.TrimRight(base[len(base)-40:], "-")
	}
	name := strings.Trim(fmt.Sprintf("t-%s-%d-%s", base, s.buckets.Add(1), randomHex(3)), "-")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.client.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("failed to create test bucket %q: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.removeBucket(ctx, name); err != nil {
			tb.Errorf("failed to remove test bucket %q: %v", name, err)
		}
	})
	return name
}

// removeBucket empties the bucket and removes it. A plain removal of an
// empty bucket is done when it returns; MinIO's force delete (the
// fallback, for what the emptying missed, such as unfinished multipart
// uploads) may leave the bucket listed for a while on a loaded machine.
func (s *Server) removeBucket(ctx context.Context, name string) error {
	for rerr := range s.client.RemoveObjects(ctx, name, s.client.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}), minio.RemoveObjectsOptions{}) {
		if rerr.Err != nil {
			return fmt.Errorf("failed to remove %s: %w", rerr.ObjectName, rerr.Err)
		}
	}
	if err := s.client.RemoveBucket(ctx, name); err == nil {
		return nil
	}
	return s.client.RemoveBucketWithOptions(ctx, name, minio.RemoveBucketOptions{ForceDelete: true})
}

var (
	sharedOnce   sync.Once
	sharedServer *Server
	sharedErr    error
	sharedUsed   atomic.Bool
)

// Shared returns the test binary's shared server, starting it on first use.
// Main stops it when the tests are done.
func Shared() (*Server, error) {
	sharedOnce.Do(func() {
		sharedUsed.Store(true)
		sharedServer, sharedErr = Start()
	})
	return sharedServer, sharedErr
}

// Require returns the shared server, failing the test (not skipping it) if
// MinIO cannot be started.
func Require(tb testing.TB) *Server {
	tb.Helper()
	s, err := Shared()
	if err != nil {
		tb.Fatalf("miniotest: %v", err)
	}
	return s
}

// Main runs the tests and then stops the shared server. Call it from
// TestMain:
//
//	func TestMain(m *testing.M) { miniotest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if sharedUsed.Load() && sharedServer != nil {
		if err := sharedServer.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "miniotest:", err)
		}
	}
	os.Exit(code)
}

// minioFreeEnv is the environment without MINIO_* variables, so a developer's
// own MinIO settings cannot leak into the test server.
func minioFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("failed to find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// lockedBuffer keeps the server's output for error messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil // enough to explain a failure
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.buf.String())
	if s == "" {
		return "(no output)"
	}
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}
