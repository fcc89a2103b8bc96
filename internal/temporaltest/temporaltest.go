// Package temporaltest gives a test package one Temporal server for all its
// tests: an embedded in-memory server, or an external one named by the
// XHSPAY_TEMPORAL_ADDRESS environment variable.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { temporaltest.Main(m) }
package temporaltest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/xhspay/xhspay/internal/temporalserver"
)

const (
	// AddressEnv names an external server's frontend host:port to use instead of an embedded one.
	AddressEnv = "XHSPAY_TEMPORAL_ADDRESS"
	// NamespaceEnv names the namespace to use on that external server (default "default").
	NamespaceEnv = "XHSPAY_TEMPORAL_NAMESPACE"

	startTimeout = 2 * time.Minute
)

var (
	address   string
	namespace string

	clientMu sync.Mutex
	shared   client.Client

	// runID keeps task queues of different runs apart on a shared external server.
	runID    = uuid.NewString()[:8]
	queueSeq atomic.Uint64
)

// Main starts the server, runs the package's tests, stops the server and
// exits with the tests' exit code.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if addr := os.Getenv(AddressEnv); addr != "" {
		address = addr
		namespace = os.Getenv(NamespaceEnv)
		if namespace == "" {
			namespace = temporalserver.DefaultNamespace
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		srv, err := temporalserver.Start(ctx, temporalserver.Options{
			UIPort: temporalserver.UIDisabled,
			Logger: logger,
		})
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "temporaltest: start embedded Temporal server: %v\n", err)
			return 1
		}
		defer func() {
			if err := srv.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "temporaltest: stop embedded Temporal server: %v\n", err)
			}
		}()
		address, namespace = srv.FrontendAddress(), srv.Namespace()
	}
	defer closeClient()
	return m.Run()
}

func closeClient() {
	clientMu.Lock()
	defer clientMu.Unlock()
	if shared != nil {
		shared.Close()
		shared = nil
	}
}

// Address returns the frontend host:port of the package's server.
func Address() string { return address }

// Namespace returns the namespace the package's tests use.
func Namespace() string { return namespace }

// Client returns the client shared by the package's tests; it is closed
// after the last test, so tests must not close it.
func Client(t testing.TB) client.Client {
	t.Helper()
	if address == "" {
		t.Fatal("temporaltest: no server: call temporaltest.Main from the package's TestMain")
	}
	clientMu.Lock()
	defer clientMu.Unlock()
	if shared == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := client.DialContext(ctx, client.Options{
			HostPort:  address,
			Namespace: namespace,
			Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr,
				&slog.HandlerOptions{Level: slog.LevelWarn}))),
		})
		if err != nil {
			t.Fatalf("temporaltest: connect to %s: %v", address, err)
		}
		shared = c
	}
	return shared
}

// TaskQueue returns a task queue name that no other test, and no other run
// against the same server, uses.
func TaskQueue(t testing.TB) string {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return name + "-" + runID + "-" + strconv.FormatUint(queueSeq.Add(1), 10)
}
