package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/world"
)

func TestEveryFactVisible(t *testing.T) {
	t.Parallel()
	w := testWorld(t, 11)
	s, srv := serve(t, w, Config{})
	passages := map[string]string{}
	for _, p := range w.Passages {
		passages[p.ID] = p.Text
	}
	names := map[string]string{}
	for _, e := range w.Entities {
		names[e.ID] = e.Name
	}
	bySubject := map[string][]world.Fact{}
	for _, f := range w.Facts {
		bySubject[f.Subject] = append(bySubject[f.Subject], f)
	}
	checked := 0
	for i, e := range w.Entities {
		if i%5 != 0 && e.ID != longestEntity(s) {
			continue
		}
		path := s.EntityPath(e.ID)
		resp, body := get(t, srv.Client(), srv.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, resp.StatusCode)
		}
		text := squash(visibleText(t, body))
		for _, f := range bySubject[e.ID] {
			obj := f.Value
			if f.Object != "" {
				obj = names[f.Object]
			}
			if !strings.Contains(text, squash(passages[f.PassageID])) {
				t.Errorf("%s: passage %s stating %s %s is not in the visible text", path, f.PassageID, f.Relation, obj)
			}
			if !strings.Contains(text, obj) {
				t.Errorf("%s: object %q of %s is not in the visible text", path, obj, f.Relation)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("checked only %d facts", checked)
	}
}

// longestEntity makes sure the sample includes a long page.
func longestEntity(s *Site) string {
	for _, p := range s.Long() {
		info, _ := s.Page(p)
		return info.EntityID
	}
	return ""
}

func TestLongPagesBuryFacts(t *testing.T) {
	t.Parallel()
	s, _ := serve(t, testWorld(t, 12), Config{})
	var long, split int
	for _, p := range s.Pages() {
		switch p.Layout {
		case LayoutLong:
			long++
			if p.FactOffset < 8000 {
				t.Errorf("%s: long page's first passage at byte %d, want >= 8000", p.Path, p.FactOffset)
			}
		case LayoutSplit:
			split++
			body := s.pages[p.Path].body
			second := bytes.Index(body, []byte("<h2>Further details</h2>"))
			if second-p.FactOffset < 6000 {
				t.Errorf("%s: second passage %d bytes after the first, want >= 6000", p.Path, second-p.FactOffset)
			}
		}
	}
	if long == 0 || split == 0 {
		t.Errorf("%d long and %d split pages, want some of each", long, split)
	}
}

func TestSearchFindsHopPages(t *testing.T) {
	t.Parallel()
	w := testWorld(t, 13)
	s, srv := serve(t, w, Config{})
	found, total := 0, 0
	for _, q := range w.Questions[:min(len(w.Questions), 60)] {
		for _, h := range q.Chain {
			total++
			u := srv.URL + "/search?" + url.Values{"q": {h.Query}, "format": {"json"}}.Encode()
			resp, body := get(t, srv.Client(), u)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %d: %s", u, resp.StatusCode, body)
			}
			var r SearchResponse
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("GET %s: %v", u, err)
			}
			want := srv.URL + s.EntityPath(h.SubjectID)
			if slices.ContainsFunc(r.Results[:min(5, len(r.Results))], func(x SearchResult) bool { return x.URL == want }) {
				found++
			} else {
				t.Logf("%q: %s not in the top 5", h.Query, want)
			}
		}
	}
	if rate := float64(found) / float64(total); rate < 0.9 {
		t.Errorf("entity page in the top 5 for %d of %d hops (%.2f), want >= 0.90", found, total, rate)
	}
}

