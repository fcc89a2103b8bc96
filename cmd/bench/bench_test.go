package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for name, tc := range map[string]struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		"empty":          {nil, 50, 0},
		"one":            {ms(7), 99, 7 * time.Millisecond},
		"median of odd":  {ms(5, 1, 3), 50, 3 * time.Millisecond},
		"median of even": {ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		"p99 of 100":     {ms(seq(100)...), 99, 99 * time.Millisecond},
		"p99 of 10":      {ms(seq(10)...), 99, 10 * time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, percentile(tc.in, tc.p))
		})
	}
	in := ms(3, 1, 2)
	percentile(in, 50)
	assert.Equal(t, ms(3, 1, 2), in, "the input is not reordered")
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tbench\nVmPeak:\t 2000000 kB\nVmHWM:\t  524288 kB\nVmRSS:\t  262144 kB\nThreads:\t9\n"
	kb, err := parseStatus(strings.NewReader(status), "VmRSS", "VmHWM")
	require.NoError(t, err)
	assert.Equal(t, int64(262144), kb["VmRSS"])
	assert.Equal(t, int64(524288), kb["VmHWM"])
	assert.Equal(t, "256 MiB", formatKB(kb["VmRSS"]))

	_, err = parseStatus(strings.NewReader("VmRSS:\t 1 kB\n"), "VmRSS", "VmHWM")
	assert.ErrorContains(t, err, "VmHWM missing")
	_, err = parseStatus(strings.NewReader("VmRSS:\t lots kB\nVmHWM:\t 1 kB\n"), "VmRSS", "VmHWM")
	assert.Error(t, err)
}

func TestShapeCount(t *testing.T) {
	ev := func(ty enumspb.EventType) *historypb.HistoryEvent { return &historypb.HistoryEvent{EventType: ty} }
	var a shapeCount
	for _, ty := range []enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_TIMER_CANCELED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
	} {
		a.countEvent(ev(ty))
	}
	assert.Equal(t, shapeCount{Plan: Plan{Activities: 2, Signals: 1, Timers: 1, Updates: 1}, Events: 9}, a)

	b := shapeCount{Plan: Plan{Activities: 3, Signals: 2, Timers: 2, Updates: 2}, Events: 10}
	sum := a.add(b)
	assert.Equal(t, 19, sum.Events)
	assert.Equal(t, Plan{Activities: 3, Signals: 2, Timers: 2, Updates: 2}, sum.mean(2), "rounded half away from zero")
}
