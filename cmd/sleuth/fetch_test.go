package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Refusals here are decided before any lookup or connection, so these
// cases send no packet anywhere.
func TestFetchCmd(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<title>T</title><p>Visible.</p><p style="display:none">POISON</p><a href="/x">next</a>`)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		args []string
		want string // in stdout, or in the error when err
		err  bool
	}{
		{"metadata refused", []string{"http://169.254.169.254/latest/meta-data/"}, "cloud metadata address", true},
		{"loopback refused", []string{srv.URL}, "loopback not allowed", true},
		{"hex loopback refused", []string{"http://0x7f.1/"}, "loopback", true},
		{"scheme refused", []string{"file:///etc/passwd"}, "scheme", true},
		{"text", []string{"--allow-loopback", "--no-robots", srv.URL}, "Title: T", false},
		{"segments", []string{"--allow-loopback", "--no-robots", "--segment", "1", "--by", "words", srv.URL}, "--- segment 2 of 2", false},
		{"bad unit", []string{"--allow-loopback", "--no-robots", "--segment", "3", "--by", "tokens", srv.URL}, "want chars or words", true},
		{"json", []string{"--allow-loopback", "--no-robots", "--json", srv.URL}, `"text":"Visible.`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := newFetchCmd()
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.want) || strings.Contains(out.String(), "POISON") {
				t.Errorf("output %q: want %q and no POISON", out.String(), tc.want)
			}
		})
	}
}
