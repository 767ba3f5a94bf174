package report

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chromium finds Debian's chromium. When it is missing, it installs it
// with apt-get if the test runs as root and CI=true or
// TXCHAOS_INSTALL_CHROMIUM=1; otherwise, or if that fails, it skips.
func chromium(t *testing.T) string {
	t.Helper()
	find := func() string {
		for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	if os.Geteuid() != 0 || os.Getenv("CI") != "true" && os.Getenv("TXCHAOS_INSTALL_CHROMIUM") != "1" {
		t.Skip("chromium is not installed: apt-get install -y chromium (or run as root with TXCHAOS_INSTALL_CHROMIUM=1 to let this test install it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "chromium"}} {
		out, err := exec.CommandContext(ctx, "apt-get", args...).CombinedOutput()
		if err != nil {
			t.Skipf("chromium is not installed and apt-get %s failed: %v\n%s", strings.Join(args, " "), err, tail(out))
		}
	}
	if p := find(); p != "" {
		return p
	}
	t.Skip("chromium is not installed, and installing it did not provide a chromium binary")
	return ""
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// outDir is where a test leaves files to look at: TXCHAOS_TEST_OUT if set,
// else the test's temporary directory.
func outDir(t *testing.T) string {
	if d := os.Getenv("TXCHAOS_TEST_OUT"); d != "" {
		d = filepath.Join(d, t.Name())
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.TempDir()
}

// screenshot loads page in headless chromium, with every host name
// unresolvable, and saves a 1280×2000 screenshot to shot. It returns
// chromium's console lines (page errors and console messages).
func screenshot(t *testing.T, bin, page, shot string) []string {
	t.Helper()
	return screenshotAt(t, bin, page, shot, 1280, 2000)
}

// TestHTMLInChromium loads the report in headless chromium: it renders
// with no console error and no network, and the screenshot is kept.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	out := outDir(t)

	// The check sees errors: a page that throws one is caught.
	bad := filepath.Join(out, "bad.html")
	require.NoError(t, os.WriteFile(bad, []byte(`<!DOCTYPE html><p>x</p><script>throw new Error("boom")</script>`), 0o644))
	console := screenshot(t, bin, bad, filepath.Join(out, "bad.png"))
	require.NotEmpty(t, console, "chromium reports a thrown error on stderr")
	require.Contains(t, strings.Join(console, "\n"), "Uncaught Error: boom")

	_, rep := generated(t)
	require.NoError(t, copyDir(filepath.Dir(rep.HTML), filepath.Join(out, "report")), "keep the page beside its screenshot")
	shot := filepath.Join(out, "report-screenshot.png")
	require.Empty(t, screenshot(t, bin, rep.HTML, shot), "console errors")
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, 1280, img.Bounds().Dx())
	require.Equal(t, 2000, img.Bounds().Dy())
	// Not a blank page: some pixels are dark (text, lines).
	dark := 0
	for y := 0; y < 2000; y += 4 {
		for x := 0; x < 1280; x += 4 {
			if r, g, b, _ := img.At(x, y).RGBA(); r+g+b < 3*0x4000 {
				dark++
			}
		}
	}
	require.Greater(t, dark, 500, "the screenshot shows the page")
	t.Logf("screenshot: %s", shot)

	// The page as chromium built it: every scorecard cell of the 3-seed
	// fixture gives its intervals and what it rests on, and the charts
	// with error bars are shown.
	dom := dumpDOM(t, bin, rep.HTML)
	cells := regexp.MustCompile(`<td class="(ok|bad[123]|unexercised|unknown)" title="[^"]*">([^<]*)((?:<br><small>[^<]*</small>)*)</td>`).FindAllStringSubmatch(dom, -1)
	require.Len(t, cells, 3*5, "3 patterns × 5 columns")
	for _, c := range cells {
		require.Regexp(t, `<small>\[[0-9.]+–[0-9.]+\] per 100</small><br><small>[0-3]/3 runs \[[0-9.]+–[0-9.]+%\]</small><br><small>3 seeds · 30 checkouts</small>$`, c[3], "cell %s", c[2])
	}
	for _, name := range []string{"runs-with-anomalies-lost-response", "anomaly-leaked-resource-lost-response"} {
		require.Contains(t, dom, `data-chart="`+name+`"><img src="data:image/png;base64,`)
	}
}

// dumpDOM loads page in headless chromium and returns the DOM it built.
func dumpDOM(t *testing.T, bin, page string) string {
	t.Helper()
	profile, err := os.MkdirTemp("", "txchaos-chromium-")
	require.NoError(t, err)
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir="+profile,
		"--dump-dom", "file://"+page)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "chromium --dump-dom: %s", tail(stderr.Bytes()))
	return stdout.String()
}

