package train

import (
	"fmt"
	"io"
	"strconv"

	"github.com/sleuth-research/sleuth/eval"
)

// PolicyRow is one policy's line of the quickstart table.
type PolicyRow struct {
	Policy string `json:"policy"`
	// Role is what the row is in the comparisons: none, once, sft,
	// best-sft, rl or oracle.
	Role      string             `json:"role"`
	EM        eval.Interval      `json:"em"`
	Correct   int                `json:"correct"` // questions answered exactly`
	F1        float64            `json:"f1"`
	Questions int                `json:"questions"`
	EMByHops  map[string]float64 `json:"em_by_hops"`
	Searches  map[string]float64 `json:"searches_by_hops"` // mean searches per question by hop count
	// MultiHopEM is exact match over the 2- and 3-hop questions alone.
	MultiHopEM      eval.Interval `json:"multi_hop_em"`
	MultiHopCorrect int           `json:"multi_hop_correct"`
	MultiHop        int           `json:"multi_hop_questions"`
	results         []eval.Result
}

// Table is the quickstart's result: every policy on the held-out
// world, and the comparisons the issue asks for.
type Table struct {
	// Split is the world evaluated on: test (what the quickstart reports)
	// or validation (what recipes are tuned on); HeldOutSeed its seed.
	Split       string      `json:"split"`
	HeldOutSeed int64       `json:"held_out_seed"`
	Policies    []PolicyRow `json:"policies"`
	// GRPOMinusSFT is the paired difference in exact match on the 2- and
	// 3-hop questions, with its bootstrap interval.
	GRPOMinusSFT eval.Paired `json:"rl_minus_sft_multi_hop"`
	// RLOverRetrieveOnce is the RL policy's multi-hop EM divided by the
	// retrieve-once baseline's (0 when retrieve-once answers none).
	RLOverRetrieveOnce float64 `json:"rl_over_retrieve_once_multi_hop"`
	// RLMinusBestSFT is the paired difference in exact match over every
	// question between the RL policy and the best-SFT baseline (SFT given
	// RL's compute), when the run trained one.
	RLMinusBestSFT *eval.Paired `json:"rl_minus_best_sft,omitempty"`
	// OneHop are the paired differences on 1-hop questions between the
	// trained policies and the two baselines: what even the one-minute
	// --fast run must show.
	OneHop  []Comparison `json:"one_hop"`
	Seconds float64      `json:"seconds"`
}

// buildTable computes the table's comparisons from its rows (found by
// role): RL − SFT on 2–3 hops, RL ÷ retrieve-once there, and RL − best SFT
// over every question.
func buildTable(split string, seed int64, rows []PolicyRow) (Table, error) {
	t := Table{Split: split, HeldOutSeed: seed, Policies: rows}
	byRole := map[string]PolicyRow{}
	for _, p := range rows {
		byRole[p.Role] = p
	}
	rlRow, sftRow := byRole["rl"], byRole["sft"]
	var err error
	if t.GRPOMinusSFT, err = (eval.Bootstrap{}).PairedDiff(multiHop(rlRow.results), multiHop(sftRow.results)); err != nil {
		return t, err
	}
	if base := byRole["once"].MultiHopEM.Mean; base > 0 {
		t.RLOverRetrieveOnce = rlRow.MultiHopEM.Mean / base
	}
	if best, ok := byRole["best-sft"]; ok {
		d, err := (eval.Bootstrap{}).PairedDiff(emWhere(rlRow.results, anyHops), emWhere(best.results, anyHops))
		if err != nil {
			return t, err
		}
		t.RLMinusBestSFT = &d
	}
	for _, a := range []string{"sft", "rl"} {
		for _, b := range []string{"once", "none"} {
			d, err := (eval.Bootstrap{}).PairedDiff(emWhere(byRole[a].results, oneHop), emWhere(byRole[b].results, oneHop))
			if err != nil {
				return t, err
			}
			t.OneHop = append(t.OneHop, Comparison{a + " − " + b, d})
		}
	}
	return t, nil
}

