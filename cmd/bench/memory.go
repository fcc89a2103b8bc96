package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// memory returns the process's resident set size and its peak (VmRSS and
// VmHWM of /proc/self/status), or "n/a" where /proc is missing.
func memory() (rss, peak string) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "n/a", "n/a"
	}
	defer func() { _ = f.Close() }()
	kb, err := parseStatus(f, "VmRSS", "VmHWM")
	if err != nil {
		return "n/a", "n/a"
	}
	return formatKB(kb["VmRSS"]), formatKB(kb["VmHWM"])
}

// parseStatus reads the kB values of the named fields of a /proc status file.
func parseStatus(r io.Reader, fields ...string) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, f := range fields {
			if name != f {
				continue
			}
			v, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, f := range fields {
		if _, ok := out[f]; !ok {
			return nil, fmt.Errorf("%s missing", f)
		}
	}
	return out, nil
}

// formatKB formats a kB count as MiB.
func formatKB(kb int64) string { return fmt.Sprintf("%d MiB", kb/1024) }
