package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/internal/testchild"
)

// mainChildEnv, when set, makes the test binary run sleuth's main with
// the arguments it holds (separated by \x1f), so a test can signal a real
// sleuth process.
const mainChildEnv = "SLEUTH_TEST_MAIN_ARGS"

func TestMain(m *testing.M) {
	testchild.Main(m, mainChildEnv, func(args string) error {
		os.Args = append([]string{"sleuth"}, strings.Split(args, "\x1f")...)
		main()
		return nil
	})
}

// SIGTERM stops `sleuth fetch` of a page whose body never ends (a tarpit
// sending a byte every 50 ms) within a second or so, with exit status
// 128+15 and a message saying so, not a timeout's error minutes later.
func TestFetchStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a sleuth process")
	}
	reached := make(chan string, 4) // each request's query: which child it is
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body><p>"))
		w.(http.Flusher).Flush()
		select {
		case reached <- r.URL.RawQuery:
		default:
		}
		for {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := w.Write([]byte("a")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	for i, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		id := fmt.Sprint("child=", i)
		cmd := testchild.Command(mainChildEnv, strings.Join([]string{"fetch", "--allow-loopback", "--timeout", "5m", srv.URL + "/tarpit?" + id}, "\x1f"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	wait:
		for {
			select {
			case q := <-reached:
				if q == id {
					break wait
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the fetch never reached the page")
			}
		}
		time.Sleep(100 * time.Millisecond) // into the body
		start := time.Now()
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%v: still running 10 s after the signal", sig)
		}
		took := time.Since(start)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
			t.Errorf("%v: exit %v, want status %d; stderr:\n%s", sig, err, 128+int(sig), stderr.String())
		}
		if !strings.Contains(stderr.String(), "stopped by signal") {
			t.Errorf("%v: stderr does not say why it stopped:\n%s", sig, stderr.String())
		}
		// A second is the goal; 3 s leaves room for a loaded machine.
		if took > 3*time.Second {
			t.Errorf("%v: exited %v after the signal, want within 3 s", sig, took)
		}
		t.Logf("%v: exited %v after the signal: %s", sig, took.Round(time.Millisecond), strings.TrimSpace(stderr.String()))
	}
}
