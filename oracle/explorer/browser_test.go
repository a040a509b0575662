package explorer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("HEXPROOF_REQUIRE_SERVICES") == "1" {
		t.Fatal("chromium is required (HEXPROOF_REQUIRE_SERVICES=1) but not installed; `make services` installs it")
	}
	t.Skip("chromium not installed (apt-get install -y chromium); skipping the browser test")
	return ""
}

// runChromium loads url headless, lets its scripts run (virtual time waits
// for pending fetches) and returns the DOM, or writes a screenshot.
func runChromium(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=8000", "--window-size=1280,900"}, extra...)
	args = append(args, url)
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", extra, err)
	}
	return string(out)
}

func TestBrowserShowsMapAndRewards(t *testing.T) {
	bin := chromium(t)
	base, n, _ := indexed(t, smallCfg)
	outDir := t.ArtifactDir()

	dom := runChromium(t, bin, base+"/", "--dump-dom")
	if !strings.Contains(dom, `data-ready="map"`) {
		t.Fatalf("map page did not finish rendering:\n%.2000s", dom)
	}
	hexes := len(regexp.MustCompile(`<polygon class="hex"`).FindAllString(dom, -1))
	links := len(regexp.MustCompile(`<line class="link`).FindAllString(dom, -1))
	dots := len(regexp.MustCompile(`<circle class="hs"`).FindAllString(dom, -1))
	if hexes == 0 || links == 0 || dots != len(n.Hotspots) {
		t.Fatalf("map shows %d hexes, %d witness links, %d hotspots (want >0, >0, %d)", hexes, links, dots, len(n.Hotspots))
	}

	// The hotspot with the most reward epochs.
	var addr string
	most := 0
	for _, hs := range n.Hotspots {
		a := hs.Key.Address().String()
		k := 0
		for _, byHs := range n.RewardsByEpoch {
			if byHs[a] > 0 {
				k++
			}
		}
		if k > most {
			addr, most = a, k
		}
	}
	page := base + "/#/hotspot/" + addr
	dom = runChromium(t, bin, page, "--dump-dom")
	if !strings.Contains(dom, `data-ready="hotspot"`) {
		t.Fatalf("hotspot page did not finish rendering:\n%.2000s", dom)
	}
	bars := len(regexp.MustCompile(`<rect class="bar"`).FindAllString(dom, -1))
	if bars != most || !strings.Contains(dom, `id="rewards-chart"`) {
		t.Fatalf("rewards chart has %d bars, want one per rewarded epoch (%d)", bars, most)
	}
	if !strings.Contains(dom, "Who witnessed it") || !strings.Contains(dom, addr) {
		t.Fatal("hotspot page lacks its witnesses section or address")
	}

	for name, url := range map[string]string{"map.png": base + "/", "hotspot.png": page} {
		shot := filepath.Join(outDir, name)
		runChromium(t, bin, url, "--screenshot="+shot)
		st, err := os.Stat(shot)
		if err != nil || st.Size() < 5000 {
			t.Fatalf("screenshot %s: %v (size %d)", shot, err, sizeOf(st))
		}
		t.Logf("screenshot: %s", shot)
	}
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}
