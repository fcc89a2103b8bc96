package temporalserver

import (
	"fmt"
	"net"
	"runtime"
	"strconv"
)

// checkPortFree reports an error naming the address if nothing can listen on
// host:port right now.
func checkPortFree(host string, port int) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is already in use: %w", addr, err)
	}
	if err := l.Close(); err != nil {
		return fmt.Errorf("release %s: %w", addr, err)
	}
	return nil
}

// freePort asks the OS for a TCP port that is free on host.
//
// On Linux the kernel may hand the same ephemeral port out again right after
// it is released. To make that unlikely, the port is first put in TIME_WAIT
// by a connection that the listening side closes: the kernel then skips it
// for bind(:0) for a while, yet an explicit bind (with SO_REUSEADDR, which
// Go sets on listeners) still succeeds.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("pick a free port on %s: %w", host, err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		// These allocate ephemeral ports sequentially: no reuse to avoid.
		return port, nil
	}
	client, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("pick a free port on %s: %w", host, err)
	}
	defer func() { _ = client.Close() }()
	server, err := l.Accept()
	if err != nil {
		return 0, fmt.Errorf("pick a free port on %s: %w", host, err)
	}
	// Closing from the accepting side first leaves that side in TIME_WAIT.
	_ = server.Close()
	return port, nil
}

// dialHost returns the address other processes use to reach a listener bound
// on host: a wildcard address is reached through loopback.
func dialHost(host string) string {
	ip := net.ParseIP(host)
	switch {
	case ip == nil || !ip.IsUnspecified():
		return host
	case ip.To4() != nil:
		return "127.0.0.1"
	default:
		return "::1"
	}
}

// bracketIPv6 wraps an IPv6 literal in brackets, for configurations that
// join host and port with a plain colon.
func bracketIPv6(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "[" + host + "]"
	}
	return host
}
