// Package temporalserver runs a complete Temporal server, with its Web UI, in
// the current process: SQLite persistence (in memory or in a file), one
// namespace with the project's custom search attributes, and dynamic config
// suited to a single machine.
package temporalserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"github.com/xhspay/xhspay/internal/searchattr"
)

const (
	// DefaultHost is the address the server listens on when Options.Host is empty.
	DefaultHost = "127.0.0.1"
	// DefaultPort is the conventional frontend gRPC port, used by DefaultOptions.
	DefaultPort = 7233
	// DefaultUIPort is the conventional Web UI port, used by DefaultOptions.
	DefaultUIPort = 8233
	// DefaultNamespace is the namespace created when Options.Namespace is empty.
	DefaultNamespace = "default"
	// UIDisabled as Options.UIPort runs the server without its Web UI.
	UIDisabled = -1

	clusterName = "active"
	storeName   = "sqlite-default"
	// readyTimeout bounds Start's wait for the frontend and the UI when the
	// context has no deadline of its own.
	readyTimeout = time.Minute
)

// Options configures an embedded server; the zero value is valid and picks
// free ports for both the frontend and the UI.
type Options struct {
	// Host is the IP address the frontend and UI listen on (default 127.0.0.1).
	Host string
	// Port is the frontend gRPC port; 0 picks a free port.
	Port int
	// UIPort is the Web UI port; 0 picks a free port and UIDisabled (-1) turns the UI off.
	UIPort int
	// DBFile is the SQLite database file, created with its schema when
	// missing; empty keeps everything in memory for the life of the server.
	DBFile string
	// Namespace is the namespace created at boot (default "default").
	Namespace string
	// SearchAttributes are the namespace's custom search attributes (default searchattr.Definitions()).
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's logs at warn level and above (default slog.Default()).
	Logger *slog.Logger
	// CodecEndpoint is the codec server URL the Web UI uses to decode payloads.
	CodecEndpoint string
	// DynamicConfig overrides dynamic config values by key, e.g. "history.persistenceMaxQPS": 10000.
	DynamicConfig map[string]any
}

// DefaultOptions returns the options of a conventional local dev server:
// frontend on 127.0.0.1:7233 and Web UI on 127.0.0.1:8233, in memory.
func DefaultOptions() Options {
	return Options{Host: DefaultHost, Port: DefaultPort, UIPort: DefaultUIPort, Namespace: DefaultNamespace}
}

// Server is a running embedded Temporal server.
type Server struct {
	frontendAddr string
	httpAddr     string
	uiAddr       string
	namespace    string

	logLevel *slog.LevelVar
	logger   *slog.Logger
	server   temporal.Server
	ui       *uiserver.Server
	uiDone   chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// Start boots a server and returns once its frontend answers, its namespace
// lists the configured search attributes and, when enabled, its UI answers
// HTTP. ctx bounds that wait (one minute when ctx has no deadline).
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts = withDefaults(opts)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}

	// Claim every port before anything starts, so a conflict leaves nothing behind.
	var err error
	if opts.Port, err = resolvePort(opts.Host, opts.Port); err != nil {
		return nil, fmt.Errorf("frontend: %w", err)
	}
	if opts.UIPort == opts.Port && opts.Port != 0 {
		return nil, fmt.Errorf("frontend and UI cannot share port %d", opts.Port)
	}
	if opts.UIPort != UIDisabled {
		if opts.UIPort, err = resolvePort(opts.Host, opts.UIPort); err != nil {
			return nil, fmt.Errorf("web UI: %w", err)
		}
		if opts.UIPort == opts.Port { // a free port can only collide with a checked one
			if opts.UIPort, err = uniqueFreePort(opts.Host, map[int]bool{opts.Port: true}); err != nil {
				return nil, err
			}
		}
	}
	taken := map[int]bool{opts.Port: true, opts.UIPort: true}
	httpPort, err := uniqueFreePort(opts.Host, taken)
	if err != nil {
		return nil, err
	}
	taken[httpPort] = true
	internalHost := dialHost(opts.Host)
	var internalPorts [3]int // history, matching, worker
	for i := range internalPorts {
		if internalPorts[i], err = uniqueFreePort(internalHost, taken); err != nil {
			return nil, err
		}
		taken[internalPorts[i]] = true
	}

	logLevel := new(slog.LevelVar)
	logLevel.Set(slog.LevelWarn)
	logger := slog.New(&levelHandler{min: logLevel, handler: opts.Logger.Handler()})

	frontendAddr := net.JoinHostPort(dialHost(opts.Host), strconv.Itoa(opts.Port))
	httpAddr := net.JoinHostPort(dialHost(opts.Host), strconv.Itoa(httpPort))
	sqlConf, err := prepareDatabase(opts)
	if err != nil {
		return nil, err
	}
	conf := serverConfig(opts, sqlConf, frontendAddr, httpAddr, httpPort, internalHost, internalPorts)
	hostsFor := func(addr string) static.Hosts { return static.SingleLocalHost(addr) }
	internalAddr := func(port int) string { return net.JoinHostPort(internalHost, strconv.Itoa(port)) }
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: hostsFor(frontendAddr),
			primitives.HistoryService:  hostsFor(internalAddr(internalPorts[0])),
			primitives.MatchingService: hostsFor(internalAddr(internalPorts[1])),
			primitives.WorkerService:   hostsFor(internalAddr(internalPorts[2])),
		}),
		temporal.WithLogger(serverLogger{log: logger}),
		temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
			return authorization.NewNoopClaimMapper()
		}),
		temporal.WithDynamicConfigClient(dynamicConfig(opts.DynamicConfig)),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server on %s: %w", frontendAddr, err)
	}
	s := &Server{
		frontendAddr: frontendAddr,
		httpAddr:     httpAddr,
		namespace:    opts.Namespace,
		logLevel:     logLevel,
		logger:       logger,
		server:       srv,
	}

	if err := s.waitFrontend(ctx, opts.SearchAttributes); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	if opts.UIPort != UIDisabled {
		if err := s.startUI(ctx, opts); err != nil {
			return nil, errors.Join(err, s.Stop())
		}
	}
	return s, nil
}