// measure loads page in headless chromium in a window w px wide, with a
// script added to a copy of it that writes what script returns into the
// DOM, and returns that. (The report itself has no script.)
func measure(t *testing.T, bin, page string, w int, script string) string {
	t.Helper()
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	probe := filepath.Join(filepath.Dir(page), ".measure-"+filepath.Base(page))
	s := strings.Replace(string(b), "</body>", "<script>document.body.setAttribute('data-measured', (function(){"+script+"})());</script></body>", 1)
	require.NoError(t, os.WriteFile(probe, []byte(s), 0o644))
	defer os.Remove(probe)
	profile, err := os.MkdirTemp("", "txchaos-chromium-")
	require.NoError(t, err)
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir="+profile,
		fmt.Sprintf("--window-size=%d,1000", w), "--dump-dom", "file://"+probe)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "chromium --dump-dom: %s", tail(stderr.Bytes()))
	m := regexp.MustCompile(`data-measured="([^"]*)"`).FindStringSubmatch(stdout.String())
	require.NotNil(t, m, "the probe ran: %s", tail(stdout.Bytes()))
	return html.UnescapeString(m[1])
}

// TestMixedReportInChromium renders the report over a directory of mixed
// single runs (testdata/mixed: both runtimes, scenarios, whole profiles)
// in a 1400 px window: the page does not scroll sideways, neither does any
// scorecard, each runtime has its scorecard and readings; and a history
// page's heading — what broke, the run, the faults — fits the window above
// the drawing. The screenshots are kept (TXCHAOS_TEST_OUT).
func TestMixedReportInChromium(t *testing.T) {
	bin := chromium(t)
	out := outDir(t)
	dir := filepath.Join(out, "txchaos-out")
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, copyDir(mixedFixture, dir))
	rep, err := Generate(dir, Options{})
	require.NoError(t, err)

	shot := filepath.Join(out, "mixed-report-1400.png")
	require.Empty(t, screenshotAt(t, bin, rep.HTML, shot, 1400, 2400), "console errors")
	t.Logf("screenshot: %s", shot)
	got := measure(t, bin, rep.HTML, 1400, `
		var out = ['page ' + document.documentElement.scrollWidth + '/' + document.documentElement.clientWidth];
		document.querySelectorAll('table.scorecard-table').forEach(function (t) {
			var d = t.parentElement;
			out.push('scorecard ' + d.scrollWidth + '/' + d.clientWidth);
		});
		return out.join(';');`)
	parts := strings.Split(got, ";")
	require.Len(t, parts, 3, "the page and two scorecards, det and live: %s", got)
	for _, p := range parts {
		var what string
		var scroll, client int
		_, err := fmt.Sscanf(strings.Replace(p, "/", " ", 1), "%s %d %d", &what, &scroll, &client)
		require.NoError(t, err, p)
		require.Positive(t, client, p)
		require.LessOrEqual(t, scroll, client, "%s scrolls sideways in a 1400 px window: %s", what, got)
	}
	dom := dumpDOM(t, bin, rep.HTML)
	for _, want := range []string{"Scorecard: det runtime", "Scorecard: live runtime", "What the numbers say: det runtime", "What the numbers say: live runtime",
		"scenario broker-outage<br>drop-request=orders-broker:1<br>crash=broker:0.05"} {
		require.Contains(t, dom, want)
	}

	page := filepath.Join(dir, "naive-dual-write-seed1-20261201T184411.752", "history-o000002.html")
	hshot := filepath.Join(out, "history-page-1400.png")
	require.Empty(t, screenshotAt(t, bin, page, hshot, 1400, 900), "console errors")
	t.Logf("screenshot: %s", hshot)
	got = measure(t, bin, page, 1400, `
		var h = document.getElementById('txchaos-heading').getBoundingClientRect();
		return Math.round(h.bottom) + ' ' + Math.round(h.right) + ' ' + document.getElementById('txchaos-heading').innerText.replace(/\s+/g, ' ');`)
	var bottom, right int
	_, err = fmt.Sscanf(got, "%d %d", &bottom, &right)
	require.NoError(t, err, got)
	require.Less(t, bottom, 900, "the heading fits the first screen: %s", got)
	require.LessOrEqual(t, right, 1400, got)
	for _, want := range []string{"Order o000002: non-linearizable", "pattern naive-dual-write · seed 1 · det runtime", "What broke",
		"non-linearizable: checkout#2 answered failed", "Faults on its timeline", "scroll right"} {
		require.Contains(t, got, want)
	}
}

// screenshotAt is screenshot with the window's size.
func screenshotAt(t *testing.T, bin, page, shot string, w, h int) []string {
	t.Helper()
	profile, err := os.MkdirTemp("", "txchaos-chromium-")
	require.NoError(t, err)
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir="+profile, "--enable-logging=stderr", "--v=0",
		"--screenshot="+shot, fmt.Sprintf("--window-size=%d,%d", w, h), "file://"+page)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	require.NoError(t, cmd.Run(), "chromium: %s", tail(stderr.Bytes()))
	var console []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") || strings.Contains(line, "Uncaught") {
			console = append(console, line)
		}
	}
	return console
}