func TestSearchResponseShape(t *testing.T) {
	t.Parallel()
	w := testWorld(t, 14)
	s, srv := serve(t, w, Config{PerPage: 3})
	name := w.Entities[0].Name
	var pages []SearchResponse
	for pageno := 1; pageno <= 2; pageno++ {
		u := srv.URL + "/search?" + url.Values{"q": {name}, "format": {"json"}, "pageno": {string(rune('0' + pageno))}}.Encode()
		resp, body := get(t, srv.Client(), u)
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
		for _, key := range []string{`"query"`, `"number_of_results"`, `"results"`, `"answers"`, `"suggestions"`, `"unresponsive_engines"`, `"url"`, `"title"`, `"content"`, `"engine"`, `"score"`, `"category"`} {
			if !bytes.Contains(body, []byte(key)) {
				t.Errorf("response lacks %s: %s", key, body)
			}
		}
		var r SearchResponse
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, r)
	}
	p1, p2 := pages[0], pages[1]
	if len(p1.Results) != 3 || p1.Results[0].URL != srv.URL+s.EntityPath(w.Entities[0].ID) {
		t.Fatalf("page 1 = %+v, want 3 results led by %s", p1.Results, s.EntityPath(w.Entities[0].ID))
	}
	if !strings.Contains(p1.Results[0].Content, name) {
		t.Errorf("snippet %q does not mention %q", p1.Results[0].Content, name)
	}
	if len(p2.Results) == 0 || p2.Results[0].Positions[0] != 4 || p1.NumberOfResults != p2.NumberOfResults {
		t.Errorf("page 2 does not continue page 1: %+v", p2)
	}
	_, far := get(t, srv.Client(), srv.URL+"/search?format=json&pageno=999&q="+url.QueryEscape(name))
	var r SearchResponse
	if err := json.Unmarshal(far, &r); err != nil || len(r.Results) != 0 || r.Results == nil {
		t.Errorf("far page: %s (err %v), want an empty results list", far, err)
	}
	resp, body := get(t, srv.Client(), srv.URL+"/search?q="+url.QueryEscape(name))
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(s.EntityPath(w.Entities[0].ID))) || !bytes.Contains(body, []byte(`rel="next"`)) {
		t.Errorf("html results: status %d, body lacks the entity link or next page", resp.StatusCode)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, testWorld(t, 15), Config{})
	tests := []struct {
		name, method, target string
		status               int
		jsonErr              bool
	}{
		{"missing q json", "GET", "/search?format=json", 400, true},
		{"blank q json", "GET", "/search?q=++&format=json", 400, true},
		{"missing q html", "GET", "/search", 400, false},
		{"csv format", "GET", "/search?q=x&format=csv", 403, false},
		{"unknown format", "GET", "/search?q=x&format=xml", 400, false},
		{"pageno zero", "GET", "/search?q=x&format=json&pageno=0", 400, true},
		{"pageno word", "GET", "/search?q=x&format=json&pageno=two", 400, true},
		{"bad escape", "GET", "/search?q=%zz&format=json", 400, true},
		{"long q", "GET", "/search?format=json&q=" + strings.Repeat("a", maxQueryBytes+1), 400, true},
		{"no page", "GET", "/wiki/no-such-page-at-all", 404, false},
		{"no route", "GET", "/nowhere/at/all", 404, false},
		{"delete", "DELETE", "/wiki/x", 405, false},
		{"put search", "PUT", "/search?q=x", 405, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error string }
			decErr := json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.jsonErr && (decErr != nil || e.Error == "") {
				t.Errorf("want a JSON error, got decode error %v, %+v", decErr, e)
			}
		})
	}
}

func TestRedirectsAndDeadLinks(t *testing.T) {
	t.Parallel()
	s, srv := serve(t, testWorld(t, 16), Config{})
	c := noFollow(srv)
	rds := s.Redirects()
	codes := map[int]int{}
	for i, rd := range rds {
		codes[rd.Code]++
		if i%7 != 0 {
			continue
		}
		resp, _ := get(t, c, srv.URL+rd.From)
		if resp.StatusCode != rd.Code || resp.Header.Get("Location") != rd.To {
			t.Errorf("%s: %d to %q, want %d to %q", rd.From, resp.StatusCode, resp.Header.Get("Location"), rd.Code, rd.To)
		}
		if _, ok := s.Page(rd.To); !ok {
			t.Errorf("%s redirects to %s, which is not a page", rd.From, rd.To)
		}
	}
	if codes[http.StatusMovedPermanently] == 0 || codes[http.StatusFound] == 0 {
		t.Errorf("redirect codes %v, want both 301 and 302", codes)
	}
	dead := 0
	for _, p := range s.Pages() {
		for _, d := range p.DeadLinks {
			dead++
			if !bytes.Contains(s.pages[p.Path].body, []byte(`href="`+d+`"`)) {
				t.Errorf("%s does not link its dead link %s", p.Path, d)
			}
			if resp, _ := get(t, c, srv.URL+d); resp.StatusCode != http.StatusNotFound {
				t.Errorf("dead link %s: status %d, want 404", d, resp.StatusCode)
			}
		}
	}
	if dead == 0 || dead != len(s.DeadLinks()) {
		t.Errorf("%d dead links on pages, DeadLinks lists %d", dead, len(s.DeadLinks()))
	}
}

