package openai

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/server/httpguard"
)

// flood streams 1 KiB tokens until emit fails or ctx ends, and records
// when that happened.
type flood struct {
	scripted
	stopped chan time.Time
}

func (b flood) GenerateStream(ctx context.Context, req llm.Request, emit func(int, llm.Token) error) (llm.Response, error) {
	tok := strings.Repeat("x", 1024)
	for {
		if err := emit(0, llm.Token{ID: 1, Text: tok}); err != nil {
			b.stopped <- time.Now()
			return llm.Response{}, err
		}
		if ctx.Err() != nil {
			b.stopped <- time.Now()
			return llm.Response{}, ctx.Err()
		}
	}
}

// serve runs s on a loopback port and returns its address.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// rawPost sends a POST on a fresh connection that the caller reads (or
// does not read, or closes) as it likes.
func rawPost(t *testing.T, addr, path, body string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tc := c.(*net.TCPConn)
	_ = tc.SetReadBuffer(4096) // a small window, so the server's writes back up soon
	fmt.Fprintf(tc, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, addr, len(body), body)
	t.Cleanup(func() { tc.Close() })
	return tc
}

// A client that never reads its stream is dropped after WriteStall, and
// others are served meanwhile.
func TestStalledStreamClientIsDropped(t *testing.T) {
	stopped := make(chan time.Time, 1)
	s := New(flood{stopped: stopped}, Config{Logger: quiet(), Guard: httpguard.Config{WriteStall: 300 * time.Millisecond}})
	addr := serve(t, s)
	start := time.Now()
	rawPost(t, addr, "/v1/completions", `{"prompt":"x","max_tokens":5,"stream":true}`)
	other := time.Now()
	code, _ := post(t, "http://"+addr+"/v1/completions", `{"prompt":"x","max_tokens":3}`)
	if d := time.Since(other); code != http.StatusOK || d > 2*time.Second {
		t.Errorf("other request: %d after %v", code, d)
	}
	select {
	case at := <-stopped:
		t.Logf("stalled stream dropped %v after it started", at.Sub(start))
	case <-time.After(5 * time.Second):
		t.Fatal("the stream's writes still block 5 s after its client stopped reading")
	}
}

// storiesClient is a 260K-parameter model with a 512-token context and no
// tokenizer: 32 sequences of 500 tokens take about 3.5 s.
func storiesClient(t *testing.T) *local.Client {
	t.Helper()
	m, err := model.LoadLlama2C(shareddata.Path(t, "models/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return local.New(m, nil, local.Config{})
}

// A client that disconnects leaves the engine idle within 1 s, streaming
// or not, though what it asked for takes seconds.
func TestDisconnectStopsEngine(t *testing.T) {
	c := storiesClient(t)
	addr := serve(t, New(c, Config{Logger: quiet()}))
	for _, stream := range []bool{false, true} {
		conn := rawPost(t, addr, "/v1/completions", fmt.Sprintf(`{"prompt":[1],"max_tokens":500,"n":32,"temperature":1,"stream":%v}`, stream))
		if stream { // read the headers, so the stream is running
			if _, err := bufio.NewReader(conn).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		for end := time.Now().Add(5 * time.Second); !c.Busy() && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
		if !c.Busy() {
			t.Fatalf("stream %v: the engine never started", stream)
		}
		time.Sleep(600 * time.Millisecond) // into decoding, past the setup (see llm/local)
		conn.Close()
		idle := false
		for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if !c.Busy() {
				idle = true
				break
			}
		}
		if !idle {
			t.Errorf("stream %v: engine still busy 1 s after the client disconnected", stream)
		}
		for c.Busy() {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestRequestCapsAndGuard(t *testing.T) {
	addr := serve(t, New(scripted{}, Config{Logger: quiet()}))
	code, body := post(t, "http://"+addr+"/v1/completions", `{"prompt":["a","b","c","d","e"],"n":60,"max_tokens":2}`)
	if code != http.StatusBadRequest || !strings.Contains(string(body), "at most 256") {
		t.Errorf("5 prompts x n 60: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/models", nil)
	req.Host = "rebind.attacker.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host: %d, want 421", resp.StatusCode)
	}
	resp, err = http.Post("http://"+addr+"/v1/completions", "text/plain", strings.NewReader(`{"prompt":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d, want 415", resp.StatusCode)
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// wedged reports an engine call that has run for an hour.
type wedged struct{ scripted }

func (wedged) BusyFor() time.Duration { return time.Hour }

func TestHealthzFailsWhenWedged(t *testing.T) {
	for _, tc := range []struct {
		c    llm.Client
		want int
	}{{scripted{}, 200}, {wedged{}, 503}} {
		addr := serve(t, New(tc.c, Config{Logger: quiet()}))
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%T: healthz %d, want %d", tc.c, resp.StatusCode, tc.want)
		}
	}
}
