package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/collect/mdmsim"
)

func simCommand() *cli.Command {
	return &cli.Command{
		Name:      "sim",
		Usage:     "serve the MDM simulator (Microsoft Graph / Intune) on loopback until interrupted",
		UsageText: "custos sim [--listen 127.0.0.1:0] [--devices N] [--seed N]",
		Flags: commonFlags(
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:0", Usage: "loopback address to listen on"},
			&cli.IntFlag{Name: "devices", Value: 50, Usage: "fleet size"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "fleet seed"},
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
			ln, err := net.Listen("tcp", c.String("listen"))
			if err != nil {
				return err
			}
			sim := mdmsim.New(mdmsim.Options{Devices: c.Int("devices"), Seed: c.Int64("seed")})
			base := "http://" + ln.Addr().String()
			o.text("simulating Intune (Microsoft Graph) at %s with %d devices (seed %d)", base, c.Int("devices"), c.Int64("seed"))
			o.text("collect with:\n  CUSTOS_INTUNE_CLIENT_SECRET=%s custos collect --case CASE --case-id CASE-1 --source intune --all \\\n    --tenant %s --client-id %s --graph-url %s --login-url %s --scope https://graph.microsoft.com/.default",
				mdmsim.DemoClientSecret, mdmsim.DefaultTenant, mdmsim.DemoClientID, base, base)
			if err := o.json(map[string]any{"url": base, "tenant": mdmsim.DefaultTenant, "client_id": mdmsim.DemoClientID, "planted": sim.Fleet().Planted}); err != nil {
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
			return nil
		},
	}
}
