package train

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/sleuth-research/sleuth/rl"
)

// WriteReport renders report.html from metrics.jsonl and samples.jsonl.
func (r *Run) WriteReport() error {
	lines, err := readJSONL[metricLine](r.Path("metrics.jsonl"))
	if err != nil {
		return err
	}
	samples, err := readJSONL[rl.TraceSample](r.Path("samples.jsonl"))
	if err != nil {
		return err
	}
	rep := rl.Report{Title: "sleuth training run: " + r.Dir,
		Summary: []string{fmt.Sprintf("preset %s, reward %s, %s; model d=%d×%d layers; %d training worlds from seed %d (%d entities each); pre-training %d, SFT %d (≤ %d hops), RL %d steps (%d–%d hops, %d questions × %d episodes)",
			r.Cfg.Preset, r.Cfg.Reward, r.Cfg.RL.Estimator, r.Cfg.Model.Dim, r.Cfg.Model.Layers, r.Cfg.World.Count, r.Cfg.Seed, r.Cfg.World.Entities,
			r.Cfg.Pretrain.Steps, r.Cfg.SFT.Steps, r.Cfg.SFT.MaxHops, r.Cfg.RL.Steps, r.Cfg.RL.MinHops, r.Cfg.RL.MaxHops, r.Cfg.RL.Questions, r.Cfg.RL.Group)},
		Samples: samples, Pre: r.Extra}
	curves := map[string]*rl.Series{}
	var order []string
	add := func(name string, step int, v float64) {
		s, ok := curves[name]
		if !ok {
			s = &rl.Series{Name: name}
			curves[name] = s
			order = append(order, name)
		}
		s.Steps, s.Values = append(s.Steps, step), append(s.Values, v)
	}
	for _, m := range lines {
		if m.RL == nil {
			add(m.Phase+" loss", m.Step, m.Loss)
			continue
		}
		st := m.RL
		add("rl reward", m.Step, st.Reward)
		add("rl exact match", m.Step, st.EM)
		add("rl searches per episode", m.Step, st.Searches)
		add("rl response tokens", m.Step, st.ResponseLen)
		add("rl entropy (nats/token)", m.Step, st.Entropy)
		add("rl KL to reference", m.Step, st.KL)
		add("rl clip fraction", m.Step, st.ClipFraction)
		add("rl groups without signal", m.Step, st.NoSignal)
		for _, p := range rl.BehaviourCurvePoints(*st) {
			add(p.Name, m.Step, p.Value)
		}
		rep.Warnings = append(rep.Warnings, m.Warnings...)
	}
	for _, n := range order {
		rep.Curves = append(rep.Curves, *curves[n])
	}
	return rl.WriteReport(r.Path("report.html"), rep)
}

// readJSONL reads a JSONL file of T, skipping a torn last line; a missing
// file is empty.
func readJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var v T
		if json.Unmarshal(sc.Bytes(), &v) == nil {
			out = append(out, v)
		}
	}
	return out, sc.Err()
}
