package procstat

import (
	"runtime"
	"testing"
)

var sink []byte

func TestReadsItsOwnProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc and getrusage")
	}
	sink = make([]byte, 32<<20)
	for i := range sink {
		sink[i] = byte(i)
	}
	if rss := PeakRSSMiB(); rss < 32 {
		t.Errorf("peak RSS %.1f MiB after touching 32 MiB", rss)
	}
	if CPUTime() <= 0 {
		t.Error("no CPU time")
	}
}
