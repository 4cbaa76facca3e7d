package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custos-ir/custos/collect/googlesim"
	"github.com/custos-ir/custos/collect/jamfsim"
	"github.com/custos-ir/custos/collect/mdmsim"
	"github.com/custos-ir/custos/collect/wsonesim"
	"github.com/custos-ir/custos/internal/jsonschema"
	attackdata "github.com/custos-ir/custos/third_party/attack"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func TestMain(m *testing.M) {
	// Tests that must kill a real custos process re-run this binary as
	// custos (resume_test.go).
	if os.Getenv(runAsCustosEnv) == "1" {
		os.Exit(run(os.Args, os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"custos": func() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"tamper":       cmdTamper,
			"exitcode":     cmdExitCode,
			"setglob":      cmdSetGlob,
			"sshagent":     cmdSSHAgent,
			"mdmsim":       cmdMDMSim,
			"googlesim":    cmdGoogleSim,
			"wsonesim":     cmdWSOneSim,
			"jamfsim":      cmdJamfSim,
			"attackbundle": cmdAttackBundle,
			"schema":       cmdSchema,
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("SOURCE_DATE_EPOCH", "")
			// Imported ATT&CK data goes here, never into the user's
			// configuration.
			env.Setenv("CUSTOS_ATTACK_DIR", filepath.Join(env.WorkDir, ".attack"))
			// The import fixtures of collect/imports, read in place.
			fixtures, err := filepath.Abs(filepath.Join("..", "..", "collect", "imports", "testdata"))
			if err != nil {
				return err
			}
			env.Setenv("IMPORTS", fixtures)
			return nil
		},
	})
}

// cmdTamper rewrites an archive with one byte of one entry changed:
//
//	tamper ARCHIVE ENTRY-SUFFIX OFFSET
//
// It decompresses the tar.zst, flips the byte at OFFSET of the first entry
// whose name ends in ENTRY-SUFFIX, and recompresses, so the container stays
// well formed and only the content check can notice.
func cmdTamper(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: tamper ARCHIVE ENTRY-SUFFIX OFFSET")
	}
	path := ts.MkAbs(args[0])
	off, err := strconv.Atoi(args[2])
	ts.Check(err)
	f, err := os.Open(path)
	ts.Check(err)
	zr, err := zstd.NewReader(f)
	ts.Check(err)
	var out bytes.Buffer
	zw, err := zstd.NewWriter(&out)
	ts.Check(err)
	tr, tw := tar.NewReader(zr), tar.NewWriter(zw)
	done := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		ts.Check(err)
		data, err := io.ReadAll(tr)
		ts.Check(err)
		if !done && hdr.Typeflag == tar.TypeReg && strings.HasSuffix(hdr.Name, args[1]) {
			if off >= len(data) {
				ts.Fatalf("%s has %d bytes, offset %d out of range", hdr.Name, len(data), off)
			}
			data[off] ^= 0x01
			done = true
			ts.Logf("flipped byte %d of %s", off, hdr.Name)
		}
		ts.Check(tw.WriteHeader(hdr))
		_, err = tw.Write(data)
		ts.Check(err)
	}
	if !done {
		ts.Fatalf("no entry ending in %q", args[1])
	}
	ts.Check(tw.Close())
	ts.Check(zw.Close())
	zr.Close()
	f.Close()
	ts.Check(os.Chmod(path, 0o644))
	ts.Check(os.WriteFile(path, out.Bytes(), 0o644))
}

// cmdExitCode runs a program and checks its exit status:
//
//	exitcode CODE PROGRAM ARGS...
//
// Output is kept for stdout/stderr assertions, as with exec.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode CODE PROGRAM ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("running %s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// cmdSetGlob sets VAR to the single file matching PATTERN, and VAR_BASE to
// its base name:
//
//	setglob VAR PATTERN
func cmdSetGlob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: setglob VAR PATTERN")
	}
	m, err := filepath.Glob(ts.MkAbs(args[1]))
	ts.Check(err)
	if len(m) != 1 {
		ts.Fatalf("%s matches %d files, want 1", args[1], len(m))
	}
	ts.Setenv(args[0], m[0])
	ts.Setenv(args[0]+"_BASE", filepath.Base(m[0]))
}

