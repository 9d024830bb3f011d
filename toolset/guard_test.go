package toolset

import (
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/search"
)

func TestApplyGuard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		preset guard.Mode // the preset's own
		s      Sources
		want   guard.Mode
		err    string
	}{
		{name: "kept", preset: guard.Quote, want: guard.Quote},
		{name: "off wins", preset: guard.Drop, s: Sources{Guard: "off"}, want: guard.Off},
		{name: "set", s: Sources{Guard: "drop"}, want: guard.Drop},
		{name: "web turns it on", s: Sources{Search: "brave"}, want: guard.Annotate},
		{name: "replay is the web", s: Sources{Replay: "snap"}, want: guard.Annotate},
		{name: "browsing is the web", s: Sources{Browse: true}, want: guard.Annotate},
		{name: "the web keeps the preset's", preset: guard.Quote, s: Sources{Browse: true}, want: guard.Quote},
		{name: "a local index does not", s: Sources{Local: func() (search.Retriever, func(), error) { return nil, nil, nil }}, want: guard.Off},
		{name: "unknown", s: Sources{Guard: "loud"}, err: `--guard "loud"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := agent.Preset{Guard: tc.preset}
			err := tc.s.applyGuard(&p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || p.Guard != tc.want {
				t.Errorf("guard %q (err %v), want %q", p.Guard, err, tc.want)
			}
		})
	}
}
