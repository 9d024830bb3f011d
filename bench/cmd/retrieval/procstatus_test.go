package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseProcStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStatus
		wantErr string
	}{
		{"linux", "Name:\tx\nVmPeak:\t  9 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nThreads:\t4\n", procStatus{RSSkB: 1024, HWMkB: 2048}, ""},
		{"missing", "Name:\tx\nVmRSS:\t1 kB\n", procStatus{}, "no VmRSS and VmHWM"},
		{"bad unit", "VmRSS:\t1 MB\nVmHWM:\t1 kB\n", procStatus{}, "line 1"},
		{"bad number", "VmHWM:\t1 kB\nVmRSS:\tx kB\n", procStatus{}, "line 2: bad VmRSS"},
		{"negative", "VmHWM:\t-1 kB\nVmRSS:\t1 kB\n", procStatus{}, "line 1: bad VmHWM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStatus([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadProcStatus(t *testing.T) {
	st, err := readProcStatus()
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if st.RSSkB <= 0 || st.HWMkB < st.RSSkB {
		t.Errorf("got %+v, want 0 < RSS <= HWM", st)
	}
}

func FuzzParseProcStatus(f *testing.F) {
	f.Add([]byte("VmHWM:\t2048 kB\nVmRSS:\t1024 kB\n"))
	f.Add([]byte("VmRSS: 1 kB"))
	f.Add([]byte("VmRSS:\n"))
	f.Add([]byte(":::\n\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseProcStatus(b)
		if err == nil && (st.RSSkB < 0 || st.HWMkB < 0) {
			t.Errorf("accepted negative sizes: %+v", st)
		}
	})
}