// cmdSSHAgent serves an in-process ssh-agent holding the given unencrypted
// private key files (none: an empty agent) until the script ends, and
// points SSH_AUTH_SOCK at it. Each key's comment is its file name.
//
//	sshagent [KEYFILE...]
func cmdSSHAgent(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: sshagent [KEYFILE...]")
	}
	kr := agent.NewKeyring()
	for _, f := range args {
		key, err := ssh.ParseRawPrivateKey([]byte(ts.ReadFile(f)))
		ts.Check(err)
		ts.Check(kr.Add(agent.AddedKey{PrivateKey: key, Comment: filepath.Base(f)}))
	}
	// A unix socket path must stay short (about 100 bytes): not under $WORK.
	dir, err := os.MkdirTemp("", "custos-agent")
	ts.Check(err)
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	ts.Check(err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				agent.ServeAgent(kr, c)
			}()
		}
	}()
	ts.Defer(func() {
		l.Close()
		wg.Wait() // clients are custos processes that have exited
		os.RemoveAll(dir)
	})
	ts.Setenv("SSH_AUTH_SOCK", sock)
}

// cmdMDMSim starts the Graph simulator for the rest of the script and sets
// GRAPH to its URL and CUSTOS_INTUNE_CLIENT_SECRET to its secret:
//
//	mdmsim [DEVICES]
func cmdMDMSim(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: mdmsim [DEVICES]")
	}
	opts := mdmsim.Options{Devices: 12, Seed: 1}
	if len(args) == 1 {
		n, err := strconv.Atoi(args[0])
		ts.Check(err)
		opts.Devices = n
	}
	sim, err := mdmsim.Start(opts)
	ts.Check(err)
	ts.Defer(func() { sim.Close() })
	ts.Setenv("GRAPH", sim.URL())
	ts.Setenv("CUSTOS_INTUNE_CLIENT_SECRET", mdmsim.DemoClientSecret)
	ts.Setenv("TENANT", mdmsim.DefaultTenant)
	ts.Setenv("CLIENT_ID", mdmsim.DemoClientID)
}

// cmdGoogleSim starts the Google simulator for the rest of the script,
// writes its service account key to $WORK/sa.json (and, in
// $WORK/other-sa.json, a key file for the same account with another RSA
// key, which the token endpoint refuses) and sets AMAPI to its URL and
// ENTERPRISE to its enterprise; SUBSCRIPTION names its Pub/Sub
// subscription, which holds the fleet's usage logs, also exported to
// $WORK/usage-logs.ndjson:
//
//	googlesim [DEVICES]
func cmdGoogleSim(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: googlesim [DEVICES]")
	}
	opts := googlesim.Options{Devices: 12, Seed: 1}
	if len(args) == 1 {
		n, err := strconv.Atoi(args[0])
		ts.Check(err)
		opts.Devices = n
	}
	sim := googlesim.New(opts)
	sim.Publish(sim.UsageLogs()...)
	srv := httptest.NewServer(sim.Handler())
	ts.Defer(srv.Close)
	ts.Check(os.WriteFile(ts.MkAbs("sa.json"), sim.ServiceAccountKey(srv.URL), 0o600))
	other := googlesim.New(googlesim.Options{Devices: 1})
	ts.Check(os.WriteFile(ts.MkAbs("other-sa.json"), other.ServiceAccountKey(srv.URL), 0o600))
	ts.Setenv("AMAPI", srv.URL)
	ts.Setenv("ENTERPRISE", googlesim.DefaultEnterprise)
	ts.Setenv("SUBSCRIPTION", googlesim.DefaultSubscription)
	ts.Check(os.WriteFile(ts.MkAbs("usage-logs.ndjson"), googlesim.ExportNDJSON(sim.UsageLogs()), 0o644))
}