// FrontendAddress returns the host:port a client dials to reach the frontend.
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// HTTPAddress returns the host:port of the frontend's HTTP API (also used by Nexus).
func (s *Server) HTTPAddress() string { return s.httpAddr }

// UIAddress returns the host:port of the Web UI, or "" when the UI is disabled.
func (s *Server) UIAddress() string { return s.uiAddr }

// Namespace returns the namespace created at boot.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the UI and the server and releases their ports; later calls
// return the first call's result. Database files are left in place.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		// Shutting down cancels in-flight calls, which the server reports as
		// warnings and errors: nothing to act on, so they are not logged.
		s.logLevel.Set(slog.LevelError + 1)
		if s.ui != nil {
			s.ui.Stop()
			<-s.uiDone
		}
		if err := s.server.Stop(); err != nil {
			s.stopErr = fmt.Errorf("stop temporal server: %w", err)
		}
	})
	return s.stopErr
}

func withDefaults(opts Options) Options {
	if opts.Host == "" {
		opts.Host = DefaultHost
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.SearchAttributes == nil {
		opts.SearchAttributes = searchattr.Definitions()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return opts
}

// resolvePort returns port if it is free on host, or a free port when port is 0.
func resolvePort(host string, port int) (int, error) {
	if port == 0 {
		return freePort(host)
	}
	if port < 0 || port > 65535 {
		return 0, fmt.Errorf("invalid port %d", port)
	}
	return port, checkPortFree(host, port)
}

// uniqueFreePort returns a free port on host that is not in taken.
func uniqueFreePort(host string, taken map[int]bool) (int, error) {
	for range 10 {
		port, err := freePort(host)
		if err != nil {
			return 0, err
		}
		if !taken[port] {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port on %s distinct from %v", host, taken)
}

// prepareDatabase returns the SQLite config for opts, with its schema and
// namespace in place.
func prepareDatabase(opts Options) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if opts.DBFile == "" {
		// The plugin creates the schema of an in-memory database itself; the
		// random name keeps several servers in one process apart.
		conf.DatabaseName = "temporal-" + uuid.NewString()
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
	} else {
		conf.DatabaseName = opts.DBFile
		conf.ConnectAttributes = map[string]string{"mode": "rwc"}
		_, err := os.Stat(opts.DBFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("set up schema in %s: %w", opts.DBFile, err)
			}
		case err != nil:
			return nil, fmt.Errorf("database file: %w", err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace %q: %w", opts.Namespace, err)
	}
	// A namespace already present in a reused file is left as it is; missing
	// search attributes are added once the server is up.
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("create namespace %q: %w", opts.Namespace, err)
	}
	return conf, nil
}

func serverConfig(opts Options, sqlConf *config.SQL, frontendAddr, httpAddr string, httpPort int, internalHost string, internalPorts [3]int) *config.Config {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = internalHost

	conf.Persistence.DefaultStore = storeName
	conf.Persistence.VisibilityStore = storeName
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{storeName: {SQL: sqlConf}}

	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddr,
				HTTPAddress:            httpAddr,
				ClusterID:              uuid.NewString(),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"

	service := func(bindIP string, port int) config.Service {
		var svc config.Service
		svc.RPC.BindOnIP = bindIP
		svc.RPC.GRPCPort = port
		return svc
	}
	// Membership is static (see WithStaticHosts), so no gossip port is opened.
	frontend := service(opts.Host, opts.Port)
	frontend.RPC.HTTPPort = httpPort
	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): frontend,
		string(primitives.HistoryService):  service(internalHost, internalPorts[0]),
		string(primitives.MatchingService): service(internalHost, internalPorts[1]),
		string(primitives.WorkerService):   service(internalHost, internalPorts[2]),
	}

	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontendAddr
	return &conf
}

// dynamicConfig returns the single-machine defaults with overrides applied.
func dynamicConfig(overrides map[string]any) dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{
		// Search attributes added at run time are visible at once; the cache
		// it bypasses is why the persistence rate limits are raised below.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		dynamicconfig.FrontendPersistenceMaxQPS.Key():               10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():                45000,
		// Nexus endpoints created at run time are visible at once.
		dynamicconfig.ForceNexusEndpointRefreshOnRead.Key(): true,
		// One host holds every workflow: keep more of them cached.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 8096,
		// Tests poll visibility; the default per-instance limit is low.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Workflow Update, including Update-with-Start, and Schedules.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		dynamicconfig.FrontendEnableSchedules.Key():                            true,
		dynamicconfig.WorkerEnableScheduler.Key():                              true,
		// No calls out to the internet.
		dynamicconfig.EnableServerVersionCheck.Key(): false,
		// Background maintenance meant for long-lived clusters. The server
		// never stops these system workers, so each would keep polling a
		// stopped server from the host process. Without the parent close
		// policy worker, history applies parent close policies itself.
		dynamicconfig.EnableParentClosePolicyWorker.Key(): false,
		dynamicconfig.TaskQueueScannerEnabled.Key():       false,
		dynamicconfig.HistoryScannerEnabled.Key():         false,
	}
	for k, v := range overrides {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc
}

// waitFrontend waits until the frontend serves the namespace with every
// search attribute in want, adding those a reused database lacks.
func (s *Server) waitFrontend(ctx context.Context, want map[string]enumspb.IndexedValueType) error {
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  s.frontendAddr,
		Namespace: s.namespace,
		Logger:    sdklog.NewStructuredLogger(s.logger),
	})
	if err != nil {
		return fmt.Errorf("connect to frontend %s: %w", s.frontendAddr, err)
	}
	defer c.Close()

	var lastErr error
	for {
		lastErr = s.checkNamespace(ctx, c, want)
		var conflict *conflictError
		switch {
		case lastErr == nil:
			return nil
		case errors.As(lastErr, &conflict):
			return lastErr
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("frontend %s not ready: %w (last error: %w)", s.frontendAddr, ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) checkNamespace(ctx context.Context, c client.Client, want map[string]enumspb.IndexedValueType) error {
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{
		Namespace: s.namespace,
	}); err != nil {
		return fmt.Errorf("describe namespace %q: %w", s.namespace, err)
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{
		Namespace: s.namespace,
	})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		got, ok := resp.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			return &conflictError{msg: fmt.Sprintf("search attribute %s is %s in namespace %q, want %s", name, got, s.namespace, typ)}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        s.namespace,
		SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return fmt.Errorf("%d search attributes were just added, checking again", len(missing))
}

// conflictError is a readiness failure that waiting cannot cure.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }

// startUI serves the Web UI in the background and waits until it answers HTTP.
func (s *Server) startUI(ctx context.Context, opts Options) error {
	s.uiAddr = net.JoinHostPort(dialHost(opts.Host), strconv.Itoa(opts.UIPort))
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                bracketIPv6(opts.Host),
		Port:                opts.UIPort,
		TemporalGRPCAddress: s.frontendAddr,
		EnableUI:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
		Codec:               uiconfig.Codec{Endpoint: opts.CodecEndpoint},
	}))
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		// Start blocks until Stop; the port was checked free beforehand.
		if err := s.ui.Start(); err != nil {
			s.logger.Error("web UI stopped", "address", s.uiAddr, "error", err)
		}
	}()

	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	defer hc.CloseIdleConnections()
	url := "http://" + s.uiAddr + "/"
	var lastErr error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("web UI request: %w", err)
		}
		resp, err := hc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("web UI %s not ready: %w (last error: %w)", s.uiAddr, ctx.Err(), lastErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
