package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/collect/mdmsim"
)

func simCommand() *cli.Command {
	return &cli.Command{
		Name:      "sim",
		Usage:     "serve the MDM simulator (Microsoft Graph / Intune) on loopback until interrupted",
		UsageText: "custos sim [--listen 127.0.0.1:0] [--devices N] [--seed N] [--faults SPEC] [--rate-limit N]",
		Description: "Faults are injected at random, per request, from a spec such as\n" +
			"'429=0.05,503=0.02,slow=0.01,truncate=0.005' (kinds: 401, 403, 429,\n" +
			"429-no-retry-after, 500, 502, 503, 504, slow, truncate, malformed, reset,\n" +
			"foreign-link, repeat-link; also token=P, slow-delay=D, retry-after=D).\n" +
			"The draws are seeded with --seed. --rate-limit answers 429 like Intune\n" +
			"once the token bucket is empty.",
		Flags: commonFlags(
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:0", Usage: "loopback address to listen on"},
			&cli.IntFlag{Name: "devices", Value: 50, Usage: "fleet size (devices are generated lazily; 20000 is fine)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "fleet seed (also seeds the fault draws)"},
			&cli.StringFlag{Name: "faults", Usage: "random faults to inject, e.g. '429=0.05,503=0.02,slow=0.01,truncate=0.005'"},
			&cli.Float64Flag{Name: "rate-limit", Usage: "requests per second before answering 429 (0: unlimited)"},
			&cli.IntFlag{Name: "rate-burst", Usage: "token bucket size for --rate-limit (default: one second's worth)"},
			&cli.Float64Flag{Name: "retry-after-omit", Usage: "fraction (0 to 1) of 429 and 503 responses sent without Retry-After"},
		),
		Action: func(c *cli.Context) error {
			o := out{c}
			host, _, err := net.SplitHostPort(c.String("listen"))
			if err != nil {
				return usageError{fmt.Errorf("--listen: %w", err)}
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return usageError{fmt.Errorf("--listen %s: the simulator only listens on loopback", c.String("listen"))}
			}
			faults, err := mdmsim.ParseFaults(c.String("faults"))
			if err != nil {
				return usageError{fmt.Errorf("--faults: %w", err)}
			}
			switch n := c.Int("devices"); {
			case n < 1 || n > mdmsim.MaxDevices:
				return usageError{fmt.Errorf("--devices %d: want 1 to %d", n, mdmsim.MaxDevices)}
			case c.Float64("rate-limit") < 0:
				return usageError{fmt.Errorf("--rate-limit %g: want requests per second, or 0 for no limit", c.Float64("rate-limit"))}
			case c.Int("rate-burst") < 0:
				return usageError{fmt.Errorf("--rate-burst %d: want a positive bucket size", c.Int("rate-burst"))}
			case c.Float64("retry-after-omit") < 0 || c.Float64("retry-after-omit") > 1:
				return usageError{fmt.Errorf("--retry-after-omit %g: want a fraction from 0 to 1", c.Float64("retry-after-omit"))}
			}
			ln, err := net.Listen("tcp", c.String("listen"))
			if err != nil {
				return err
			}
			defer ln.Close()
			sim := mdmsim.New(mdmsim.Options{
				Devices: c.Int("devices"), Seed: c.Int64("seed"),
				Faults: faults, RateLimit: c.Float64("rate-limit"), RateBurst: c.Int("rate-burst"),
				RetryAfterOmit: c.Float64("retry-after-omit"),
				LogLimit:       -1, // a long-running server keeps counters, not a log
			})
			base := "http://" + ln.Addr().String()
			o.text("simulating Intune (Microsoft Graph) at %s with %d devices (seed %d)", base, c.Int("devices"), c.Int64("seed"))
			if spec := faults.String(); spec != "" {
				o.text("injecting faults: %s", spec)
			}
			if r := c.Float64("rate-limit"); r > 0 {
				o.text("rate limit: %g requests/s", r)
			}
			o.text("collect with:\n  CUSTOS_INTUNE_CLIENT_SECRET=%s custos collect --case CASE --case-id CASE-1 --source intune --all \\\n    --tenant %s --client-id %s --graph-url %s --login-url %s --scope https://graph.microsoft.com/.default",
				mdmsim.DemoClientSecret, mdmsim.DefaultTenant, mdmsim.DemoClientID, base, base)
			if err := o.json(map[string]any{
				"url": base, "tenant": mdmsim.DefaultTenant, "client_id": mdmsim.DemoClientID, "planted": sim.Fleet().Planted,
				"devices": c.Int("devices"), "seed": c.Int64("seed"), "faults": faults.String(), "rate_limit": c.Float64("rate-limit"),
			}); err != nil {
				return err
			}
			ctx, stop := signalContext(c)
			defer stop()
			srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-ctx.Done()
				srv.Close()
			}()
			if err := srv.Serve(ln); err != http.ErrServerClosed {
				return err
			}
			o.infof("%s", statsLine(sim.Stats()))
			return nil
		},
	}
}

// statsLine summarises what the simulator sent.
func statsLine(st mdmsim.Stats) string {
	var faults []string
	for _, f := range mdmsim.AllFaults() {
		if n := st.Faults[f]; n > 0 {
			faults = append(faults, fmt.Sprintf("%s=%d", f, n))
		}
	}
	line := fmt.Sprintf("served %d requests (+%d inside $batch), %d answered 429 (%d by the rate limit)",
		st.Requests, st.BatchItems, st.Status429, st.Throttled)
	if len(faults) > 0 {
		line += ", faults " + strings.Join(faults, " ")
	}
	if st.Unexpected > 0 {
		line += fmt.Sprintf(", %d for paths not simulated", st.Unexpected)
	}
	return line
}
