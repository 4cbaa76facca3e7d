package amapi

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/googlesim"
	"github.com/custos-ir/custos/internal/procstat"
)

// benchSimEnv makes the test binary a simulator process for BenchmarkDrain.
const benchSimEnv = "CUSTOS_BENCH_SIM_EVENTS"

// TestMain serves the simulator when the benchmark starts this binary as
// its own simulator process; otherwise it runs the tests.
func TestMain(m *testing.M) {
	if v := os.Getenv(benchSimEnv); v != "" {
		total, _ := strconv.Atoi(v)
		serveBenchSim(total)
		return
	}
	os.Exit(m.Run())
}

// serveBenchSim publishes total events in messages of 200 and serves the
// simulator on loopback until stdin closes, after printing one line: the
// URL and the service account key, base64.
func serveBenchSim(total int) {
	const perMessage = 200
	sim := googlesim.New(googlesim.Options{Devices: 50, Seed: 1, AckDeadline: time.Minute})
	sim.Publish(sim.BulkUsageLogs(total/perMessage, perMessage)...)
	srv := httptest.NewServer(sim.Handler())
	fmt.Println(srv.URL, base64.StdEncoding.EncodeToString(sim.ServiceAccountKey(srv.URL)))
	cpu0 := procstat.CPUTime()
	bufio.NewReader(os.Stdin).ReadString('\n')
	srv.Close()
	fmt.Println(int64(procstat.CPUTime() - cpu0)) // the CPU time spent serving

}

// BenchmarkDrain drains a subscription holding CUSTOS_BENCH_EVENTS usage
// log events (default 1,000,000) in messages of 200 events, served by a
// simulator in its own process, into a resumable staging on disk, with
// the durable Sync before every acknowledgement. It reports events/s and
// this process's peak RSS (VmHWM): the collector's alone.
func BenchmarkDrain(b *testing.B) {
	total := 1_000_000
	if v := os.Getenv("CUSTOS_BENCH_EVENTS"); v != "" {
		total, _ = strconv.Atoi(v)
	}
	for range b.N {
		b.StopTimer()
		url, key, stop := startBenchSim(b, total)
		src, err := New(Config{Key: key, Enterprise: googlesim.DefaultEnterprise, APIURL: url,
			PubSubURL: url, Subscription: googlesim.DefaultSubscription, RequestsPerSecond: -1, PullBatch: pullBatch()})
		if err != nil {
			b.Fatal(err)
		}
		dir := filepath.Join(b.TempDir(), "acq")
		st, err := collect.NewResumableStaging(dir, "bench", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), procstat.CPUTime()
		if err := collect.Run(context.Background(), src, collect.Request{All: true}, st, &collect.Acquisition{ID: "bench"}, time.Now); err != nil {
			b.Fatal(err)
		}
		elapsed, cpu := time.Since(start), procstat.CPUTime()-cpu0
		b.StopTimer()
		simCPU := stop()
		if src.Logs.Events != total {
			b.Fatalf("%d events written, %d published", src.Logs.Events, total)
		}
		b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
		b.ReportMetric(procstat.PeakRSSMiB(), "peak-RSS-MiB")
		b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "collector-cores")
		b.ReportMetric(simCPU.Seconds()/elapsed.Seconds(), "simulator-cores")
	}
}

// startBenchSim starts this test binary as the simulator and waits until
// it serves.
func startBenchSim(b *testing.B, total int) (url string, key []byte, stop func() time.Duration) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchSimEnv+"="+strconv.Itoa(total))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	url, k, ok := strings.Cut(strings.TrimSpace(line), " ")
	if err != nil || !ok {
		cmd.Process.Kill()
		b.Fatalf("simulator process: %q, %v", line, err)
	}
	if key, err = base64.StdEncoding.DecodeString(k); err != nil || !json.Valid(key) {
		cmd.Process.Kill()
		b.Fatalf("simulator process key: %v", err)
	}
	if resp, err := http.Get(url + "/"); err == nil {
		resp.Body.Close()
	}
	return url, key, func() time.Duration {
		stdin.Close()
		line, _ := out.ReadString('\n')
		cmd.Wait()
		ns, _ := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		return time.Duration(ns) // CPU time spent serving, from the start of the drain
	}
}

// pullBatch is CUSTOS_BENCH_PULL_BATCH, default DefaultPullBatch.
func pullBatch() int {
	if n, err := strconv.Atoi(os.Getenv("CUSTOS_BENCH_PULL_BATCH")); err == nil && n > 0 {
		return n
	}
	return DefaultPullBatch
}