func TestSlowPages(t *testing.T) {
	t.Parallel()
	const delay = 300 * time.Millisecond // long enough that a loaded CI machine serving an ordinary page stays under it
	s, srv := serve(t, testWorld(t, 17), Config{SlowDelay: delay})
	slow := s.Slow()
	if len(slow) == 0 {
		t.Fatal("no slow pages")
	}
	start := time.Now()
	if resp, _ := get(t, srv.Client(), srv.URL+slow[0]); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if d := time.Since(start); d < delay {
		t.Errorf("slow page answered in %v, want >= %v", d, delay)
	}
	client := srv.Client()
	client.Timeout = delay / 3
	if _, err := client.Get(srv.URL + slow[0]); err == nil {
		t.Error("a client timing out before the delay got an answer")
	}
	fast := ""
	for _, p := range s.Pages() {
		if !p.Slow && p.Kind == KindEntity {
			fast = p.Path
			break
		}
	}
	start = time.Now()
	get(t, srv.Client(), srv.URL+fast)
	if d := time.Since(start); d >= delay {
		t.Errorf("ordinary page took %v", d)
	}
}

func TestPoisonedPages(t *testing.T) {
	t.Parallel()
	s, srv := serve(t, testWorld(t, 18), Config{})
	kinds := map[string]int{}
	for _, path := range s.Poisoned() {
		info, _ := s.Page(path)
		_, body := get(t, srv.Client(), srv.URL+path)
		visible := squash(visibleText(t, body))
		for _, inj := range info.Injections {
			kinds[inj.Kind]++
			if !bytes.Contains(body, []byte(inj.HTML)) {
				t.Errorf("%s: %s injection markup not in the page", path, inj.Kind)
			}
			shown := strings.Contains(visible, squash(inj.Text))
			if shown == inj.Hidden {
				t.Errorf("%s: %s injection %q visible=%v, want %v", path, inj.Kind, inj.Text, shown, !inj.Hidden)
			}
			if inj.Kind == InjectZeroWidth && !strings.Contains(DecodeZeroWidth(string(body)), inj.Text) {
				t.Errorf("%s: zero-width payload does not decode to %q", path, inj.Text)
			}
		}
	}
	var want, got []string
	for _, k := range injectionKinds() {
		want = append(want, k.name)
		if kinds[k.name] > 0 {
			got = append(got, k.name)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("injection kinds present (-want +got):\n%s", diff)
	}
	if len(s.Hidden()) == 0 || len(s.Hidden()) >= len(s.Poisoned()) {
		t.Errorf("%d hidden of %d poisoned pages", len(s.Hidden()), len(s.Poisoned()))
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	a, srvA := serve(t, testWorld(t, 19), Config{BaseURL: "http://web.test"})
	_, srvB := serve(t, testWorld(t, 19), Config{BaseURL: "http://web.test"})
	other, _ := serve(t, testWorld(t, 20), Config{})
	paths := []string{"/robots.txt", "/healthz", "/search?q=capital&format=json", "/search?q=founder&pageno=2", "/wiki/missing"}
	for _, p := range a.Pages() {
		paths = append(paths, p.Path)
	}
	for _, p := range paths {
		_, ba := get(t, srvA.Client(), srvA.URL+p)
		_, bb := get(t, srvB.Client(), srvB.URL+p)
		if !bytes.Equal(ba, bb) {
			t.Errorf("%s differs between two sites of the same seed", p)
		}
	}
	if diff := cmp.Diff(a.Pages(), other.Pages()); diff == "" {
		t.Error("two seeds gave the same pages")
	}
}

func TestRobotsAndHealth(t *testing.T) {
	t.Parallel()
	s, srv := serve(t, testWorld(t, 21), Config{})
	_, body := get(t, srv.Client(), srv.URL+"/robots.txt")
	if !strings.Contains(string(body), "Disallow: /private/") {
		t.Errorf("robots.txt = %q", body)
	}
	if _, ok := s.Page("/private/cookie-policy"); !ok {
		t.Error("no page under the disallowed path")
	}
	if resp, body := get(t, srv.Client(), srv.URL+"/healthz"); resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	for _, p := range []string{"/", "/list/cities", "/list/people"} {
		if resp, _ := get(t, srv.Client(), srv.URL+p); resp.StatusCode != 200 {
			t.Errorf("%s: status %d", p, resp.StatusCode)
		}
	}
	topics := 0
	for _, p := range s.Pages() {
		if p.Kind == KindTopic {
			topics++
			if _, body := get(t, srv.Client(), srv.URL+p.Path); !bytes.Contains(body, []byte("<h2>Cities</h2>")) {
				t.Errorf("%s lacks its cities", p.Path)
			}
		}
	}
	if topics == 0 {
		t.Error("no topic pages")
	}
}

func TestIndexDir(t *testing.T) {
	t.Parallel()
	w := testWorld(t, 22)
	dir := t.TempDir() + "/idx"
	a, err := New(w, Config{IndexDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := a.search(searchParams{q: w.Entities[3].Name, pageno: 1}, "")
	a.Close()
	b, err := New(w, Config{IndexDir: dir}) // reuses the index
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer b.Close()
	if diff := cmp.Diff(want, b.search(searchParams{q: w.Entities[3].Name, pageno: 1}, "")); diff != "" {
		t.Errorf("reopened index answers differently:\n%s", diff)
	}
	if _, err := New(testWorld(t, 23), Config{IndexDir: dir}); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("another world's index: err %v, want one naming %s", err, dir)
	}
}

func TestComputedRedirectsAndConditional(t *testing.T) {
	t.Parallel()
	w := testWorld(t, 24)
	s, srv := serve(t, w, Config{})
	e := w.Entities[0]
	path := s.EntityPath(e.ID)
	c := noFollow(srv)
	tests := []struct {
		name, from string
		code       int
		to         string
	}{
		{"trailing slash", path + "/", http.StatusMovedPermanently, path},
		{"title form", "/wiki/" + url.PathEscape(strings.ReplaceAll(e.Name, " ", "_")), http.StatusMovedPermanently, path},
		{"canonical", path, http.StatusOK, ""},
		{"unknown title", "/wiki/No_Such_Thing_Here", http.StatusNotFound, ""},
		{"short link", "/r/" + strings.TrimPrefix(path, "/wiki/"), http.StatusFound, path},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := get(t, c, srv.URL+tt.from)
			if resp.StatusCode != tt.code || resp.Header.Get("Location") != tt.to {
				t.Errorf("GET %s: %d to %q, want %d to %q", tt.from, resp.StatusCode, resp.Header.Get("Location"), tt.code, tt.to)
			}
		})
	}
	resp, body := get(t, c, srv.URL+path)
	etag := resp.Header.Get("ETag")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.Header.Set("If-None-Match", etag)
	again, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if etag == "" || again.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET with ETag %q: status %d, want 304", etag, again.StatusCode)
	}
	head, err := c.Head(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK || head.ContentLength != int64(len(body)) {
		t.Errorf("HEAD: status %d length %d, want 200 and %d", head.StatusCode, head.ContentLength, len(body))
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	w := testWorld(t, 25)
	tests := []struct {
		name string
		w    *world.World
		cfg  Config
		want string
	}{
		{"nil world", nil, Config{}, "nil world"},
		{"negative per page", w, Config{PerPage: -1}, "negative"},
		{"negative delay", w, Config{SlowDelay: -time.Second}, "negative"},
		{"relative base", w, Config{BaseURL: "web.test"}, "base URL"},
		{"ftp base", w, Config{BaseURL: "ftp://web.test"}, "base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.w, tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCloseTwice(t *testing.T) {
	t.Parallel()
	s, err := New(testWorld(t, 26), Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.tmpDir
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temporary index %s still there: %v", dir, err)
	}
}
