package report

import (
	"bytes"
	"context"
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
	profile, err := os.MkdirTemp("", "txchaos-chromium-")
	require.NoError(t, err)
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir="+profile, "--enable-logging=stderr", "--v=0",
		"--screenshot="+shot, "--window-size=1280,2000", "file://"+page)
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
