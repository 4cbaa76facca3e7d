package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/amapi"
	"github.com/custos-ir/custos/collect/imports"
	"github.com/custos-ir/custos/collect/intune"
	"github.com/custos-ir/custos/collect/jamf"
	"github.com/custos-ir/custos/collect/wsone"
	"github.com/custos-ir/custos/preserve"
)

func collectCommand() *cli.Command {
	return &cli.Command{
		Name:      "collect",
		Usage:     "collect device state and app inventory from an MDM into the case's staging area",
		UsageText: "custos collect --case DIR --source intune --tenant T --client-id ID (--all | --device SEL...)",
		Flags: commonFlags(
			caseFlag,
			&cli.StringFlag{Name: "case-id", Usage: "case identifier, when DIR is a new case"},
			&cli.StringFlag{Name: "source", Usage: "evidence source: intune, amapi, jamf, wsone, import", Required: true},
			&cli.StringFlag{Name: "from", Usage: "import: the export to import, a file or a folder (an androidqf acquisition); its format is detected"},
			&cli.StringFlag{Name: "format", Usage: "import: force the export's format: " + strings.Join(append([]string{formatAMAPILogs}, imports.Formats()...), ", ")},
			&cli.StringSliceFlag{Name: "device", Usage: "device selector id:…, serial:…, imei:…, user:…, name:… (repeatable)"},
			&cli.BoolFlag{Name: "all", Usage: "collect every device"},
			&cli.DurationFlag{Name: "stale-after", Value: 14 * 24 * time.Hour, Usage: "record devices not seen for longer as stale"},
			&cli.StringFlag{Name: "since", Usage: "start of the window of interest for admin audit events and logs: YYYY-MM-DD or RFC 3339 (default: all the source keeps)"},
			&cli.StringFlag{Name: "tenant", Usage: "intune: Entra tenant id or domain"},
			&cli.StringFlag{Name: "client-id", Usage: "intune, jamf, wsone: OAuth client id"},
			&cli.StringFlag{Name: "client-secret-file", Usage: "intune, jamf, wsone: file holding the client secret (or set CUSTOS_INTUNE_CLIENT_SECRET, CUSTOS_JAMF_CLIENT_SECRET, CUSTOS_WSONE_CLIENT_SECRET)"},
			&cli.StringFlag{Name: "graph-url", Value: intune.DefaultGraphURL, Usage: "intune: Microsoft Graph base URL"},
			&cli.StringFlag{Name: "login-url", Value: intune.DefaultLoginURL, Usage: "intune: Entra ID authority host"},
			&cli.StringFlag{Name: "scope", Usage: "intune: token scope (default GRAPH-URL/.default)"},
			&cli.StringFlag{Name: "graph-apps", Value: intune.AppsAuto, Usage: "intune: how --all reads the app inventory: auto (whichever costs fewer requests), device (each device's detectedApps), tenant (each app's devices)"},
			&cli.IntFlag{Name: "graph-batch", Value: intune.MaxBatch, Usage: "intune: per-device requests sent in one JSON $batch, 1 to 20 (1: each on its own)"},
			&cli.StringFlag{Name: "enterprise", Usage: "amapi: enterprise id (enterprises/ID)"},
			&cli.StringFlag{Name: "key-file", Usage: "amapi: service account JSON key file (or set CUSTOS_AMAPI_KEY_FILE)"},
			&cli.StringFlag{Name: "amapi-url", Value: amapi.DefaultAPIURL, Usage: "amapi: Android Management API base URL"},
			&cli.StringFlag{Name: "token-url", Usage: "amapi, wsone: OAuth token endpoint (amapi default: the key's token_uri)"},
			&cli.StringFlag{Name: "subscription", Usage: "amapi: Pub/Sub subscription of the enterprise's notifications, projects/P/subscriptions/S: drained of its usage logs"},
			&cli.StringFlag{Name: "pubsub-url", Value: amapi.DefaultPubSubURL, Usage: "amapi: Pub/Sub base URL"},
			&cli.BoolFlag{Name: "until-empty", Usage: "amapi: drain the subscription until it is empty (the default unless --duration is set)"},
			&cli.IntFlag{Name: "max-messages", Usage: "amapi: stop draining after this many messages"},
			&cli.IntFlag{Name: "pull-batch", Usage: "amapi: messages asked for by each pull, 1 to 1000 (default 100)"},
			&cli.DurationFlag{Name: "duration", Usage: "amapi: stop draining after this long (polling an empty subscription unless --until-empty)"},
			&cli.StringFlag{Name: "url", Usage: "jamf: the Jamf Pro server (https://NAME.jamfcloud.com); wsone: the REST API host (https://asNNNN.awmdm.com)"},
			&cli.StringFlag{Name: "region", Usage: "wsone: the OAuth token service's region (" + strings.Join(wsone.Regions, ", ") + "), instead of --token-url"},
			&cli.StringFlag{Name: "username", Usage: "jamf: API user for the bearer-token flow; wsone: console user for basic authentication (with --tenant-code-file); either instead of OAuth"},
			&cli.StringFlag{Name: "password-file", Usage: "jamf, wsone: file holding --username's password (or set CUSTOS_JAMF_PASSWORD, CUSTOS_WSONE_PASSWORD)"},
			&cli.StringFlag{Name: "tenant-code-file", Usage: "wsone: file holding the REST API key sent as aw-tenant-code (or set CUSTOS_WSONE_TENANT_CODE)"},
			&cli.Float64Flag{Name: "rate-limit", Usage: "requests per second to the MDM API (default: the source's safe rate, e.g. 90 for Graph; negative: unlimited)"},
			&cli.IntFlag{Name: "burst", Usage: "requests allowed at once above the rate (default: the source's)"},
			&cli.IntFlag{Name: "concurrency", Usage: "requests in flight to the MDM API (default: the source's, 4 for most, 5 and at most 5 for jamf)"},
		),
		Action: func(c *cli.Context) error {
			o := out{c}
			req, err := collectRequest(c)
			if err != nil {
				return err
			}
			src, err := sourceFromFlags(c)
			if err != nil {
				return err
			}
			cs, err := openCaseForCollect(c)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(c)
			defer stop()
			bar := newProgress(o, time.Now)
			req.Progress = bar.update
			acq, err := collectInto(ctx, o, cs, src, req, os.Args)
			bar.finish()
			if err != nil {
				return err
			}
			o.infof("acquisition %s: %d devices, %d apps, %d gaps, %d responses kept in %s",
				acq.ID, acq.Counts.Devices, acq.Counts.Apps, acq.Counts.Gaps, acq.Counts.Responses, cs.Path(preserve.StagingDir, acq.ID))
			if err := o.json(acq); err != nil {
				return err
			}
			if acq.Status != "complete" {
				return fmt.Errorf("acquisition %s %w (see gaps in provenance/acquisition.json)", acq.ID, errGaps)
			}
			return nil
		},
	}
}