// cmdJamfSim starts the Jamf Pro simulator for the rest of the script and
// sets JAMF to its URL, JAMF_CLIENT_ID, CUSTOS_JAMF_CLIENT_SECRET, JAMF_USER
// and $WORK/jamf-password for the bearer-token flow:
//
//	jamfsim [DEVICES]
func cmdJamfSim(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: jamfsim [DEVICES]")
	}
	opts := jamfsim.Options{Seed: 1}
	if len(args) == 1 {
		n, err := strconv.Atoi(args[0])
		ts.Check(err)
		opts.Devices = n
	}
	sim, err := jamfsim.Start(opts)
	ts.Check(err)
	ts.Defer(func() { sim.Close() })
	ts.Setenv("JAMF", sim.URL())
	ts.Setenv("JAMF_CLIENT_ID", jamfsim.DemoClientID)
	ts.Setenv("CUSTOS_JAMF_CLIENT_SECRET", jamfsim.DemoClientSecret)
	ts.Setenv("JAMF_USER", jamfsim.DemoUsername)
	ts.Check(os.WriteFile(ts.MkAbs("jamf-password"), []byte(jamfsim.DemoPassword), 0o600))
}

// cmdWSOneSim starts the Workspace ONE simulator for the rest of the
// script and sets WSONE to its URL, WSONE_TOKEN_URL to its token endpoint,
// WSONE_CLIENT_ID, CUSTOS_WSONE_CLIENT_SECRET, and $WORK/wsone-password and
// $WORK/wsone-tenant-code for basic authentication (user WSONE_USER):
//
//	wsonesim [DEVICES]
func cmdWSOneSim(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: wsonesim [DEVICES]")
	}
	opts := wsonesim.Options{Seed: 1}
	if len(args) == 1 {
		n, err := strconv.Atoi(args[0])
		ts.Check(err)
		opts.Devices = n
	}
	sim, err := wsonesim.Start(opts)
	ts.Check(err)
	ts.Defer(func() { sim.Close() })
	ts.Setenv("WSONE", sim.URL())
	ts.Setenv("WSONE_TOKEN_URL", sim.TokenURL())
	ts.Setenv("WSONE_CLIENT_ID", wsonesim.DemoClientID)
	ts.Setenv("CUSTOS_WSONE_CLIENT_SECRET", wsonesim.DemoClientSecret)
	ts.Setenv("WSONE_USER", wsonesim.DemoUsername)
	ts.Check(os.WriteFile(ts.MkAbs("wsone-password"), []byte(wsonesim.DemoPassword), 0o600))
	ts.Check(os.WriteFile(ts.MkAbs("wsone-tenant-code"), []byte(wsonesim.DemoTenantCode), 0o600))
}

// cmdAttackBundle writes the embedded ATT&CK bundle, decompressed:
//
//	attackbundle FILE
func cmdAttackBundle(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: attackbundle FILE")
	}
	r, err := attackdata.Open()
	ts.Check(err)
	defer r.Close()
	f, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	_, err = io.Copy(f, r)
	ts.Check(err)
	ts.Check(f.Close())
}

// cmdSchema validates a JSON file against a schema of the repository:
//
//	schema SCHEMA-IN-DOCS FILE
func cmdSchema(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: schema SCHEMA FILE")
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", args[0]))
	ts.Check(err)
	s, err := jsonschema.Parse(raw)
	ts.Check(err)
	data, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	errs := s.Validate(data)
	for _, err := range errs {
		ts.Logf("%s: %v", args[1], err)
	}
	if (len(errs) > 0) != neg {
		ts.Fatalf("%s: %d schema violation(s)", args[1], len(errs))
	}
}
