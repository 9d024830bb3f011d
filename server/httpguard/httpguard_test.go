package httpguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func ok(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

func TestChecks(t *testing.T) {
	open := Handler(http.HandlerFunc(ok), Config{})
	keyed := Handler(http.HandlerFunc(ok), Config{APIKey: "s3cret"})
	tests := []struct {
		name    string
		h       http.Handler
		method  string
		host    string
		path    string
		headers map[string]string
		body    string
		want    int
	}{
		{"loopback ip", open, "GET", "127.0.0.1:8000", "/v1/models", nil, "", 200},
		{"ipv6 loopback", open, "GET", "[::1]:8000", "/v1/models", nil, "", 200},
		{"localhost", open, "GET", "localhost:8000", "/v1/models", nil, "", 200},
		{"lan ip literal", open, "GET", "192.168.1.5:8000", "/v1/models", nil, "", 200},
		{"rebinding name", open, "GET", "attacker.example:8000", "/v1/models", nil, "", 421},
		{"rebinding name, healthz too", open, "GET", "attacker.example", "/healthz", nil, "", 421},
		{"foreign origin", open, "POST", "127.0.0.1:8000", "/retrieve", map[string]string{"Origin": "http://attacker.example", "Content-Type": "application/json"}, "{}", 403},
		{"null origin", open, "POST", "127.0.0.1:8000", "/retrieve", map[string]string{"Origin": "null", "Content-Type": "application/json"}, "{}", 403},
		{"same origin", open, "POST", "127.0.0.1:8000", "/retrieve", map[string]string{"Origin": "http://127.0.0.1:8000", "Content-Type": "application/json"}, "{}", 200},
		{"localhost origin", open, "POST", "127.0.0.1:8000", "/retrieve", map[string]string{"Origin": "http://localhost:3000", "Content-Type": "application/json"}, "{}", 200},
		{"text/plain body", open, "POST", "127.0.0.1:8000", "/retrieve", map[string]string{"Content-Type": "text/plain"}, "{}", 415},
		{"form body", open, "POST", "127.0.0.1:8000", "/retrieve", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "a=b", 415},
		{"no content type", open, "POST", "127.0.0.1:8000", "/retrieve", nil, "{}", 415},
		{"json charset", open, "POST", "127.0.0.1:8000", "/retrieve", map[string]string{"Content-Type": "application/json; charset=utf-8"}, "{}", 200},
		{"no key", keyed, "GET", "127.0.0.1:8000", "/v1/models", nil, "", 401},
		{"wrong key", keyed, "GET", "127.0.0.1:8000", "/v1/models", map[string]string{"Authorization": "Bearer nope"}, "", 401},
		{"bearer key", keyed, "GET", "127.0.0.1:8000", "/v1/models", map[string]string{"Authorization": "Bearer s3cret"}, "", 200},
		{"x-api-key", keyed, "GET", "127.0.0.1:8000", "/v1/models", map[string]string{"X-API-Key": "s3cret"}, "", 200},
		{"public healthz", keyed, "GET", "127.0.0.1:8000", "/healthz", nil, "", 200},
		{"keyed server, any host", keyed, "GET", "api.example.org", "/v1/models", map[string]string{"X-API-Key": "s3cret"}, "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			var r *http.Request
			if body != nil {
				r = httptest.NewRequest(tc.method, tc.path, body)
			} else {
				r = httptest.NewRequest(tc.method, tc.path, nil)
			}
			r.Host = tc.host
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			tc.h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("status %d, want %d (%s)", w.Code, tc.want, w.Body.String())
			}
			if w.Code >= 400 && !strings.Contains(w.Body.String(), `"error"`) {
				t.Errorf("refusal body %q is not the JSON error shape", w.Body.String())
			}
		})
	}
}

func TestQueueIsBounded(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/work" {
			started <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})
	h := Handler(slow, Config{MaxInFlight: 1, MaxQueue: 1, QueueWait: 300 * time.Millisecond, Unqueued: []string{"/healthz"}})
	do := func(path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Host = "127.0.0.1"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	wg.Add(1)
	go func() { defer wg.Done(); codes <- do("/work").Code }() // takes the slot
	<-started
	wg.Add(1)
	go func() { defer wg.Done(); codes <- do("/work").Code }() // waits in the queue
	for len(h.(*guard).queued) == 0 {
		time.Sleep(time.Millisecond)
	}
	if w := do("/work"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("third request: %d, Retry-After %q; want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := do("/healthz"); w.Code != http.StatusOK {
		t.Errorf("healthz with a full queue: %d", w.Code)
	}
	time.Sleep(400 * time.Millisecond) // the queued one gives up
	close(release)
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[200] != 1 || got[503] != 1 {
		t.Errorf("codes %v, want one 200 and one 503", got)
	}
}

func TestCheckBind(t *testing.T) {
	tests := []struct {
		addr string
		cfg  Config
		ok   bool
	}{
		{"127.0.0.1:80", Config{}, true},
		{"[::1]:80", Config{}, true},
		{"0.0.0.0:80", Config{}, false},
		{"[::]:80", Config{}, false},
		{"192.168.1.5:80", Config{}, false},
		{"0.0.0.0:80", Config{APIKey: "k"}, true},
		{"0.0.0.0:80", Config{InsecureNoAuth: true}, true},
	}
	for _, tc := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckBind(addr, tc.cfg)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrNoAuth) {
			t.Errorf("CheckBind(%s, key %q insecure %v) = %v", tc.addr, tc.cfg.APIKey, tc.cfg.InsecureNoAuth, err)
		}
	}
	if _, err := Listen(context.Background(), "0.0.0.0:0", Config{}); !errors.Is(err, ErrNoAuth) {
		t.Errorf("Listen on 0.0.0.0 without a key: %v", err)
	}
	ln, err := Listen(context.Background(), "127.0.0.1:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestKeyFromEnv(t *testing.T) {
	env := map[string]string{"SET": " k1 ", "EMPTY": ""}
	get := func(k string) string { return env[k] }
	if k, err := KeyFromEnv("SET", get); k != "k1" || err != nil {
		t.Errorf("SET: %q %v", k, err)
	}
	if _, err := KeyFromEnv("EMPTY", get); err == nil {
		t.Error("an empty variable must be an error")
	}
	if k, err := KeyFromEnv("", get); k != "" || err != nil {
		t.Errorf("no name: %q %v", k, err)
	}
}
