package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// ratio compares sleuth with one peer: each field is sleuth's figure
// divided by the peer's (so below 1 is better for time, size and memory,
// above 1 is better for queries/s).
type ratio struct {
	Mix            string  `json:"mix,omitempty"`
	Of             string  `json:"of"`
	To             string  `json:"to"`
	Build          float64 `json:"build_seconds"`
	BuildCPU       float64 `json:"build_cpu_seconds"`
	Size           float64 `json:"index_bytes"`
	SingleQPS      float64 `json:"single_thread_qps"`
	SingleCPUQPS   float64 `json:"single_thread_queries_per_cpu_second"`
	AllCoresQPS    float64 `json:"all_cores_qps"`
	RSSServe       float64 `json:"rss_serve_mb"`
	BuildPeakRSSMB float64 `json:"build_peak_rss_mb"`
}

const subject = "sleuth"

// ratios compares sleuth with every other engine that ran without error.
func ratios(rs []engineResult) []ratio {
	var s *engineResult
	for i := range rs {
		if rs[i].Engine == subject && rs[i].Error == "" {
			s = &rs[i]
		}
	}
	if s == nil {
		return nil
	}
	var out []ratio
	for _, p := range rs {
		if p.Engine == subject || p.Error != "" {
			continue
		}
		for j := range min(len(s.Mixes), len(p.Mixes)) {
			sm, pm := s.Mixes[j], p.Mixes[j]
			out = append(out, ratio{
				Mix: sm.Mix, Of: subject, To: p.Engine,
				Build:          div(s.BuildSeconds, p.BuildSeconds),
				BuildCPU:       div(s.BuildCPUSeconds, p.BuildCPUSeconds),
				Size:           div(float64(s.IndexBytes), float64(p.IndexBytes)),
				SingleQPS:      div(sm.SingleQPS, pm.SingleQPS),
				SingleCPUQPS:   div(sm.SingleCPUQPS, pm.SingleCPUQPS),
				AllCoresQPS:    div(sm.AllCoresQPS, pm.AllCoresQPS),
				RSSServe:       div(sm.RSSServeMB, pm.RSSServeMB),
				BuildPeakRSSMB: div(s.BuildPeakRSSMB, p.BuildPeakRSSMB),
			})
		}
	}
	return out
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func writeTable(w io.Writer, rep report) {
	c, m := rep.Config, rep.Machine
	fmt.Fprintf(w, "zipf corpus: %d passages, %d queries a mix, top-%d, seed %d, median of %d rounds\n",
		c.Passages, c.Queries, c.K, c.Seed, c.Rounds)
	fmt.Fprintf(w, "machine: %s, %d cores, %s, load %s at start, %s\n\n", m.CPU, m.Cores, m.GoVersion, m.LoadAvg, m.Time)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "engine\tbuild s\tbuild CPU s\tindex MB\tbytes/passage\tpeak RSS build MB\t\n")
	for _, r := range rep.Engines {
		if r.Error != "" && r.IndexBytes == 0 {
			fmt.Fprintf(tw, "%s\tfailed: %s\t\n", r.Engine, r.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.1f\t%.0f\t%.0f\t\n", r.Engine, r.BuildSeconds,
			r.BuildCPUSeconds, r.IndexMB, r.BytesPerPassage, r.BuildPeakRSSMB)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "mix\tengine\tq/s 1 thread\tq/CPU-s 1 thread\tq/s %d cores\tRSS serving MB\thits/query\toverlap@%d vs %s\t\n",
		m.Cores, c.K, rep.Reference)
	for j, mix := range runMixes(c) {
		for _, r := range rep.Engines {
			if j >= len(r.Mixes) {
				fmt.Fprintf(tw, "%s\t%s\tfailed: %s\t\n", mixName(mix, c), r.Engine, r.Error)
				continue
			}
			x := r.Mixes[j]
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t\n", mixName(mix, c), r.Engine,
				x.SingleQPS, x.SingleCPUQPS, x.AllCoresQPS, x.RSSServeMB, x.MeanHits, x.TopKOverlap)
		}
	}
	tw.Flush()
	if len(rep.Ratios) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "mix\tratio\tq/s 1 thread\tq/CPU-s 1 thread\tq/s %d cores\tRSS serving\tbuild s\tbuild CPU s\tindex size\tpeak RSS build\t\n", m.Cores)
	for _, x := range rep.Ratios {
		fmt.Fprintf(tw, "%s\t%s/%s\t%.2f×\t%.2f×\t%.2f×\t%.2f×\t%.2f×\t%.2f×\t%.2f×\t%.2f×\t\n", mixName(x.Mix, c), x.Of, x.To,
			x.SingleQPS, x.SingleCPUQPS, x.AllCoresQPS, x.RSSServe, x.Build, x.BuildCPU, x.Size, x.BuildPeakRSSMB)
	}
	tw.Flush()
	fmt.Fprintln(w, "\n(build, size and memory: below 1× favours sleuth; queries/s: above 1× favours sleuth;")
	fmt.Fprintln(w, " q/CPU-s counts the serving process's CPU time, which other load on the machine inflates less than wall time)")
}

// mixName names a mix in the table; "" is the -query-min-rank queries.
func mixName(mix string, c config) string {
	if mix != "" {
		return mix
	}
	return fmt.Sprintf("ranks>=%d", c.QueryMinRank)
}
