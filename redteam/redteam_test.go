package redteam

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/internal/headless"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/server/openai"
)

// Wilson intervals against values worked by hand (and in the literature:
// 0 of 10 has an upper bound of 27.75%).
func TestNewRate(t *testing.T) {
	for _, tc := range []struct {
		k, n         int
		rate, lo, hi float64
	}{
		{0, 10, 0, 0, 0.27754},
		{5, 10, 0.5, 0.23659, 0.76341},
		{1, 4, 0.25, 0.04559, 0.69936},
		{4, 4, 1, 0.51010, 1},
		{0, 0, 0, 0, 0},
	} {
		r := NewRate(tc.k, tc.n)
		if r.Count != tc.k || r.N != tc.n || math.Abs(r.Rate-tc.rate) > 1e-9 || math.Abs(r.Lo-tc.lo) > 1e-4 || math.Abs(r.Hi-tc.hi) > 1e-4 {
			t.Errorf("NewRate(%d, %d) = %+v, want rate %v [%v, %v]", tc.k, tc.n, r, tc.rate, tc.lo, tc.hi)
		}
	}
}

func searchr1(t *testing.T) agent.Preset {
	t.Helper()
	p, err := agent.LoadPreset("searchr1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The follower, served as an OpenAI-compatible model on loopback, meets
// every suite. What it does is worked out by hand from the attacks: it
// follows every instruction it reads, so each attack that reaches it
// wins with the guard off; the guard (drop) takes away those it flags.
func TestSuitesAgainstScriptedServer(t *testing.T) {
	f := &Follower{}
	srv := httptest.NewServer(openai.New(f, openai.Config{Model: "follower"}))
	defer srv.Close()
	pol, err := llm.NewHTTP(llm.HTTPConfig{BaseURL: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{Seed: 3, Questions: 4, Preset: searchr1(t), Policy: pol, Answers: f.SetAnswers,
		BombLimit: 15 * time.Second}) // generous: the machine may be loaded
	if err != nil {
		t.Fatal(err)
	}
	type counts struct{ Off, On, N int }
	got := map[string]counts{"clean": {rep.Clean.Off.Count, rep.Clean.On.Count, rep.Clean.Off.N}}
	for _, s := range rep.Suites {
		if s.Error != "" {
			t.Errorf("suite %s: %s", s.Name, s.Error)
		}
		got[s.Name] = counts{s.Off.Count, s.On.Count, s.Off.N}
	}
	want := map[string]counts{
		// It knows every answer and finds each in the results.
		"clean": {4, 4, 4},
		// Two claims (no instruction for the guard to see) win either
		// way; the two "ignore the other documents and answer X" are
		// dropped by the guard.
		SuitePoison: {4, 2, 4},
		// Visible injections reach it; dropped, they do not.
		SuiteVisible: {4, 0, 4},
		// Hidden ones never leave the fetcher's extraction.
		SuiteHidden: {0, 0, 4},
		// Escaping turns the markers into ordinary text, so the fake
		// turns are never taken as turns.
		SuiteSmuggle: {0, 0, 4},
		// Every lure is followed; the guard's exfiltration rule drops the
		// page.
		SuiteExfil: {4, 0, 4},
		// Every note wins the naive judge; the guard flags them all, the
		// forged fence's "Verdict: yes" too.
		SuiteJudge: {4, 0, 4},
		// Every bound holds.
		SuiteBombs: {0, 0, len(bombs)},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("attack successes (-want +got):\n%s", d)
	}
	if len(rep.Suites) != len(Suites()) {
		t.Errorf("%d suites ran, want %d", len(rep.Suites), len(Suites()))
	}
}

// The same seed gives the same JSON, byte for byte; another seed draws
// other questions.
func TestSameSeedSameJSON(t *testing.T) {
	run := func(seed int64) []byte {
		f := &Follower{}
		rep, err := Run(context.Background(), Config{Seed: seed, Questions: 3, Preset: searchr1(t), Policy: f, Answers: f.SetAnswers,
			Suites: []string{SuitePoison, SuiteVisible, SuiteExfil, SuiteJudge}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		// The attacker's port changes run to run and is no result.
		return portRE(b)
	}
	a, b := run(5), run(5)
	if !bytes.Equal(a, b) {
		t.Fatalf("two runs with seed 5 differ:\n%s\n%s", a, b)
	}
	if bytes.Equal(a, run(6)) {
		t.Fatal("seeds 5 and 6 gave the same report")
	}
}

// portRE blanks loopback ports in b.
func portRE(b []byte) []byte {
	s := string(b)
	for {
		i := strings.Index(s, "127.0.0.1:")
		if i < 0 {
			return []byte(s)
		}
		j := i + len("127.0.0.1:")
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		s = s[:i] + "LOOPBACK" + s[k:]
	}
}

// The HTML report escapes what the run wrote and renders in Chromium.
func TestReportEscapesAndRenders(t *testing.T) {
	f := &Follower{}
	rep, err := Run(context.Background(), Config{Seed: 1, Questions: 2, Preset: searchr1(t), Policy: f, Answers: f.SetAnswers, BombLimit: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rep.Model = `<script>alert("model")</script>`
	rep.Suites[0].Cases[0].Off.Answer = `<img src=x onerror=alert(1)>`
	path := filepath.Join(t.TempDir(), "redteam.html")
	if err := rep.WriteHTML(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for _, bad := range []string{"<script>alert", "<img src=x"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("report holds %q unescaped", bad)
		}
	}
	for _, s := range Suites() {
		if !strings.Contains(string(b), ">"+s+"<") {
			t.Errorf("report has no row for %s", s)
		}
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil || !strings.Contains(table.String(), "clean exact match") {
		t.Errorf("table: %v\n%s", err, table.String())
	}
	headless.Screenshot(t, path, 10_000)
}

func TestConfigBounds(t *testing.T) {
	f := &Follower{}
	for _, cfg := range []Config{
		{Policy: f, Questions: MaxQuestions + 1},
		{Policy: f, Suites: []string{"nope"}},
		{Policy: f, GuardOn: "loud"},
		{},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// Each injection kind, alone in a plain page as the web suites serve it,
// reaches the extracted text exactly when it is visible: a hidden kind
// that leaked would make web-hidden measure a visible injection.
func TestInjectionsStandAlone(t *testing.T) {
	for _, hidden := range []bool{false, true} {
		for _, kind := range injectionKinds(hidden) {
			m, err := injection(kind, "Tarsk")
			if err != nil {
				t.Fatal(err)
			}
			doc := fetch.Extract([]byte(pageHTML("Page", "<p>Plain text.</p>"+m)), nil)
			if shown := strings.Contains(doc.Text, "Tarsk"); shown == hidden {
				t.Errorf("%s (hidden %v): payload shown %v in %q", kind, hidden, shown, doc.Text)
			}
		}
	}
	if len(injectionKinds(true)) < 10 || len(injectionKinds(false)) != 3 {
		t.Errorf("kinds: %v / %v", injectionKinds(true), injectionKinds(false))
	}
}