func collectRequest(c *cli.Context) (collect.Request, error) {
	req := collect.Request{All: c.Bool("all"), StaleAfter: c.Duration("stale-after"), Now: time.Now().UTC()}
	for _, s := range c.StringSlice("device") {
		sel, err := collect.ParseSelector(s)
		if err != nil {
			return req, usageError{err}
		}
		req.Selectors = append(req.Selectors, sel)
	}
	if !req.All && len(req.Selectors) == 0 {
		return req, usageError{errors.New("no devices selected: pass --device SELECTOR (repeatable) or --all")}
	}
	if v := c.String("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t, err = time.Parse(time.DateOnly, v)
		}
		if err != nil {
			return req, usageError{fmt.Errorf("--since %q: want YYYY-MM-DD or an RFC 3339 time", v)}
		}
		req.Since = t.UTC()
	}
	return req, nil
}

func sourceFromFlags(c *cli.Context) (collect.Source, error) {
	switch c.String("source") {
	case intune.Name:
		secret := os.Getenv("CUSTOS_INTUNE_CLIENT_SECRET")
		if f := c.String("client-secret-file"); f != "" {
			s, err := readSecretFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading --client-secret-file: %w", err)
			}
			secret = s
		}
		if n := c.Int("graph-batch"); n < 1 || n > intune.MaxBatch {
			return nil, usageError{fmt.Errorf("--graph-batch %d: want 1 to %d", n, intune.MaxBatch)}
		}
		src, err := intune.New(intune.Config{
			Batch:  c.Int("graph-batch"),
			Tenant: c.String("tenant"), ClientID: c.String("client-id"), ClientSecret: secret,
			GraphURL: c.String("graph-url"), LoginURL: c.String("login-url"), Scope: c.String("scope"),
			HTTP: &http.Client{}, UserAgent: toolString(),
			RequestsPerSecond: c.Float64("rate-limit"), Burst: c.Int("burst"), Concurrency: c.Int("concurrency"),
		})
		if err != nil {
			return nil, usageError{err}
		}
		return src, nil
	case amapi.Name:
		path := c.String("key-file")
		if path == "" {
			path = os.Getenv("CUSTOS_AMAPI_KEY_FILE")
		}
		var key []byte
		if path != "" {
			k, err := readSecretFile(path)
			if err != nil {
				return nil, fmt.Errorf("reading the service account key: %w", err)
			}
			key = []byte(k)
		}
		src, err := amapi.New(amapi.Config{
			Key: key, Enterprise: c.String("enterprise"), APIURL: c.String("amapi-url"), TokenURL: c.String("token-url"),
			Subscription: c.String("subscription"), PubSubURL: c.String("pubsub-url"), UntilEmpty: c.Bool("until-empty"),
			MaxMessages: c.Int("max-messages"), Duration: c.Duration("duration"), PullBatch: c.Int("pull-batch"),
			HTTP: &http.Client{}, UserAgent: toolString(),
			RequestsPerSecond: c.Float64("rate-limit"), Burst: c.Int("burst"), Concurrency: c.Int("concurrency"),
		})
		if errors.Is(err, collect.ErrAuth) {
			return nil, err // a key that cannot be used: exit 4
		}
		if err != nil {
			return nil, usageError{err}
		}
		return src, nil
	case jamf.Name:
		secret, err := secretFrom(c, "client-secret-file", "CUSTOS_JAMF_CLIENT_SECRET")
		if err != nil {
			return nil, err
		}
		password, err := secretFrom(c, "password-file", "CUSTOS_JAMF_PASSWORD")
		if err != nil {
			return nil, err
		}
		if c.String("client-id") == "" {
			secret = "" // the bearer-token flow: the client secret variable is not for it
		}
		src, err := jamf.New(jamf.Config{
			URL: c.String("url"), ClientID: c.String("client-id"), ClientSecret: secret,
			Username: c.String("username"), Password: password,
			HTTP: &http.Client{}, UserAgent: toolString(), Concurrency: c.Int("concurrency"),
		})
		if err != nil {
			return nil, usageError{err}
		}
		return src, nil
	case wsone.Name:
		secret, err := secretFrom(c, "client-secret-file", "CUSTOS_WSONE_CLIENT_SECRET")
		if err != nil {
			return nil, err
		}
		password, err := secretFrom(c, "password-file", "CUSTOS_WSONE_PASSWORD")
		if err != nil {
			return nil, err
		}
		code, err := secretFrom(c, "tenant-code-file", "CUSTOS_WSONE_TENANT_CODE")
		if err != nil {
			return nil, err
		}
		if c.String("client-id") == "" {
			secret = "" // basic authentication: the client secret variable is not for it
		}
		src, err := wsone.New(wsone.Config{
			URL: c.String("url"), ClientID: c.String("client-id"), ClientSecret: secret, TokenURL: c.String("token-url"), Region: c.String("region"),
			Username: c.String("username"), Password: password, TenantCode: code,
			HTTP: &http.Client{}, UserAgent: toolString(),
			RequestsPerSecond: c.Float64("rate-limit"), Burst: c.Int("burst"), Concurrency: c.Int("concurrency"),
		})
		if err != nil {
			return nil, usageError{err}
		}
		return src, nil
	case "import":
		return importSource(c.String("from"), c.String("format"))
	}
	return nil, usageError{fmt.Errorf("unknown --source %q (this version collects from: intune, amapi, jamf, wsone, import)", c.String("source"))}
}

