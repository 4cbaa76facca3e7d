// Package procstat reads what benchmarks report about their own process:
// peak resident memory and CPU time.
package procstat

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PeakRSSMiB is the process's peak resident set (Linux VmHWM) in MiB, or 0
// where it cannot be read.
func PeakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// CPUTime is the user and system CPU time of the process so far, or 0.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
