package console_test

// The console's browser tests drive Debian's chromium, headless, through
// the DevTools protocol (chromedp) against real metastore members
// (host/hosttest: METASTORE_BIN, ETCDCTL_BIN). One browser serves every
// test of the package, a tab each. Each test saves screenshots of what it
// saw in its artifact directory (go test -artifacts keeps them);
// -update-screenshots also copies the README's into docs/console/.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "copy the README's screenshots into docs/console/")

// screenshotsDir is where -update-screenshots puts the README's images.
const screenshotsDir = "../../docs/console"

// waitTimeout bounds each wait for the page to show something.
const waitTimeout = 10 * time.Second

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// startBrowser starts the package's one headless chromium.
func startBrowser() (context.Context, error) {
	browser.once.Do(func() {
		path, err := exec.LookPath("chromium")
		if err != nil {
			browser.err = fmt.Errorf("the console's browser tests need Debian's chromium package (apt-get install chromium, or `make deps`): %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "metastore-console-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 860),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("hide-scrollbars", true),
			// The https test's member serves a self-signed certificate
			// on loopback.
			chromedp.Flag("ignore-certificate-errors", true),
		)
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		browser.cancel = func() {
			bcancel()
			acancel()
			_ = os.RemoveAll(dir)
		}
		if err := chromedp.Do(bctx); err != nil {
			browser.err = fmt.Errorf("starting %s: %w", path, err)
			return
		}
		browser.ctx = bctx
	})
	return browser.ctx, browser.err
}

// page is one browser tab of a test.
type page struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	exceptions []string
}

// newPage opens a tab; the test fails if chromium is missing, and if a
// script of the page throws.
func newPage(t *testing.T) *page {
	t.Helper()
	bctx, err := startBrowser()
	require.NoError(t, err)
	ctx, cancel := chromedp.NewContext(bctx)
	p := &page{t: t, ctx: ctx}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			text := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				text += " " + e.ExceptionDetails.Exception.Description
			}
			p.mu.Lock()
			p.exceptions = append(p.exceptions, text)
			p.mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.exceptions {
			t.Errorf("the page threw: %s", e)
		}
		cancel()
	})
	return p
}

// do runs actions, failing the test with what the page shows on error.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 3*waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v\nthe page shows:\n%s", err, p.text())
	}
}

// open navigates to url and waits for its page to have loaded.
func (p *page) open(url string) {
	p.t.Helper()
	p.do(chromedp.Navigate(url))
}

// waitFor waits until the JavaScript expression is truthy.
func (p *page) waitFor(expr string) {
	p.t.Helper()
	p.do(chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(waitTimeout), chromedp.WithPollingInterval(50*time.Millisecond)))
}

// waitText waits until the element of the CSS selector shows text.
func (p *page) waitText(selector, text string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).some((e) => e.textContent.includes(%q))`, selector, text))
}

// eval returns the value of a JavaScript expression.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(p.t, err, expr)
	return v
}

// text is what the page shows, for failure messages.
func (p *page) text() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

// click clicks the first element of the CSS selector.
func (p *page) click(selector string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(selector)))
}

// fill sets the value of the input of the CSS selector.
func (p *page) fill(selector, value string) {
	p.t.Helper()
	p.do(chromedp.SetValue(chromedp.CSS(selector), value))
}

// screenshot saves the whole page as <name>.png in the test's artifact
// directory, and in docs/console/ with -update-screenshots when forREADME.
func (p *page) screenshot(name string, forREADME bool) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(p.t, err)
	path := filepath.Join(p.t.ArtifactDir(), name+".png")
	require.NoError(p.t, os.WriteFile(path, png, 0o644))
	p.t.Logf("screenshot %s", path)
	if forREADME && *updateScreenshots {
		require.NoError(p.t, os.WriteFile(filepath.Join(screenshotsDir, name+".png"), png, 0o644))
	}
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "<", `\x3c`).Replace(s) + "'"
}