// secretFrom reads a secret from the file a flag names, else from an
// environment variable; never from a flag's value.
func secretFrom(c *cli.Context, flag, env string) (string, error) {
	if f := c.String(flag); f != "" {
		s, err := readSecretFile(f)
		if err != nil {
			return "", fmt.Errorf("reading --%s: %w", flag, err)
		}
		return s, nil
	}
	return os.Getenv(env), nil
}

func openCaseForCollect(c *cli.Context) (*preserve.Case, error) {
	dir := c.String("case")
	if cs, err := preserve.OpenCase(dir); err == nil {
		return cs, nil
	}
	id := c.String("case-id")
	if id == "" {
		return nil, usageError{fmt.Errorf("%s is not a case yet: pass --case-id to create it", dir)}
	}
	return preserve.OpenOrCreateCase(dir, preserve.CaseInfo{ID: id, Examiner: operator()})
}

// Import formats.
const formatAMAPILogs = "amapi-usage-logs" // Pub/Sub messages exported as NDJSON

// importSource returns the source that reads the export at path (a file
// or, for an androidqf acquisition or an export and its app export, a
// folder), in format, or in the format its content shows.
func importSource(path, format string) (collect.Source, error) {
	if path == "" {
		return nil, usageError{errors.New("--source import needs --from FILE|DIR")}
	}
	known := append([]string{formatAMAPILogs}, imports.Formats()...)
	if format == "" {
		if amapiExport(path) {
			format = formatAMAPILogs
		} else {
			f, err := imports.Detect(path)
			if errors.Is(err, imports.ErrUnknownFormat) {
				return nil, usageError{fmt.Errorf("%w: pass --format (this version imports: %s)", err, strings.Join(known, ", "))}
			}
			if err != nil {
				return nil, err
			}
			format = f
		}
	}
	switch {
	case format == formatAMAPILogs:
		return amapi.NewImport(path)
	case slices.Contains(imports.Formats(), format):
		return imports.New(path, format) // a malformed export is an error naming its file and line
	}
	return nil, usageError{fmt.Errorf("unknown --format %q (this version imports: %s)", format, strings.Join(known, ", "))}
}

// amapiExport reports whether path is a file whose first line is a
// Pub/Sub message exported as NDJSON (AMAPI usage logs).
func amapiExport(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.IsDir() {
		return false
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			return amapi.LooksExported(line)
		}
	}
	return false
}
