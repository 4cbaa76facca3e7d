// Package chromium prints custos's HTML report to PDF with a headless
// Chromium (or Chrome) through the DevTools protocol (chromedp), offline:
// the page is a local file, and every network request the browser might
// attempt is blocked.
//
// It is apart from package report, which must not depend on networking
// code: chromedp speaks to the browser over a local WebSocket.
package chromium

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/custos-ir/custos/internal/fsutil"
)

// ErrNotFound says no Chromium or Chrome executable was found.
var ErrNotFound = errors.New("no Chromium or Chrome found: install one (Debian: apt-get install chromium) or set CUSTOS_CHROMIUM to its path")

// names are the executables looked for on PATH, in order.
var names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless-shell"}

// Find returns the browser to use: $CUSTOS_CHROMIUM if set, otherwise the
// first of the usual names on PATH (and, on macOS, the usual application
// paths).
func Find() (string, error) {
	if p := os.Getenv("CUSTOS_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CUSTOS_CHROMIUM: %w", err)
		}
		return p, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	if runtime.GOOS == "darwin" {
		for _, p := range []string{"/Applications/Chromium.app/Contents/MacOS/Chromium", "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"} {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", ErrNotFound
}

// noSandbox reports whether the browser must run without its sandbox:
// Chromium refuses to start its sandbox as root (as in most containers
// and CI), and CUSTOS_CHROMIUM_NO_SANDBOX=1 asks for it where the sandbox
// cannot start otherwise. Elsewhere the sandbox stays on: the page shows
// strings from devices, escaped and under a strict CSP, but still
// untrusted.
func noSandbox() bool {
	return os.Geteuid() == 0 || os.Getenv("CUSTOS_CHROMIUM_NO_SANDBOX") == "1"
}

// blocked are the URL patterns the browser may not load: the report is a
// local file and needs nothing else.
var blocked = []string{"http://*", "https://*", "ws://*", "wss://*", "ftp://*"}

// Browser starts a headless browser for one job and returns a context
// to run chromedp actions in, with network requests blocked, and a
// function that stops the browser.
func Browser(ctx context.Context) (context.Context, context.CancelFunc, error) {
	exe, err := Find()
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
	)
	if noSandbox() {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	quiet := func(string, ...any) {} // errors reach the caller; chromedp's own log would go to stderr
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(quiet), chromedp.WithErrorf(quiet))
	stop := func() { cancelBrowser(); cancelAlloc() }
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		stop()
		return nil, nil, fmt.Errorf("starting %s: %w", exe, err)
	}
	if _, err := chromedp.Call(bctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: urlPatterns()}); err != nil {
		stop()
		return nil, nil, fmt.Errorf("starting %s: %w", exe, err)
	}
	return bctx, stop, nil
}

func urlPatterns() []*network.BlockPattern {
	var out []*network.BlockPattern
	for _, p := range blocked {
		out = append(out, &network.BlockPattern{URLPattern: p, Block: true})
	}
	return out
}

// FileURL is the file:// URL of a local path.
func FileURL(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// PrintPDF renders the HTML file at htmlPath to a PDF at pdfPath (A4,
// backgrounds printed, the report's print stylesheet applied). It gives
// up after timeout.
func PrintPDF(ctx context.Context, htmlPath, pdfPath string, timeout time.Duration) error {
	u, err := FileURL(htmlPath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	bctx, stop, err := Browser(ctx)
	if err != nil {
		return err
	}
	defer stop()
	if err := chromedp.Do(bctx, chromedp.Navigate(u), chromedp.WaitReady("body")); err != nil {
		return fmt.Errorf("opening %s: %w", filepath.Base(htmlPath), err)
	}
	pdf, err := chromedp.Run(bctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPrintBackground(), chromedp.PDFPreferCSSPageSize()))
	if err != nil {
		return fmt.Errorf("printing %s: %w", filepath.Base(htmlPath), err)
	}
	return fsutil.WriteWith(pdfPath, 0o644, func(w io.Writer) error {
		_, err := w.Write(pdf)
		return err
	})
}
