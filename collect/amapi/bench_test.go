package amapi

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/googlesim"
)

// BenchmarkDrain drains a subscription holding CUSTOS_BENCH_EVENTS usage
// log events (default 1,000,000) in messages of 200 events from the
// in-process simulator into a resumable staging on disk, with the
// durable Sync before every acknowledgement. It reports events/s and the
// process's peak RSS (VmHWM).
func BenchmarkDrain(b *testing.B) {
	total := 1_000_000
	if v := os.Getenv("CUSTOS_BENCH_EVENTS"); v != "" {
		total, _ = strconv.Atoi(v)
	}
	const perMessage = 200
	for range b.N {
		b.StopTimer()
		sim := googlesim.New(googlesim.Options{Devices: 50, Seed: 1, Key: testKey(), AckDeadline: time.Minute})
		sim.Publish(sim.BulkUsageLogs(total/perMessage, perMessage)...)
		srv := httptest.NewServer(sim.Handler())
		src, err := New(Config{Key: sim.ServiceAccountKey(srv.URL), Enterprise: googlesim.DefaultEnterprise, APIURL: srv.URL,
			PubSubURL: srv.URL, Subscription: googlesim.DefaultSubscription, RequestsPerSecond: -1, PullBatch: pullBatch()})
		if err != nil {
			b.Fatal(err)
		}
		dir := filepath.Join(b.TempDir(), "acq")
		st, err := collect.NewResumableStaging(dir, "bench", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := collect.Run(context.Background(), src, collect.Request{All: true}, st, &collect.Acquisition{ID: "bench"}, time.Now); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if src.Logs.Events != total {
			b.Fatalf("%d events written, %d published", src.Logs.Events, total)
		}
		b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		srv.Close()
	}
}

// peakRSSMiB is the process's peak resident set (Linux), or 0.
func peakRSSMiB() float64 {
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

// pullBatch is CUSTOS_BENCH_PULL_BATCH, default DefaultPullBatch.
func pullBatch() int {
	if n, err := strconv.Atoi(os.Getenv("CUSTOS_BENCH_PULL_BATCH")); err == nil && n > 0 {
		return n
	}
	return DefaultPullBatch
}
