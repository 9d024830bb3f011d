package web

import "testing"

func TestFromSpec(t *testing.T) {
	env := map[string]string{"BRAVE_API_KEY": "k1"}
	for _, tc := range []struct {
		spec, name string
		ok         bool
	}{
		{"searxng:http://127.0.0.1:8888", SearXNG, true},
		{"searxng", "", false},
		{"brave", Brave, true},
		{"tavily", "", false}, // no TAVILY_API_KEY in env
		{"nosuch", "", false},
	} {
		c, err := FromSpec(tc.spec, func(k string) string { return env[k] })
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.spec, err, tc.ok)
			continue
		}
		if err == nil && c.Name() != tc.name {
			t.Errorf("%s: provider %s, want %s", tc.spec, c.Name(), tc.name)
		}
	}
	for spec, want := range map[string]string{"": SearXNG, "searxng:http://x": SearXNG, "serper": Serper} {
		if got := SpecProvider(spec); got != want {
			t.Errorf("SpecProvider(%q) = %s, want %s", spec, got, want)
		}
	}
}