// Comparison is one named paired difference.
type Comparison struct {
	Name   string      `json:"name"`
	Paired eval.Paired `json:"paired"`
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func anyHops(int) bool  { return true }
func oneHop(h int) bool { return h == 1 }

// emWhere is the exact match of the results whose hop count keep accepts.
func emWhere(rs []eval.Result, keep func(hops int) bool) []float64 {
	var out []float64
	for _, r := range rs {
		if keep(r.Hops) {
			out = append(out, r.EM)
		}
	}
	return out
}

func multiHop(rs []eval.Result) []float64 {
	return emWhere(rs, func(h int) bool { return h == 2 || h == 3 })
}

func rowOf(name, role string, rs []eval.Result) PolicyRow {
	row := PolicyRow{Policy: name, Role: role, Questions: len(rs), EMByHops: map[string]float64{}, Searches: map[string]float64{}, results: rs}
	var em, f1 []float64
	n := map[string]float64{}
	for _, r := range rs {
		em, f1 = append(em, r.EM), append(f1, r.F1)
		h := strconv.Itoa(r.Hops)
		if r.EM == 1 {
			row.Correct++
		}
		if r.Hops == 2 || r.Hops == 3 {
			row.MultiHop++
			if r.EM == 1 {
				row.MultiHopCorrect++
			}
		}
		n[h]++
		row.EMByHops[h] += r.EM
		row.Searches[h] += float64(r.Searches)
	}
	for h, c := range n {
		row.EMByHops[h] /= c
		row.Searches[h] /= c
	}
	var bs eval.Bootstrap
	row.EM, row.F1 = bs.Mean(em), eval.Mean(f1)
	row.MultiHopEM = bs.Mean(multiHop(rs))
	return row
}

// PrintTable writes the table people read.
func PrintTable(w io.Writer, t Table) {
	fmt.Fprintf(w, "\n%s world (seed %d), greedy decoding, exact match with 95%% bootstrap intervals:\n\n", t.Split, t.HeldOutSeed)
	fmt.Fprintf(w, "%-62s %-20s %-27s %5s  %-17s %s\n", "policy", "EM", "EM 2–3 hops (correct)", "F1", "EM by hops 1/2/3", "searches by hops 1/2/3")
	for _, p := range t.Policies {
		fmt.Fprintf(w, "%-62s %-20s %-27s %5.1f  %-17s %s\n", p.Policy, iv(p.EM), fmt.Sprintf("%s %d/%d", iv(p.MultiHopEM), p.MultiHopCorrect, p.MultiHop), 100*p.F1,
			fmt.Sprintf("%.0f/%.0f/%.0f", 100*p.EMByHops["1"], 100*p.EMByHops["2"], 100*p.EMByHops["3"]),
			fmt.Sprintf("%.2f/%.2f/%.2f", p.Searches["1"], p.Searches["2"], p.Searches["3"]))
	}
	d := t.GRPOMinusSFT.Diff
	ratio := fmt.Sprintf("%.2f×", t.RLOverRetrieveOnce)
	for _, p := range t.Policies {
		if p.Role == "once" && p.MultiHopCorrect == 0 {
			ratio = "undefined (retrieve-once answers none of them)"
		}
	}
	fmt.Fprintf(w, "\nRL − SFT on 2–3-hop questions: %+.1f points [%+.1f, %+.1f] (paired bootstrap, p = %.3f); RL ÷ retrieve-once there: %s\n",
		100*d.Mean, 100*d.Lo, 100*d.Hi, t.GRPOMinusSFT.PValue, ratio)
	fmt.Fprint(w, "On 1-hop questions:")
	for i, c := range t.OneHop {
		sep := ";"
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(w, "%s %s %+.1f [%+.1f, %+.1f]", sep, c.Name, 100*c.Paired.Diff.Mean, 100*c.Paired.Diff.Lo, 100*c.Paired.Diff.Hi)
	}
	fmt.Fprintln(w, " (none: no retrieval, once: retrieve once)")
	if b := t.RLMinusBestSFT; b != nil {
		fmt.Fprintf(w, "RL − best SFT on every question: %+.1f points [%+.1f, %+.1f] (paired bootstrap, p = %.3f)\n",
			100*b.Diff.Mean, 100*b.Diff.Lo, 100*b.Diff.Hi, b.PValue)
	}
}

func iv(i eval.Interval) string {
	return fmt.Sprintf("%.1f [%.1f, %.1f]", 100*i.Mean, 100*i.Lo, 100*i.Hi)
}
